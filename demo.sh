#!/usr/bin/env bash
# demo.sh: the whole chiso pipeline on this machine, in one command.
#
# Installs what is missing (deploy/local/deps.sh), builds, starts a local
# Kafka (KRaft) and Redis under .run/demo, and streams a simulated week of a
# province (Hưng Yên: 20 departments, 104 communes) at accelerated time
# through chiso-classify and chiso-snapshot, while chiso-top shows the
# province and its busiest units live. Ctrl-C stops everything cleanly.
#
#   ./demo.sh                 a week ending today, 2,000 events/s
#   ./demo.sh --rate 5000     faster
#   ./demo.sh --days 14       a longer stretch
#   ./demo.sh --duration 60   stop by itself after 60 s (no terminal needed)
set -euo pipefail
cd "$(dirname "$0")"

RATE=2000 DAYS=7 DURATION=0 SEED=$RANDOM
while [ $# -gt 0 ]; do
    case "$1" in
    --rate) RATE=$2; shift 2 ;;
    --days) DAYS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    -h | --help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
DIR=.run/demo
LOGS=$DIR/logs
PIDS=()
stopping=0
cleanup() {
    [ "$stopping" = 1 ] && return
    stopping=1
    say "stopping the pipeline"
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    deploy/local/stack.sh stop --dir "$DIR" >/dev/null 2>&1 || true
    say "stopped; logs in $LOGS"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "dependencies"
deploy/local/deps.sh
say "build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 >/dev/null
say "local Kafka and Redis (in $DIR)"
deploy/local/stack.sh start --fresh --dir "$DIR" >/dev/null
. "$DIR/stack.env"
mkdir -p "$LOGS"

COMMON=(--brokers "$CHISO_BROKERS")
REDIS=(--redis.port "$CHISO_REDIS_PORT")
START=$(date -d "$DAYS days ago" +%F)

build/processors/classify/chiso-classify "${COMMON[@]}" "${REDIS[@]}" >"$LOGS/classify.log" 2>&1 &
PIDS+=($!)
build/sinks/snapshot/chiso-snapshot "${COMMON[@]}" "${REDIS[@]}" >"$LOGS/snapshot.log" 2>&1 &
PIDS+=($!)
build/sinks/alerts/chiso-alerts "${COMMON[@]}" "${REDIS[@]}" >"$LOGS/alerts.log" 2>&1 &
PIDS+=($!)
sleep 2
say "simulating $DAYS days from $START at $RATE events/s (seed $SEED)"
build/producers/simulate/chiso-simulate "${COMMON[@]}" --seed "$SEED" --start "$START" --days "$DAYS" \
    --rate "$RATE" --duplicates 0.02 --reorder 0.05 --malformed 0.001 >"$LOGS/simulate.log" 2>&1 &
PIDS+=($!)

cat >&2 <<EOT

  Kafka   $CHISO_BROKERS      Redis   127.0.0.1:$CHISO_REDIS_PORT
  Metrics http://127.0.0.1:9101/metrics (classify), :9102 (snapshot), :9103 (alerts)
  Read the score snapshots yourself, in another terminal:
    kcat -b $CHISO_BROKERS -C -t scores -e -f '%k  %s\n'
  and the overdue alerts:
    kcat -b $CHISO_BROKERS -C -t alerts -e
  Live view starts in 3 s; Ctrl-C stops everything.

EOT
sleep 3
if [ "$DURATION" -gt 0 ] || [ ! -t 1 ]; then
    [ "$DURATION" -gt 0 ] || DURATION=60
    sleep "$DURATION"
    build/sinks/top/chiso-top "${COMMON[@]}" --once
else
    build/sinks/top/chiso-top "${COMMON[@]}" || true
fi
