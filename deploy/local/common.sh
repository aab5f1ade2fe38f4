# common.sh: helpers shared by the deploy/local scripts (sourced, not run).
#
# The local stack scripts (deps.sh, kafka.sh, redis.sh, stack.sh) keep stdout
# for data (addresses, env files) and log everything else to stderr with a
# component prefix. Each service lives in one data directory that holds its
# config, data, logs, pid file and the ports it was given, so a restart reuses
# the same ports and data. Nothing here touches services we did not start:
# pid files are checked against the process command line before signalling.

CHISO_LOCAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHISO_REPO_DIR=$(cd "$CHISO_LOCAL_DIR/../.." && pwd)

# chiso_log MSG...: one line to stderr, prefixed with the script's name.
chiso_log() { printf '%s: %s\n' "${CHISO_COMPONENT:-chiso}" "$*" >&2; }

# chiso_die MSG...: log and exit 1.
chiso_die() { chiso_log "error: $*"; exit 1; }

# chiso_abspath PATH: PATH made absolute (the path need not exist yet).
chiso_abspath() {
    case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
    esac
}

# chiso_as_root CMD...: run CMD as root (directly, or through sudo).
chiso_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        chiso_die "need root to run '$*' (not root and no sudo)"
    fi
}

# chiso_pkg_present PKG: true when the Debian package PKG (or, for a few
# packages, the command it provides) is already there.
chiso_pkg_present() {
    case "$1" in
    default-jre-headless) command -v java >/dev/null 2>&1 && return 0 ;;
    maven) command -v mvn >/dev/null 2>&1 && return 0 ;;
    # NodeSource's nodejs brings npm and conflicts with Debian's npm package
    nodejs) command -v node >/dev/null 2>&1 && return 0 ;;
    npm) command -v npm >/dev/null 2>&1 && return 0 ;;
    esac
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# chiso_apt_ensure PKG...: install, with apt-get, those of PKG... that are
# missing; runs `apt-get update` once first. No-op when all are present.
chiso_apt_ensure() {
    local missing=() pkg
    for pkg in "$@"; do
        chiso_pkg_present "$pkg" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 ||
        chiso_die "missing packages (${missing[*]}) and no apt-get: install them by hand"
    chiso_log "installing: ${missing[*]}"
    chiso_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 ||
        chiso_die "apt-get update failed"
    chiso_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
        "${missing[@]}" >&2 ||
        chiso_die "apt-get install ${missing[*]} failed"
}

# chiso_port_busy PORT: true when something listens on 127.0.0.1:PORT.
chiso_port_busy() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# chiso_port_wait_free PORT: wait up to 10 s for PORT to be free. A server
# just killed may still hold it a moment through a child it forked (an AOF
# rewrite, a replica's sync); a port another process holds stays busy.
chiso_port_wait_free() {
    local i
    for i in $(seq 1 200); do
        chiso_port_busy "$1" || return 0
        sleep 0.05
    done
    return 1
}

# chiso_free_port [EXCLUDE...]: print a TCP port on 127.0.0.1 that nothing
# uses, below the kernel's ephemeral range so outgoing connections cannot take
# it later, and not one of EXCLUDE.
chiso_free_port() {
    local port try
    for try in $(seq 1 200); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        case " $* " in *" $port "*) continue ;; esac
        chiso_port_busy "$port" && continue
        if command -v python3 >/dev/null 2>&1; then
            python3 - "$port" <<'EOF' 2>/dev/null || continue
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.close()
EOF
        fi
        printf '%s\n' "$port"
        return 0
    done
    chiso_die "no free TCP port found"
}

# chiso_pid_running PIDFILE PATTERN: true when PIDFILE names a live process
# whose command line contains PATTERN (so a stale pid reused by someone else
# is never taken for ours).
chiso_pid_running() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2"
}

# chiso_alive PID: true while PID exists and is not a zombie (a reaped-late
# child of a container's init still answers kill -0).
chiso_alive() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
    [ "$state" != Z ]
}

# chiso_stop_pid PIDFILE PATTERN TIMEOUT: SIGTERM the process, wait up to
# TIMEOUT seconds for it to exit, then SIGKILL. Removes PIDFILE.
chiso_stop_pid() {
    local pidfile=$1 pattern=$2 timeout=$3 pid i
    if ! chiso_pid_running "$pidfile" "$pattern"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        chiso_alive "$pid" || break
        sleep 0.1
    done
    if chiso_alive "$pid"; then
        chiso_log "pid $pid still alive after ${timeout}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            chiso_alive "$pid" || break
            sleep 0.1
        done
    fi
    rm -f "$pidfile"
}

# chiso_lock FILE: hold an exclusive lock on FILE until the script exits, so
# two start/stop runs on one data directory do not race.
chiso_lock() {
    exec 9>"$1"
    flock -w 300 9 || chiso_die "timed out waiting for lock $1"
}

# ---- Kafka, for kafka.sh (one broker) and cluster.sh (three) ----

# chiso_kafka_write_log4j LOGDIR FILE: the broker's log4j configuration:
# logs to LOGDIR/server.log, not the console.
chiso_kafka_write_log4j() {
    cat >"$2" <<EOF
# Generated by deploy/local ($CHISO_COMPONENT): broker logs go to a file, not the console.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$1/server.log
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
}

# chiso_kafka_write_tools_log4j FILE: the command-line tools' log4j
# configuration: warnings on stderr.
chiso_kafka_write_tools_log4j() {
    cat >"$1" <<EOF
# Generated by deploy/local ($CHISO_COMPONENT): command-line tools warn on stderr.
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

# chiso_kafka_tool LOG4J LIBS CLASS ARGS...: run a Kafka command-line tool
# with the jars in LIBS; its stdout goes to stderr unless TOOL_STDOUT=1.
chiso_kafka_tool() {
    local java=(java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
        -Dlog4j.configuration="file:$1" -cp "$2/*")
    shift 2
    if [ "${TOOL_STDOUT:-0}" = 1 ]; then
        "${java[@]}" "$@"
    else
        "${java[@]}" "$@" >&2
    fi
}

# chiso_kafka_cluster_id: 16 random bytes, URL-safe base64 without padding
# (Kafka's Uuid form); never starting with '-' (as Kafka's own random-uuid
# ensures).
chiso_kafka_cluster_id() {
    local id
    while :; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
        case "$id" in -* | AAAAAAAAAAAAAAAAAAAAAA) continue ;; esac
        printf '%s\n' "$id"
        return 0
    done
}
