# lib.sh: helpers for the end-to-end tests (sourced by tests/e2e/test_*.sh).
#
# A test runs under ctest with the local stack already up (fixture e2e_stack)
# and one test at a time. Sourcing this file:
#   - turns on `set -euo pipefail`,
#   - loads the stack env ($CHISO_STACK_ENV): CHISO_BROKERS, CHISO_REDIS_HOST,
#     CHISO_REDIS_PORT, CHISO_STACK_DIR,
#   - makes a scratch directory $E2E_TMP and a name prefix unique to this run
#     ($E2E_PREFIX, also printed by e2e_prefix) for topics, groups and keys,
#   - installs an EXIT trap that stops every background process the test
#     started (e2e_bg or plain `&`), prints their logs if the test failed,
#     and removes $E2E_TMP (kept on failure, or with E2E_KEEP=1).
# Run a test by hand against a running stack:
#   CHISO_STACK_ENV=.run/stack/stack.env CHISO_BUILD_DIR=build bash tests/e2e/test_x.sh
set -euo pipefail

E2E_NAME=$(basename "$0" .sh)
: "${CHISO_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${CHISO_BUILD_DIR:=$CHISO_SOURCE_DIR/build}"
: "${CHISO_STACK_ENV:=$CHISO_SOURCE_DIR/.run/stack/stack.env}"
export CHISO_SOURCE_DIR CHISO_BUILD_DIR CHISO_STACK_ENV

# e2e_log MSG...: a line to stderr, prefixed with the test's name.
e2e_log() { printf '[%s %s] %s\n' "$E2E_NAME" "$(date +%H:%M:%S)" "$*" >&2; }

# e2e_fail MSG...: log the failure and end the test with status 1.
e2e_fail() {
    e2e_log "FAIL: $*"
    exit 1
}

# e2e_skip MSG...: end the test as skipped (ctest SKIP_RETURN_CODE 77).
e2e_skip() {
    e2e_log "SKIP: $*"
    exit 77
}

# e2e_pass: log success and end the test with status 0.
e2e_pass() {
    e2e_log "PASS"
    exit 0
}

[ -f "$CHISO_STACK_ENV" ] ||
    e2e_fail "no stack env at $CHISO_STACK_ENV (start one: deploy/local/stack.sh start)"
# shellcheck disable=SC1090
. "$CHISO_STACK_ENV"
: "${CHISO_BROKERS:?stack env lacks CHISO_BROKERS}"
: "${CHISO_REDIS_PORT:?stack env lacks CHISO_REDIS_PORT}"
: "${CHISO_REDIS_HOST:=127.0.0.1}"

E2E_STACK_SH=$CHISO_SOURCE_DIR/deploy/local/stack.sh
E2E_PREFIX="t$(date +%s)$((RANDOM % 10000))."
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/chiso-e2e-$E2E_NAME.XXXXXX")
E2E_PIDS=()
E2E_LOGS=()

# e2e_prefix: print this run's unique prefix (e.g. t1700000000123.), to put
# in front of topic names, consumer group ids and Redis key namespaces.
e2e_prefix() { printf '%s\n' "$E2E_PREFIX"; }

# e2e_wait_for CMD TIMEOUT [INTERVAL]: evaluate the shell command string CMD
# every INTERVAL seconds (default 0.2) until it succeeds; fail the test after
# TIMEOUT seconds. Example: e2e_wait_for "e2e_redis exists k | grep -q 1" 30
e2e_wait_for() {
    local cmd=$1 timeout=${2:-30} interval=${3:-0.2} deadline
    deadline=$((SECONDS + timeout))
    until eval "$cmd" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || e2e_fail "timed out after ${timeout}s waiting for: $cmd"
        sleep "$interval"
    done
}

# e2e_pause MIN MAX: sleep a random time between MIN and MAX seconds, drawn
# from $RANDOM, so a test that seeds RANDOM pauses the same way each run.
e2e_pause() {
    sleep "$(python3 -c "import random; random.seed($RANDOM); print(round(random.uniform($1, $2), 2))")"
}

# e2e_metric PORT NAME: the value of metric NAME on 127.0.0.1:PORT/metrics
# (empty when absent or unreachable).
e2e_metric() {
    curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}

