#!/usr/bin/env bash
# redis.sh: a throwaway Redis for development and tests, on 127.0.0.1 and a
# port of its own (never the system Redis on 6379).
#
# Persistence is the one production relies on (ARCHITECTURE invariant 3):
# append-only file, fsync every second. Config, data (AOF + RDB), log, pid
# and port live in one data directory, so `stop` + `start` keeps the data and
# the port.
set -euo pipefail

CHISO_COMPONENT=redis
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DIR=${CHISO_REDIS_DIR:-$CHISO_REPO_DIR/.run/redis}
PORT=
START_TIMEOUT=${CHISO_REDIS_START_TIMEOUT:-30}
# everysec: a power loss may take the last second of acknowledged writes,
# which the stages replay (docs/architecture.md); always: nothing, at a cost
# in write throughput (docs/benchmarks.md)
APPENDFSYNC=${CHISO_REDIS_APPENDFSYNC:-everysec}
STOP_TIMEOUT=${CHISO_REDIS_STOP_TIMEOUT:-30}

usage() {
    cat <<EOF
usage: $(basename "$0") [options] COMMAND

A redis-server on 127.0.0.1 with appendonly yes, appendfsync everysec
(\$CHISO_REDIS_APPENDFSYNC=always to fsync every write). The
AOF is its only persistence (no RDB snapshots: each one forks and writes the
whole dataset again); it is rewritten when it reaches 5 times its size after
the last rewrite (at least 256 MB), uncompressed: under a steady stream of
writes each rewrite costs the cores the pipeline runs on. A sorted set
(a unit's due index) past 32 members is a skip list, not a listpack of up
to 128 scanned whole at each ZADD (docs/operations.md, "Redis settings").

commands:
  start        start (daemonized) and wait for PONG; prints the port on
               stdout. No-op (prints the port) when already running.
  stop         SHUTDOWN (flushes the AOF), then SIGTERM/SIGKILL if needed
  restart      stop + start on the same port and data
  status       print state and port; exit 3 when not running
  port         print the port
  cli ARGS...  run redis-cli against it (e.g. cli info persistence)
  aof-copy DEST
               copy the append-only files as they are now into DEST (a
               directory it creates), while Redis runs: what the disk holds
  power-loss [COPY]
               kill -9 (no AOF flush), put the AOF copy COPY back when given,
               start again on the same port: Redis comes back with less than
               it acknowledged, as after a host's power loss with appendfsync
               everysec, or a replica promoted without its master's last writes

options:
  --dir DIR    data directory; default \$CHISO_REDIS_DIR or <repo>/.run/redis
  --port PORT  port (default: last used in DIR, else a free one)
  -h, --help   this help

Files: DIR/data (appendonlydir/, dump.rdb), DIR/redis.log, DIR/redis.pid.
EOF
}

pidfile() { printf '%s/redis.pid\n' "$DIR"; }
running() { chiso_pid_running "$(pidfile)" redis-server; }

load_port() {
    if [ -z "$PORT" ] && [ -f "$DIR/port" ]; then
        PORT=$(cat "$DIR/port")
    fi
}

ping() {
    [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = PONG ]
}

cmd_start() {
    mkdir -p "$DIR/data"
    chiso_lock "$DIR/.lock"
    load_port
    if running; then
        chiso_log "already running (pid $(cat "$(pidfile)")) on 127.0.0.1:$PORT"
        printf '%s\n' "$PORT"
        return 0
    fi
    rm -f "$(pidfile)"
    chiso_apt_ensure redis-server redis-tools
    [ -n "$PORT" ] || PORT=$(chiso_free_port)
    chiso_port_wait_free "$PORT" || chiso_die "port $PORT on 127.0.0.1 is already in use by another process"
    printf '%s\n' "$PORT" >"$DIR/port"

    local started=$SECONDS
    redis-server --bind 127.0.0.1 --port "$PORT" \
        --dir "$DIR/data" \
        --appendonly yes --appendfsync "$APPENDFSYNC" \
        --save '' --rdbcompression no \
        --auto-aof-rewrite-percentage 400 --auto-aof-rewrite-min-size 256mb \
        --zset-max-listpack-entries 32 \
        --daemonize yes --pidfile "$(pidfile)" \
        --logfile "$DIR/redis.log" \
        </dev/null >>"$DIR/redis.out" 2>&1 9>&- ||
        { tail -n 20 "$DIR/redis.out" "$DIR/redis.log" >&2 2>/dev/null || true
          chiso_die "redis-server failed to start"; }
    while ! { [ -s "$(pidfile)" ] && ping; }; do
        sleep 0.1
        if [ $((SECONDS - started)) -ge "$START_TIMEOUT" ]; then
            tail -n 20 "$DIR/redis.log" >&2 2>/dev/null || true
            chiso_die "no PONG on port $PORT after ${START_TIMEOUT}s"
        fi
    done
    chiso_log "ready: pid $(cat "$(pidfile)"), 127.0.0.1:$PORT, data in $DIR/data"
    printf '%s\n' "$PORT"
}

cmd_stop() {
    [ -d "$DIR" ] || { chiso_log "not running (no $DIR)"; return 0; }
    chiso_lock "$DIR/.lock"
    load_port
    if ! running; then
        rm -f "$(pidfile)"
        chiso_log "not running"
        return 0
    fi
    local pid i
    pid=$(cat "$(pidfile)")
    chiso_log "stopping pid $pid"
    # SHUTDOWN writes the AOF out and exits; fall back to signals if it fails.
    redis-cli -h 127.0.0.1 -p "$PORT" shutdown >/dev/null 2>&1 || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        chiso_alive "$pid" || break
        sleep 0.1
    done
    chiso_stop_pid "$(pidfile)" redis-server 10
    chiso_log "stopped"
}

cmd_aof_copy() {
    local dest=$1
    [ -n "$dest" ] || chiso_die "aof-copy needs a destination directory"
    [ -d "$DIR/data/appendonlydir" ] || chiso_die "no append-only files in $DIR/data"
    mkdir -p "$(dirname "$dest")"
    # Redis may be rewriting its append-only files (it renames them and then
    # the manifest): copy when no rewrite runs, and again until the copy's
    # manifest names only files the copy has
    load_port
    local try f ok
    for try in $(seq 1 50); do
        if redis-cli -h 127.0.0.1 -p "$PORT" info persistence 2>/dev/null |
            grep -Eq '^aof_rewrite_(in_progress|scheduled):1'; then
            sleep 0.2
            continue
        fi
        rm -rf "$dest"
        if cp -a "$DIR/data/appendonlydir" "$dest" 2>/dev/null; then
            ok=1
            for f in $(awk '$1 == "file" { print $2 }' "$dest"/*.manifest 2>/dev/null); do
                [ -f "$dest/$f" ] || ok=0
            done
            [ "$ok" = 1 ] && break
        fi
        sleep 0.2
    done
    [ "${ok:-0}" = 1 ] || chiso_die "could not copy the append-only files (a rewrite kept changing them)"
    chiso_log "append-only files copied to $dest ($(du -sk "$dest" | cut -f1) KiB)"
}

cmd_power_loss() {
    local copy=${1:-} pid
    load_port
    running || chiso_die "redis in $DIR is not running"
    [ -z "$copy" ] || [ -d "$copy" ] || chiso_die "no AOF copy at $copy"
    pid=$(cat "$(pidfile)")
    kill -KILL "$pid"
    while chiso_alive "$pid"; do sleep 0.05; done
    rm -f "$(pidfile)"
    chiso_log "killed pid $pid (SIGKILL)"
    if [ -n "$copy" ]; then
        rm -rf "$DIR/data/appendonlydir"
        cp -a "$copy" "$DIR/data/appendonlydir"
        chiso_log "append-only files rolled back to the copy $copy"
    fi
    cmd_start
}

cmd_status() {
    load_port
    if running; then
        printf 'redis: running pid %s at 127.0.0.1:%s, dir %s\n' \
            "$(cat "$(pidfile)")" "$PORT" "$DIR"
        return 0
    fi
    printf 'redis: stopped, dir %s\n' "$DIR"
    return 3
}

cmd_port() {
    load_port
    [ -n "$PORT" ] || chiso_die "no redis configured in $DIR (run start first)"
    printf '%s\n' "$PORT"
}

cmd_cli() {
    load_port
    running || chiso_die "redis in $DIR is not running (run start first)"
    exec redis-cli -h 127.0.0.1 -p "$PORT" "$@"
}

COMMAND=
ARGS=()
while [ $# -gt 0 ]; do
    if [ "$COMMAND" = cli ] || [ "$COMMAND" = aof-copy ] || [ "$COMMAND" = power-loss ]; then
        ARGS+=("$1")
        shift
        continue
    fi
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --dir) [ $# -ge 2 ] || chiso_die "--dir needs a value"; DIR=$2; shift 2 ;;
    --dir=*) DIR=${1#*=}; shift ;;
    --port) [ $# -ge 2 ] || chiso_die "--port needs a value"; PORT=$2; shift 2 ;;
    --port=*) PORT=${1#*=}; shift ;;
    -*) chiso_die "unknown option '$1' (see --help)" ;;
    *)
        [ -z "$COMMAND" ] || chiso_die "unexpected argument '$1' (see --help)"
        COMMAND=$1
        shift
        ;;
    esac
done
DIR=$(chiso_abspath "$DIR")
[ -z "$PORT" ] || [[ $PORT =~ ^[0-9]+$ ]] || chiso_die "port '$PORT' is not a number"

case "$COMMAND" in
start) cmd_start ;;
stop) cmd_stop ;;
restart) (cmd_stop) && cmd_start ;;
status) cmd_status ;;
port) cmd_port ;;
cli) cmd_cli "${ARGS[@]}" ;;
aof-copy) cmd_aof_copy "${ARGS[@]}" ;;
power-loss) cmd_power_loss "${ARGS[@]}" ;;
'') usage >&2; exit 2 ;;
*) chiso_die "unknown command '$COMMAND' (see --help)" ;;
esac
