#!/usr/bin/env bash
# kafka.sh: a throwaway single-node Apache Kafka broker for development and
# tests, in KRaft mode (one JVM is both broker and controller, no ZooKeeper).
#
# The broker comes from Maven Central (kafka-pom.xml), cached once per user;
# everything else (config, data, logs, pid, ports) lives in one data
# directory, so `stop` + `start` keeps the topics and the ports. Topics are
# never auto-created: create them with `create-topic` (or the admin API).
set -euo pipefail

CHISO_COMPONENT=kafka
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KAFKA_VERSION=3.9.1
KAFKA_HOME=${CHISO_KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/chiso/kafka-$KAFKA_VERSION}
KAFKA_LIBS=$KAFKA_HOME/libs
KAFKA_HEAP=${CHISO_KAFKA_HEAP:--Xms256m -Xmx1g}
# The throughput collector: on a small machine shared with the pipeline, G1's
# concurrent work cost the broker 30-50% more CPU per record (bench, two
# back-to-back pairs of runs: 5.66 and 4.24 us/record with ParallelGC
# against 7.85 and 6.52 with G1); its young pauses at this heap are a few ms.
KAFKA_GC=${CHISO_KAFKA_GC:--XX:+UseParallelGC}
START_TIMEOUT=${CHISO_KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${CHISO_KAFKA_STOP_TIMEOUT:-60}
DIR=${CHISO_KAFKA_DIR:-$CHISO_REPO_DIR/.run/kafka}
PORT=
CPORT=

usage() {
    cat <<EOF
usage: $(basename "$0") [options] COMMAND [ARGS]

A single-node Apache Kafka $KAFKA_VERSION broker in KRaft mode on 127.0.0.1.

commands:
  install                 fetch the broker jars from Maven Central into
                          $KAFKA_LIBS
                          (needs java + mvn; no-op when already cached)
  start                   install if needed, format storage on first start,
                          start the broker, wait until it answers metadata;
                          prints the bootstrap address on stdout.
                          No-op (prints the address) when already running.
  stop                    SIGTERM, wait for a clean exit (then SIGKILL)
  restart                 stop + start on the same ports and data
  kill-restart            kill -9 (no clean shutdown: a crash, a lost host),
                          then start on the same ports and data
  status                  print state and address; exit 3 when not running
  addr                    print the bootstrap address (127.0.0.1:PORT)
  create-topic NAME [PARTITIONS] [KEY=VALUE...]
                          create a topic (replication 1, default 4 partitions,
                          topic configs as KEY=VALUE); no-op when it exists
  topics ARGS...          run Kafka's TopicCommand with --bootstrap-server set
                          (e.g. topics --list, topics --describe --topic X)

options:
  --dir DIR               data directory (config, data, logs, pid, ports);
                          default \$CHISO_KAFKA_DIR or <repo>/.run/kafka
  --port PORT             broker port (default: last used in DIR, else free)
  --controller-port PORT  KRaft controller port (same default rule)
  -h, --help              this help

environment:
  CHISO_KAFKA_HOME        jar cache (default \${XDG_CACHE_HOME:-\$HOME/.cache}/chiso/kafka-$KAFKA_VERSION)
  CHISO_KAFKA_HEAP        JVM heap options (default "-Xms256m -Xmx1g")
  CHISO_KAFKA_GC          JVM collector option (default "-XX:+UseParallelGC")
  CHISO_KAFKA_START_TIMEOUT  seconds to wait for readiness (default 90)

Logs: DIR/logs/server.log (broker), DIR/logs/kafka.out (JVM stdout/stderr).
EOF
}

# --- install -----------------------------------------------------------------

cmd_install() {
    if [ -f "$KAFKA_LIBS/.complete" ]; then
        chiso_log "jars cached in $KAFKA_LIBS"
        return 0
    fi
    chiso_apt_ensure default-jre-headless maven
    local tmp started=$SECONDS
    mkdir -p "$KAFKA_HOME"
    tmp=$(mktemp -d "$KAFKA_HOME/libs.tmp.XXXXXX")
    chiso_log "fetching Kafka $KAFKA_VERSION jars from Maven Central (once)"
    if ! mvn -q -B -Dstyle.color=never -f "$CHISO_LOCAL_DIR/kafka-pom.xml" \
        dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
        sed 's/\x1b\[[0-9;]*m//g' "$tmp.log" | tail -n 40 >&2
        rm -rf "$tmp" "$tmp.log"
        chiso_die "mvn could not fetch the Kafka jars (is Maven Central reachable?)"
    fi
    rm -f "$tmp.log"
    ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || {
        rm -rf "$tmp"
        chiso_die "mvn finished but kafka_2.13-$KAFKA_VERSION.jar is missing"
    }
    touch "$tmp/.complete"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
    chiso_log "installed $(ls "$KAFKA_LIBS" | wc -l) jars in $KAFKA_LIBS ($((SECONDS - started))s)"
}

# --- config ------------------------------------------------------------------

pidfile() { printf '%s/kafka.pid\n' "$DIR"; }
pid_pattern() { printf '%s/server.properties\n' "$DIR"; }
running() { chiso_pid_running "$(pidfile)" "$(pid_pattern)"; }

# load_ports: PORT and CPORT from the options, else from DIR/ports.
load_ports() {
    local saved_port='' saved_cport=''
    if [ -f "$DIR/ports" ]; then
        saved_port=$(sed -n 's/^PORT=//p' "$DIR/ports")
        saved_cport=$(sed -n 's/^CONTROLLER_PORT=//p' "$DIR/ports")
    fi
    PORT=${PORT:-$saved_port}
    CPORT=${CPORT:-$saved_cport}
}

# pick_ports: fill in free ports for what is still unset and remember them.
pick_ports() {
    load_ports
    [ -n "$PORT" ] || PORT=$(chiso_free_port "$CPORT")
    [ -n "$CPORT" ] || CPORT=$(chiso_free_port "$PORT")
    [ "$PORT" != "$CPORT" ] || chiso_die "broker and controller port are both $PORT"
    printf 'PORT=%s\nCONTROLLER_PORT=%s\n' "$PORT" "$CPORT" >"$DIR/ports"
}

write_config() {
    cat >"$DIR/server.properties" <<EOF
# Generated by deploy/local/kafka.sh; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DIR/data
num.partitions=4
auto.create.topics.enable=false
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
EOF
    chiso_kafka_write_log4j "$DIR/logs" "$DIR/log4j.properties"
    chiso_kafka_write_tools_log4j "$DIR/tools-log4j.properties"
}

# tool CLASS ARGS...: run a Kafka command-line tool; its stdout goes to stderr
# unless TOOL_STDOUT=1.
tool() { chiso_kafka_tool "$DIR/tools-log4j.properties" "$KAFKA_LIBS" "$@"; }

format_storage() {
    [ -f "$DIR/data/meta.properties" ] && return 0
    local id
    id=$(chiso_kafka_cluster_id)
    chiso_log "formatting storage in $DIR/data (cluster id $id)"
    tool kafka.tools.StorageTool format -t "$id" -c "$DIR/server.properties" ||
        chiso_die "kafka-storage format failed"
}

# ready: the broker answers a metadata request listing itself.
ready() {
    kcat -b "127.0.0.1:$PORT" -L -m 2 2>/dev/null | grep -q '1 brokers:'
}

show_logs() {
    chiso_log "---- last lines of $DIR/logs/server.log ----"
    tail -n 40 "$DIR/logs/server.log" >&2 2>/dev/null || true
    chiso_log "---- last lines of $DIR/logs/kafka.out ----"
    tail -n 20 "$DIR/logs/kafka.out" >&2 2>/dev/null || true
}

# --- commands ----------------------------------------------------------------

cmd_start() {
    mkdir -p "$DIR/logs" "$DIR/data"
    chiso_lock "$DIR/.lock"
    if running; then
        load_ports
        chiso_log "already running (pid $(cat "$(pidfile)")) at 127.0.0.1:$PORT"
        printf '127.0.0.1:%s\n' "$PORT"
        return 0
    fi
    rm -f "$(pidfile)"
    chiso_apt_ensure default-jre-headless kcat
    cmd_install
    pick_ports
    local p
    for p in "$PORT" "$CPORT"; do
        chiso_port_busy "$p" && chiso_die "port $p on 127.0.0.1 is already in use by another process"
    done
    write_config
    format_storage

    local started=$SECONDS pid
    # shellcheck disable=SC2086  # KAFKA_HEAP is a list of JVM options
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$(pidfile)" \
        java $KAFKA_HEAP $KAFKA_GC -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$DIR/log4j.properties" \
        -Dkafka.logs.dir="$DIR/logs" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$DIR/server.properties" \
        </dev/null >>"$DIR/logs/kafka.out" 2>&1 9>&- &
    chiso_log "starting broker on 127.0.0.1:$PORT (controller $CPORT), data in $DIR"
    while ! ready; do
        sleep 0.5
        if ! running && [ $((SECONDS - started)) -gt 5 ]; then
            show_logs
            chiso_die "broker exited during startup"
        fi
        if [ $((SECONDS - started)) -ge "$START_TIMEOUT" ]; then
            show_logs
            chiso_stop_pid "$(pidfile)" "$(pid_pattern)" 10
            chiso_die "broker not ready after ${START_TIMEOUT}s"
        fi
    done
    pid=$(cat "$(pidfile)")
    chiso_log "ready: pid $pid, bootstrap 127.0.0.1:$PORT ($((SECONDS - started))s)"
    printf '127.0.0.1:%s\n' "$PORT"
}

cmd_stop() {
    [ -d "$DIR" ] || { chiso_log "not running (no $DIR)"; return 0; }
    chiso_lock "$DIR/.lock"
    if ! running; then
        rm -f "$(pidfile)"
        chiso_log "not running"
        return 0
    fi
    local pid started=$SECONDS
    pid=$(cat "$(pidfile)")
    chiso_log "stopping pid $pid"
    chiso_stop_pid "$(pidfile)" "$(pid_pattern)" "$STOP_TIMEOUT"
    chiso_log "stopped ($((SECONDS - started))s)"
}

cmd_kill() {
    chiso_lock "$DIR/.lock"
    running || chiso_die "kafka in $DIR is not running"
    local pid
    pid=$(cat "$(pidfile)")
    kill -KILL "$pid"
    while chiso_alive "$pid"; do sleep 0.05; done
    rm -f "$(pidfile)"
    # the main thread may be reaped before the others let go of the ports
    load_ports
    local i
    for ((i = 0; i < 200; i++)); do
        chiso_port_busy "$PORT" || chiso_port_busy "$CPORT" || break
        sleep 0.05
    done
    chiso_log "killed pid $pid (SIGKILL)"
}

cmd_status() {
    load_ports
    if running; then
        printf 'kafka: running pid %s at 127.0.0.1:%s (controller %s), dir %s\n' \
            "$(cat "$(pidfile)")" "$PORT" "$CPORT" "$DIR"
        return 0
    fi
    printf 'kafka: stopped, dir %s\n' "$DIR"
    return 3
}

cmd_addr() {
    load_ports
    [ -n "$PORT" ] || chiso_die "no broker configured in $DIR (run start first)"
    printf '127.0.0.1:%s\n' "$PORT"
}

need_running() {
    load_ports
    running || chiso_die "broker in $DIR is not running (run start first)"
    [ -f "$KAFKA_LIBS/.complete" ] || chiso_die "jars missing in $KAFKA_LIBS (run install)"
}

cmd_create_topic() {
    [ $# -ge 1 ] || chiso_die "usage: create-topic NAME [PARTITIONS] [KEY=VALUE...]"
    local name=$1 partitions=4 configs=() kv
    shift
    if [ $# -ge 1 ] && [[ $1 =~ ^[0-9]+$ ]]; then
        partitions=$1
        shift
    fi
    for kv in "$@"; do
        [[ $kv == *=* ]] || chiso_die "topic config '$kv' is not KEY=VALUE"
        configs+=(--config "$kv")
    done
    need_running
    tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" \
        --create --if-not-exists --topic "$name" --partitions "$partitions" \
        --replication-factor 1 "${configs[@]}" ||
        chiso_die "could not create topic $name"
}

cmd_topics() {
    need_running
    TOOL_STDOUT=1 tool org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "127.0.0.1:$PORT" "$@"
}

# --- main --------------------------------------------------------------------

COMMAND=
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --dir) [ $# -ge 2 ] || chiso_die "--dir needs a value"; DIR=$2; shift 2 ;;
    --dir=*) DIR=${1#*=}; shift ;;
    --port) [ $# -ge 2 ] || chiso_die "--port needs a value"; PORT=$2; shift 2 ;;
    --port=*) PORT=${1#*=}; shift ;;
    --controller-port) [ $# -ge 2 ] || chiso_die "--controller-port needs a value"; CPORT=$2; shift 2 ;;
    --controller-port=*) CPORT=${1#*=}; shift ;;
    *)
        if [ -z "$COMMAND" ]; then
            COMMAND=$1
        else
            ARGS+=("$1")
        fi
        shift
        ;;
    esac
done
DIR=$(chiso_abspath "$DIR")
for p in "$PORT" "$CPORT"; do
    [ -z "$p" ] || [[ $p =~ ^[0-9]+$ ]] || chiso_die "port '$p' is not a number"
done

case "$COMMAND" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
restart) (cmd_stop) && cmd_start ;;
kill-restart) (cmd_kill) && cmd_start ;;
status) cmd_status ;;
addr) cmd_addr ;;
create-topic) cmd_create_topic "${ARGS[@]}" ;;
topics) cmd_topics "${ARGS[@]}" ;;
'') usage >&2; exit 2 ;;
*) chiso_die "unknown command '$COMMAND' (see --help)" ;;
esac