# e2e_bg NAME CMD...: run CMD in the background, stdout+stderr to
# $E2E_TMP/NAME.log; its pid is in E2E_LAST_PID. Stopped by the exit trap.
e2e_bg() {
    local name=$1
    shift
    "$@" </dev/null >"$E2E_TMP/$name.log" 2>&1 &
    E2E_LAST_PID=$!
    E2E_PIDS+=("$E2E_LAST_PID")
    E2E_LOGS+=("$E2E_TMP/$name.log")
    e2e_log "started $name (pid $E2E_LAST_PID): $*"
}

# e2e_stop PID [TIMEOUT]: SIGTERM PID and wait up to TIMEOUT seconds
# (default 20) for it to exit, then SIGKILL. Returns PID's exit status
# (143 if it died of SIGTERM without handling it, 137 if killed).
e2e_stop() {
    local pid=$1 timeout=${2:-20} i rc=0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || rc=$?
    return "$rc"
}

# e2e_bin NAME: print the path of program NAME built in $CHISO_BUILD_DIR;
# fail the test when it has not been built.
e2e_bin() {
    local path
    path=$(find "$CHISO_BUILD_DIR" -type f -perm -u+x -name "$1" \
        -not -path '*/CMakeFiles/*' 2>/dev/null | head -n 1)
    [ -n "$path" ] || e2e_fail "program $1 not built in $CHISO_BUILD_DIR"
    printf '%s\n' "$path"
}

# e2e_create_topic NAME [PARTITIONS] [KEY=VALUE...]: create a topic on the
# stack's broker (auto-creation is off); no-op when it exists.
e2e_create_topic() {
    local out
    out=$(bash "$E2E_STACK_SH" --dir "$CHISO_STACK_DIR" create-topic "$@" 2>&1) || {
        printf '%s\n' "$out" >&2
        e2e_fail "could not create topic $1"
    }
}

# e2e_free_port: print a TCP port free on 127.0.0.1 right now.
e2e_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# e2e_kcat ARGS...: kcat against the stack's broker.
e2e_kcat() { kcat -b "$CHISO_BROKERS" "$@"; }

# e2e_redis ARGS...: redis-cli against the stack's Redis (raw replies).
e2e_redis() { redis-cli -h "$CHISO_REDIS_HOST" -p "$CHISO_REDIS_PORT" "$@"; }

# e2e_redis_flush: empty the stack's Redis (never any other Redis).
e2e_redis_flush() { e2e_redis flushall >/dev/null; }

# e2e_assert_eq EXPECTED ACTUAL [WHAT]: fail unless the two strings match.
e2e_assert_eq() {
    [ "$1" = "$2" ] || e2e_fail "${3:-value}: expected '$1', got '$2'"
}

# e2e_at_exit CMD: run CMD (a string, eval'ed) when the test ends, before
# its processes are stopped and its logs shown; hooks run newest first, and
# one that fails does not change the test's status. A test registers its
# own teardown here rather than replacing the EXIT trap: a trap of its own
# would run under `set -e`, where any failing command ends it before the
# logs of a failed test are shown.
E2E_AT_EXIT=()
e2e_at_exit() { E2E_AT_EXIT=("$1" "${E2E_AT_EXIT[@]}"); }

_e2e_cleanup() {
    local rc=$? pid log hook
    trap - EXIT
    set +e
    for hook in "${E2E_AT_EXIT[@]}"; do
        eval "$hook" >/dev/null
    done
    for pid in "${E2E_PIDS[@]}" $(jobs -pr); do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${E2E_PIDS[@]}" $(jobs -pr); do
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        for log in "${E2E_LOGS[@]}"; do
            [ -s "$log" ] || continue
            e2e_log "---- last lines of $log ----"
            tail -n 40 "$log" >&2 || true
        done
        e2e_log "exit status $rc; scratch kept in $E2E_TMP"
    elif [ "${E2E_KEEP:-0}" = 1 ]; then
        e2e_log "scratch kept in $E2E_TMP"
    else
        rm -rf "$E2E_TMP"
    fi
    exit "$rc"
}
trap _e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
