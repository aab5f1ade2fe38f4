#!/usr/bin/env bash
# stack.sh: the whole local stack (one Kafka broker in KRaft mode, one Redis)
# under one data directory, for development and end-to-end tests.
#
# Layout of the stack directory:
#   DIR/kafka/     kafka.sh data directory (config, data, logs, pid, ports)
#   DIR/redis/     redis.sh data directory (AOF, log, pid, port)
#   DIR/stack.env  shell exports telling programs and tests where things are:
#                  CHISO_BROKERS, CHISO_REDIS_HOST, CHISO_REDIS_PORT,
#                  CHISO_STACK_DIR (and CHISO_KAFKA_HOME, the jar cache)
# Ports are chosen free on first start and kept, so restarts (and the
# restart-* helpers used by fault tests) come back at the same addresses.
set -euo pipefail

CHISO_COMPONENT=stack
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DIR=${CHISO_STACK_DIR:-$CHISO_REPO_DIR/.run/stack}

usage() {
    cat <<EOF
usage: $(basename "$0") [--dir DIR] COMMAND [ARGS]

Local Kafka (KRaft, single node) + Redis under one data directory.

commands:
  start [--fresh]  start both (no-op for what already runs), write
                   DIR/stack.env and print it on stdout, so
                   eval "\$($(basename "$0") start)" sets the environment;
                   --fresh stops and deletes any previous data first
  stop             stop both (clean shutdown)
  status           state of both; exit 3 unless both run
  env              print DIR/stack.env
  restart-kafka    stop + start Kafka on the same ports and data
  kill-kafka       kill -9 Kafka (no clean shutdown), start it again on the
                   same ports and data
  restart-redis    stop + start Redis on the same port and data
  redis-aof-copy DEST
                   copy Redis's append-only files as they are now into DEST
  redis-power-loss [COPY]
                   kill -9 Redis, roll its AOF back to COPY when given, start
                   it again: it comes back with less than it acknowledged
  create-topic NAME [PARTITIONS] [KEY=VALUE...]
                   create a topic on the stack's broker (see kafka.sh)
  kafka ARGS...    run kafka.sh on the stack's broker (e.g. kafka topics --list)
  redis ARGS...    run redis.sh on the stack's Redis (e.g. redis cli info)

options:
  --dir DIR        stack directory; default \$CHISO_STACK_DIR or <repo>/.run/stack
  -h, --help       this help
EOF
}

kafka() { "$CHISO_LOCAL_DIR/kafka.sh" --dir "$DIR/kafka" "$@"; }
redis() { "$CHISO_LOCAL_DIR/redis.sh" --dir "$DIR/redis" "$@"; }

write_env() {
    local brokers redis_port tmp
    brokers=$(kafka addr)
    redis_port=$(redis port)
    tmp=$(mktemp "$DIR/stack.env.XXXXXX")
    cat >"$tmp" <<EOF
# Written by deploy/local/stack.sh; source it to reach the local stack.
export CHISO_BROKERS=$brokers
export CHISO_REDIS_HOST=127.0.0.1
export CHISO_REDIS_PORT=$redis_port
export CHISO_STACK_DIR=$DIR
export CHISO_KAFKA_HOME=${CHISO_KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/chiso/kafka-3.9.1}
EOF
    mv "$tmp" "$DIR/stack.env"
}

cmd_start() {
    local started=$SECONDS
    if [ "$FRESH" = 1 ] && [ -d "$DIR" ]; then
        chiso_log "--fresh: stopping and wiping $DIR/{kafka,redis}"
        cmd_stop
        rm -rf "$DIR/kafka" "$DIR/redis" "$DIR/stack.env"
    fi
    mkdir -p "$DIR"
    redis start >/dev/null
    kafka start >/dev/null
    write_env
    chiso_log "stack up in $((SECONDS - started))s; env in $DIR/stack.env"
    cat "$DIR/stack.env"
}

cmd_stop() {
    local rc=0
    kafka stop || rc=1
    redis stop || rc=1
    return "$rc"
}

cmd_status() {
    local rc=0
    kafka status || rc=3
    redis status || rc=3
    return "$rc"
}

cmd_env() {
    [ -f "$DIR/stack.env" ] || chiso_die "no $DIR/stack.env (run start first)"
    cat "$DIR/stack.env"
}

COMMAND=
while [ $# -gt 0 ] && [ -z "$COMMAND" ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --dir) [ $# -ge 2 ] || chiso_die "--dir needs a value"; DIR=$2; shift 2 ;;
    --dir=*) DIR=${1#*=}; shift ;;
    -*) chiso_die "unknown option '$1' (see --help)" ;;
    *) COMMAND=$1; shift ;;
    esac
done
DIR=$(chiso_abspath "$DIR")
# Options may also follow the command (stack.sh start --dir DIR).
ARGS=()
FRESH=0
while [ $# -gt 0 ]; do
    case "$COMMAND:$1" in
    kafka:* | redis:*) ARGS+=("$1"); shift ;;
    *:-h | *:--help) usage; exit 0 ;;
    *:--dir) [ $# -ge 2 ] || chiso_die "--dir needs a value"; DIR=$(chiso_abspath "$2"); shift 2 ;;
    *:--dir=*) DIR=$(chiso_abspath "${1#*=}"); shift ;;
    start:--fresh) FRESH=1; shift ;;
    *) ARGS+=("$1"); shift ;;
    esac
done

case "$COMMAND" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
restart-kafka) kafka restart >/dev/null && write_env ;;
kill-kafka) kafka kill-restart >/dev/null && write_env ;;
restart-redis) redis restart >/dev/null && write_env ;;
redis-aof-copy) redis aof-copy "${ARGS[@]}" ;;
redis-power-loss) redis power-loss "${ARGS[@]}" >/dev/null && write_env ;;
create-topic) kafka create-topic "${ARGS[@]}" ;;
kafka) kafka "${ARGS[@]}" ;;
redis) redis "${ARGS[@]}" ;;
'') usage >&2; exit 2 ;;
*) chiso_die "unknown command '$COMMAND' (see --help)" ;;
esac
