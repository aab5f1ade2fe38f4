#!/usr/bin/env bash
# bench/run.sh: push a few million simulated events through real Kafka and
# Redis and print the figures the issues set targets for:
#   - events/s end to end (simulator producing and chiso-classify applying
#     at the same time, from the first record produced to the last offset
#     committed after Redis acknowledged it), and the classify-only rate on
#     a backlog;
#   - p50 and p99 latency from produce (the record's Kafka timestamp) to its
#     effect acknowledged by Redis, under a steady rate (measured first, on
#     the empty stack, before the bulk phases fill Redis);
#   - Redis memory per dossier (used_memory growth / dossier states, and
#     MEMORY USAGE of sampled states);
#   - chiso-classify peak RSS (VmHWM).
# It starts its own stack under .run/bench (never the one on 6379) and stops
# it at the end. Options:
#   --days N          simulated days (default 50: ~2.9 million events)
#   --per-day N       dossiers per day (default 10000)
#   --rate R          steady rate for the latency phase (default 20000 ev/s)
#   --latency-s S     length of the latency phase in seconds (default 30)
#   --build-dir DIR   where the programs are (default build)
#   --keep            leave the stack running
set -euo pipefail
cd "$(dirname "$0")/.."

DAYS=50 PER_DAY=10000 RATE=20000 LAT_S=30 BUILD=build KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
    --days) DAYS=$2; shift 2 ;;
    --per-day) PER_DAY=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --latency-s) LAT_S=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,21s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

bin() { find "$BUILD" -type f -perm -u+x -name "$1" -not -path '*/CMakeFiles/*' | head -n1; }
SIM=$(bin chiso-simulate) CLASSIFY=$(bin chiso-classify) SNAPSHOT=$(bin chiso-snapshot)
for p in "$SIM" "$CLASSIFY" "$SNAPSHOT"; do
    [ -x "$p" ] || { echo "bench: build first (cmake --build $BUILD)" >&2; exit 1; }
done

STACK=.run/bench
OUT=$STACK/out
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ "$KEEP" = 1 ] || deploy/local/stack.sh stop --dir "$STACK" >/dev/null 2>&1 || true
}
trap cleanup EXIT

log "starting a fresh stack in $STACK"
deploy/local/stack.sh start --fresh --dir "$STACK" >/dev/null
. "$STACK/stack.env"
mkdir -p "$OUT"
R() { redis-cli -p "$CHISO_REDIS_PORT" "$@"; }
COMMON=(--brokers "$CHISO_BROKERS" --topic.partitions 4)
REDIS=(--redis.port "$CHISO_REDIS_PORT")

