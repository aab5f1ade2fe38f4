#!/usr/bin/env bash
# bench/cluster.sh: chiso-classify on the local clusters (deploy/local/
# cluster.sh: a Redis Cluster of 3 masters and 3 replicas, 3 Kafka brokers
# with replication 3), draining one pre-loaded topic with 1, 2 and 4
# instances in turn. For each count it prints the drain rate and the CPU
# µs per record of every process: each classify instance, each Redis master
# (per shard) and replica, each broker; and checks every counter against
# the simulator's truth (a figure counts only when exact). All on this one
# host, so the figures share its 2 cores: read them as CPU per record, the
# figure the machine's load moves least, not as a cluster's capacity.
# Options:
#   --days N          simulated days (default 10: ~585,000 records)
#   --per-day N       dossiers per day (default 10000)
#   --instances "L"   the instance counts to run (default "1 2 4")
#   --partitions N    partitions of the topic (default 4)
#   --build-dir DIR   where the programs are (default build)
#   --keep            leave the clusters running
set -euo pipefail
cd "$(dirname "$0")/.."

DAYS=10 PER_DAY=10000 COUNTS="1 2 4" PARTS=4 BUILD=build KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
    --days) DAYS=$2; shift 2 ;;
    --per-day) PER_DAY=$2; shift 2 ;;
    --instances) COUNTS=$2; shift 2 ;;
    --partitions) PARTS=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

bin() { find "$BUILD" -type f -perm -u+x -name "$1" -not -path '*/CMakeFiles/*' | head -n1; }
SIM=$(bin chiso-simulate) CLASSIFY=$(bin chiso-classify) VERIFY=$(bin chiso-verify)
for p in "$SIM" "$CLASSIFY" "$VERIFY"; do
    [ -x "$p" ] || { echo "bench: build first (cmake --build $BUILD)" >&2; exit 1; }
done

DIR=.run/bench-cluster
OUT=$DIR/out
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cl() { deploy/local/cluster.sh --dir "$DIR" "$@"; }
CPIDS=() PORTS=()
cleanup() {
    for p in "${CPIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ "$KEEP" = 1 ] || cl stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

log "starting fresh clusters in $DIR"
cl start --fresh >/dev/null
. "$DIR/cluster.env"
mkdir -p "$OUT"
COMMON=(--brokers "$CHISO_BROKERS" --topic.partitions "$PARTS" --topic.replication 3)
REDIS=(--redis.port "$CHISO_REDIS_PORT" --redis.cluster yes --redis.cluster.seeds "$CHISO_REDIS_CLUSTER_SEEDS")

ticks() { # ticks PID...: user + system clock ticks of the processes, summed
    local p t=0
    for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done
    echo "$t"
}
redis_pid() { redis-cli -p "$1" info server | tr -d '\r' | awk -F: '$1 == "process_id" { print $2 }'; }
committed() { # the instances' committed records, summed
    local p v t=0
    for p in "${PORTS[@]}"; do
        v=$(curl -sf "http://127.0.0.1:$p/metrics" | awk '$1 == "chiso_classify_committed_total" { print $2 }')
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

log "loading the topic: $DAYS days x $PER_DAY dossiers/day"
"$SIM" "${COMMON[@]}" --seed 1 --start 2025-07-01 --days "$DAYS" --dossiers-per-day "$PER_DAY" \
    --self-check false --truth "$OUT/truth.json" 2>"$OUT/simulate.log"
RECORDS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$OUT/truth.json")

MASTERS=$(cl redis-masters | awk '{ split($1, a, ":"); print a[2] }')
ALL=${CHISO_REDIS_CLUSTER_SEEDS//,/ }
BROKER_PIDS=$(cat "$DIR"/kafka/*/kafka.pid)
printf 'chiso on the local clusters (3+3 Redis Cluster, 3 brokers; one 2-core host)\n'
printf '  records %s (%s days x %s dossiers), topic of %s partitions, replication 3\n' \
    "$(printf "%'d" "$RECORDS")" "$DAYS" "$PER_DAY" "$PARTS"
for n in $COUNTS; do
    # a fresh namespace and group; the masters emptied first
    for m in $MASTERS; do redis-cli -p "$m" flushall >/dev/null; done
    name=drain$n
    declare -A R0=() B0=()
    for node in $ALL; do R0[$node]=$(ticks "$(redis_pid "${node#*:}")"); done
    for b in $BROKER_PIDS; do B0[$b]=$(ticks "$b"); done
    CPIDS=() PORTS=()
    T0=$(date +%s.%N)
    for i in $(seq "$n"); do
        port=$(free_port)
        "$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" --redis.prefix "$name" --group.id "$name" \
            --metrics.port "$port" >"$OUT/classify-$name-$i.log" 2>&1 &
        CPIDS+=($!)
        PORTS+=("$port")
    done
    until [ "$(committed 2>/dev/null || echo 0)" -ge "$RECORDS" ]; do sleep 0.2; done
    T1=$(date +%s.%N)
    line="  $n instance(s): $(python3 -c "print(f'{$RECORDS / ($T1 - $T0):,.0f}')") records/s drained in $(python3 -c "print(f'{$T1 - $T0:.1f}')") s; CPU µs/record:"
    total=0
    for i in $(seq 0 $((n - 1))); do
        t=$(ticks "${CPIDS[$i]}")
        total=$((total + t))
        line+=" classify$((i + 1)) $(python3 -c "print(f'{$t * 10000 / $RECORDS:.2f}')")"
    done
    rtotal=0
    for node in $ALL; do
        t=$(($(ticks "$(redis_pid "${node#*:}")") - R0[$node]))
        rtotal=$((rtotal + t))
        role=replica
        for m in $MASTERS; do [ "$m" = "${node#*:}" ] && role=master; done
        line+=" redis-${role}:${node#*:} $(python3 -c "print(f'{$t * 10000 / $RECORDS:.2f}')")"
    done
    btotal=0
    for b in $BROKER_PIDS; do btotal=$((btotal + $(ticks "$b") - B0[$b])); done
    line+=" brokers $(python3 -c "print(f'{$btotal * 10000 / $RECORDS:.2f}')")"
    line+="; sums: classify $(python3 -c "print(f'{$total * 10000 / $RECORDS:.2f}')"), Redis $(python3 -c "print(f'{$rtotal * 10000 / $RECORDS:.2f}')")"
    for p in "${CPIDS[@]}"; do kill -TERM "$p"; done
    wait "${CPIDS[@]}" || true
    CPIDS=() PORTS=()
    "$VERIFY" --brokers "$CHISO_BROKERS" "${REDIS[@]}" --redis.prefix "$name" --truth "$OUT/truth.json" \
        --check counters >"$OUT/verify-$name.out" 2>&1 ||
        { tail -5 "$OUT/verify-$name.out" >&2; echo "bench: counters differ from the truth ($n instances)" >&2; exit 1; }
    echo "$line; counters exact ($(awk '/^counters:/ { print $2 }' "$OUT/verify-$name.out") checked)"
done
