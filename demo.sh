#!/usr/bin/env bash
# demo.sh: the whole chiso pipeline on this machine, in one command.
#
# Installs what is missing (deploy/local/deps.sh), builds, starts a local
# Kafka (KRaft) and Redis under .run/demo, and streams a simulated week of a
# province (Hưng Yên: 20 departments, 104 communes) at accelerated time
# through chiso-classify, chiso-feedback (its PAKN feedback) and
# chiso-snapshot. The monitoring wall
# (chiso-wall) shows it live in a browser: open the URL printed first;
# chiso-top shows it in the terminal too. Ctrl-C stops everything cleanly.
#
#   ./demo.sh                 a week ending today, 2,000 events/s
#   ./demo.sh --rate 5000     faster
#   ./demo.sh --days 14       a longer stretch
#   ./demo.sh --duration 60   stop by itself after 60 s (no terminal needed)
#   ./demo.sh --wall-port 8081  the wall's port (default 8080, else a free one)
#   ./demo.sh --no-top        no terminal view: the wall only
#   ./demo.sh --bridge        the province speaks the national portal's protocol:
#                             its one-stop system posts DongBoHoSoMC snapshots and
#                             CapNhatTienDoHoSoMC steps to chiso-bridge, which
#                             feeds the pipeline (docs/bridge.md)
set -euo pipefail
cd "$(dirname "$0")"

RATE=2000 DAYS=7 DURATION=0 SEED=$RANDOM WALL_PORT= TOP=1 BRIDGE=0
while [ $# -gt 0 ]; do
    case "$1" in
    --rate) RATE=$2; shift 2 ;;
    --days) DAYS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --wall-port) WALL_PORT=$2; shift 2 ;;
    --no-top) TOP=0; shift ;;
    --bridge) BRIDGE=1; shift ;;
    -h | --help) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
# port_busy PORT: something listens on 127.0.0.1:PORT
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -z "$WALL_PORT" ]; then
    WALL_PORT=8080
    while port_busy "$WALL_PORT"; do WALL_PORT=$((WALL_PORT + 1)); done
fi
WALL_URL=http://127.0.0.1:$WALL_PORT/
say "the monitoring wall will be at $WALL_URL (open it in a browser)"
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
build/processors/feedback/chiso-feedback "${COMMON[@]}" "${REDIS[@]}" >"$LOGS/feedback.log" 2>&1 &
PIDS+=($!)
build/sinks/snapshot/chiso-snapshot "${COMMON[@]}" "${REDIS[@]}" >"$LOGS/snapshot.log" 2>&1 &
PIDS+=($!)
build/sinks/alerts/chiso-alerts "${COMMON[@]}" "${REDIS[@]}" >"$LOGS/alerts.log" 2>&1 &
PIDS+=($!)
# the wall's "today" follows the simulated clock (classify's event-time
# watermark), so its counter ticks as the simulated days go by
build/sinks/wall/chiso-wall "${COMMON[@]}" "${REDIS[@]}" --http.port "$WALL_PORT" \
    --time.source event >"$LOGS/wall.log" 2>&1 &
PIDS+=($!)
sleep 2
if [ "$BRIDGE" = 1 ]; then
    BRIDGE_PORT=8095
    while port_busy "$BRIDGE_PORT"; do BRIDGE_PORT=$((BRIDGE_PORT + 1)); done
    BRIDGE_URL=http://127.0.0.1:$BRIDGE_PORT
    # the simulated history goes through at machine speed: facts the payload
    # gives no time for take each request's Date (the simulated time)
    build/producers/bridge/chiso-bridge "${COMMON[@]}" "${REDIS[@]}" --http.port "$BRIDGE_PORT" \
        --bridge.time date-header >"$LOGS/bridge.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do curl -sf "$BRIDGE_URL/healthz" >/dev/null && break; sleep 0.2; done
    # the catalog comes from its own loader, as in a province
    build/producers/simulate/chiso-simulate --output stdout --seed "$SEED" --start "$START" \
        --days 1 --dossiers-per-day 1 --units-out "$DIR/units.jsonl" \
        --procedures-out "$DIR/procedures.jsonl" >/dev/null 2>&1
    build/producers/catalog/chiso-catalog "${COMMON[@]}" "$DIR/units.jsonl" "$DIR/procedures.jsonl" \
        >"$LOGS/catalog.log" 2>&1
    say "simulating $DAYS days from $START, posted to chiso-bridge at $BRIDGE_URL (seed $SEED)"
    build/producers/simulate/chiso-simulate --output bridge --bridge.url "$BRIDGE_URL" \
        --seed "$SEED" --start "$START" --days "$DAYS" --rate "$RATE" >"$LOGS/simulate.log" 2>&1 &
    PIDS+=($!)
else
    say "simulating $DAYS days from $START at $RATE events/s (seed $SEED)"
    build/producers/simulate/chiso-simulate "${COMMON[@]}" --seed "$SEED" --start "$START" --days "$DAYS" \
        --rate "$RATE" --duplicates 0.02 --reorder 0.05 --malformed 0.001 >"$LOGS/simulate.log" 2>&1 &
    PIDS+=($!)
fi

cat >&2 <<EOT

  Wall    $WALL_URL   <- open in a browser (live; /api/units, /metrics)
  Kafka   $CHISO_BROKERS      Redis   127.0.0.1:$CHISO_REDIS_PORT
${BRIDGE_URL:+  Bridge  $BRIDGE_URL/DongBoHoSoMC   (metrics: $BRIDGE_URL/metrics)
}  Metrics http://127.0.0.1:9101/metrics (classify), :9102 (snapshot), :9103 (alerts), :9105 (feedback)
  Read the score snapshots yourself, in another terminal:
    kcat -b $CHISO_BROKERS -C -t scores -e -f '%k  %s\n'
  and the overdue alerts:
    kcat -b $CHISO_BROKERS -C -t alerts -e
  Ctrl-C stops everything.

EOT
sleep 3
if [ "$DURATION" -gt 0 ] || [ ! -t 1 ]; then
    [ "$DURATION" -gt 0 ] || DURATION=60
    sleep "$DURATION"
    [ "$TOP" = 0 ] || build/sinks/top/chiso-top "${COMMON[@]}" --once
elif [ "$TOP" = 1 ]; then
    build/sinks/top/chiso-top "${COMMON[@]}" || true
else
    say "the wall is live at $WALL_URL (hands-free on a wall screen: $WALL_URL?kiosk=1); Ctrl-C stops everything"
    while sleep 3600; do :; done
fi