metric() { # metric PORT NAME: the value of an unlabelled metric
    curl -sf "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}
quantile() { # quantile PORT HISTOGRAM Q: interpolated from the buckets, in ms
    curl -sf "http://127.0.0.1:$1/metrics" >"$OUT/metrics.txt"
    python3 - "$OUT/metrics.txt" "$2" "$3" <<'PY'
import re, sys
path, name, q = sys.argv[1], sys.argv[2], float(sys.argv[3])
buckets = []
for line in open(path):
    m = re.match(name + r'_bucket\{le="([^"]+)"\} (\S+)', line)
    if m:
        le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
        buckets.append((le, float(m.group(2))))
rank, lo, prev = q * buckets[-1][1], 0.0, 0.0
for le, c in buckets:
    if c >= rank:
        if le == float("inf"):
            print(f"> {lo * 1000:.0f}")
        else:
            print(f"{(lo + (le - lo) * (rank - prev) / max(c - prev, 1)) * 1000:.1f}")
        break
    lo, prev = le, c
PY
}
wait_committed() { # wait_committed PORT N
    until [ "$(metric "$1" chiso_classify_committed_total)" = "$2" ]; do sleep 0.2; done
}

# ---- phase 0: latency under a steady rate, on the empty stack ----
M3=$(free_port)
log "phase 0: steady $RATE events/s for ${LAT_S}s, latency produce -> Redis applied"
"$CLASSIFY" "${COMMON[@]}" --redis.port "$CHISO_REDIS_PORT" --redis.prefix bench3 --group.id bench3 \
    --topic.prefix lat. --metrics.port "$M3" >"$OUT/classify3.log" 2>&1 &
CPID=$!
PIDS+=($CPID)
until [ -n "$(metric "$M3" chiso_classify_committed_total 2>/dev/null)" ]; do sleep 0.2; done
sleep 3 # let the group settle
# about 5.85 events per dossier: enough days of 20,000 dossiers for RATE x LAT_S events
DAYS3=$(python3 -c "import sys; print(max(1, round($RATE * $LAT_S / 5.85 / 20000)))")
"$SIM" "${COMMON[@]}" --topic.prefix lat. --seed 2 --start 2025-07-01 --days "$DAYS3" \
    --dossiers-per-day 20000 --rate "$RATE" --self-check false -X kafka.linger.ms=1 \
    --truth "$OUT/truth3.json" 2>"$OUT/simulate3.log"
R3=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$OUT/truth3.json")
wait_committed "$M3" "$R3"
P50=$(quantile "$M3" chiso_classify_latency_seconds 0.50)
P99=$(quantile "$M3" chiso_classify_latency_seconds 0.99)
kill -TERM "$CPID"; wait "$CPID" || true


# ---- phase 1: end to end, producer and processor together ----
M1=$(free_port)
log "phase 1: $DAYS days x $PER_DAY dossiers/day, simulator and classify concurrently"
"$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --metrics.port 0 >"$OUT/snapshot.log" 2>&1 &
PIDS+=($!)
"$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" --metrics.port "$M1" >"$OUT/classify1.log" 2>&1 &
CPID=$!
PIDS+=($CPID)
until metric "$M1" chiso_classify_committed_total >/dev/null 2>&1 && [ -n "$(metric "$M1" chiso_classify_committed_total)" ]; do sleep 0.2; done
T0=$(date +%s.%N)
"$SIM" "${COMMON[@]}" --seed 1 --start 2025-07-01 --days "$DAYS" --dossiers-per-day "$PER_DAY" \
    --self-check false --truth "$OUT/truth.json" 2>"$OUT/simulate.log"
T_SIM=$(date +%s.%N)
RECORDS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$OUT/truth.json")
wait_committed "$M1" "$RECORDS"
T1=$(date +%s.%N)
RSS1=$(awk '/VmHWM/ { print $2 }' "/proc/$CPID/status")
DOSSIERS=$(R eval "return #redis.call('keys', 'chiso:{*}:d:*')" 0)
USED=$(R info memory | awk -F: '/^used_memory:/ { print $2+0 }')
SAMPLE=$(R eval "local ks = redis.call('scan', 0, 'match', 'chiso:{*}:d:*', 'count', 5000)[2]; local t, n = 0, 0; for _, k in ipairs(ks) do t = t + redis.call('memory', 'usage', k); n = n + 1 end; return tostring(t / n)" 0)
STRLEN=$(R eval "local ks = redis.call('scan', 0, 'match', 'chiso:{*}:d:*', 'count', 5000)[2]; local t, n = 0, 0; for _, k in ipairs(ks) do t = t + redis.call('strlen', k); n = n + 1 end; return tostring(t / n)" 0)
kill -TERM "$CPID"; wait "$CPID" || true

# ---- phase 2: classify alone on a backlog ----
M2=$(free_port)
log "phase 2: classify alone drains the $RECORDS-record backlog (new group, fresh Redis namespace)"
"$CLASSIFY" "${COMMON[@]}" --redis.port "$CHISO_REDIS_PORT" --redis.prefix bench2 --group.id bench2 \
    --metrics.port "$M2" >"$OUT/classify2.log" 2>&1 &
CPID=$!
PIDS+=($CPID)
T2=$(date +%s.%N)
wait_committed "$M2" "$RECORDS"
T3=$(date +%s.%N)
RSS2=$(awk '/VmHWM/ { print $2 }' "/proc/$CPID/status")
kill -TERM "$CPID"; wait "$CPID" || true

AOF_REWRITES=$(R info persistence | awk -F: '/^aof_rewrites:/ { print $2+0 }')
python3 - "$RECORDS" "$T0" "$T_SIM" "$T1" "$T2" "$T3" "$DOSSIERS" "$USED" "$SAMPLE" "$STRLEN" "$RSS1" "$RSS2" "$RATE" "$R3" "$P50" "$P99" "$AOF_REWRITES" <<'PY'
import sys
a = sys.argv[1:]
rec = int(a[0]); t0, tsim, t1, t2, t3 = map(float, a[1:6])
dossiers, used, sample, strlen = int(a[6]), int(a[7]), float(a[8]), float(a[9])
rss1, rss2, rate, r3, p50, p99 = int(a[10]), int(a[11]), a[12], a[13], a[14], a[15]
aof_rewrites = a[16]
print("chiso benchmark (2-core machine, real Kafka KRaft + Redis, all on this host)")
print(f"  records                         {rec:>12,}")
print(f"  end to end events/s             {rec / (t1 - t0):>12,.0f}   (produce+classify+Redis, {t1 - t0:.1f} s)")
print(f"  simulator produce events/s      {rec / (tsim - t0):>12,.0f}")
print(f"  classify backlog events/s       {rec / (t3 - t2):>12,.0f}   (the same backlog, new group, fresh namespace)")
print(f"  latency at {rate} ev/s ({r3} records): p50 {p50} ms, p99 {p99} ms (produce -> Redis applied, empty stack)")
print(f"  dossier states                  {dossiers:>12,}")
print(f"  Redis used_memory per dossier   {used / max(dossiers, 1):>12,.0f} B   (all keys: states + counters)")
print(f"  Redis MEMORY USAGE per state    {sample:>12,.0f} B   (encoded state {strlen:.0f} B)")
print(f"  Redis AOF rewrites during the run {aof_rewrites:>7}")
print(f"  classify peak RSS               {rss1 / 1024:>12,.1f} MiB (phase 1), {rss2 / 1024:.1f} MiB (phase 2)")
PY
