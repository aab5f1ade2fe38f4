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
#   - chiso-classify peak RSS (VmHWM);
#   - CPU µs per record of every process in the end-to-end and backlog
#     phases (user + system time from /proc, over the records of the phase):
#     each chiso-classify instance on its own and their total, Redis, the
#     broker (and the part of it its JIT compiler threads took: a young
#     broker compiles while it serves), chiso-snapshot and (end to end) the
#     simulator; a figure that the machine's other load moves far less than
#     a rate.
# With --drain it runs none of those phases (no latency, no end to end, no
# backlog) but a drain of a pre-loaded topic: the simulator alone loads the
# topic (the same --days, --per-day and seed as end to end), then --instances
# chiso-classify (a new group and Redis prefix, "drain") and chiso-snapshot
# start together; it prints the drain rate from their start to the last
# offset committed, the CPU µs per record of each process (each classify
# instance, Redis, the broker, snapshot) and their sum, Redis's time per
# record by command (INFO commandstats over the drain alone), classify peak
# RSS and page faults (each instance's, from its start) and Redis memory per
# dossier, and fails unless every counter is exact against the simulator's
# truth.
# It starts its own stack under .run/bench (never the one on 6379) and stops
# it at the end. Options:
#   --days N          simulated days (default 50: ~2.9 million events)
#   --per-day N       dossiers per day (default 10000)
#   --rate R          steady rate for the latency phase (default 20000 ev/s)
#   --latency-s S     length of the latency phase in seconds (default 30)
#   --warm-s S        warm-up at that rate before it, on other topics (default 30)
#   --instances N     chiso-classify instances (one consumer group) in the
#                     end-to-end, backlog and drain phases (default 2; the
#                     latency phase runs one)
#   --classify-args "A..."  extra options for every chiso-classify (e.g.
#                     "--batch.linger.ms 2"), to compare settings
#   --latency-only    run the latency phase alone (warm-up included) and stop
#   --drain           drain a pre-loaded topic, as above, instead of the phases
#   --threads         with --drain: also where the drain's time went, from
#                     the kernel's accounting (bench/threads.py): the cores'
#                     idle share, each process's time on a core and waiting
#                     for one, each classify main thread's time blocked
#   --build-dir DIR   where the programs are (default build)
#   --keep            leave the stack running
set -euo pipefail
cd "$(dirname "$0")/.."

DAYS=50 PER_DAY=10000 RATE=20000 LAT_S=30 WARM_S=30 INSTANCES=2 BUILD=build KEEP=0 LAT_ONLY=0 DRAIN=0
THREADS=0 CLASSIFY_ARGS=
while [ $# -gt 0 ]; do
    case "$1" in
    --days) DAYS=$2; shift 2 ;;
    --per-day) PER_DAY=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --latency-s) LAT_S=$2; shift 2 ;;
    --warm-s) WARM_S=$2; shift 2 ;;
    --instances) INSTANCES=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --latency-only) LAT_ONLY=1; shift ;;
    --drain) DRAIN=1; shift ;;
    --threads) THREADS=1; shift ;;
    --classify-args) CLASSIFY_ARGS=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; # the comment above
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ "$DRAIN$LAT_ONLY" != 11 ] || { echo "bench: --drain and --latency-only exclude each other" >&2; exit 2; }
[ "$THREADS" = 0 ] || [ "$DRAIN" = 1 ] || { echo "bench: --threads goes with --drain" >&2; exit 2; }

bin() { find "$BUILD" -type f -perm -u+x -name "$1" -not -path '*/CMakeFiles/*' | head -n1; }
SIM=$(bin chiso-simulate) CLASSIFY=$(bin chiso-classify) SNAPSHOT=$(bin chiso-snapshot)
VERIFY=$(bin chiso-verify)
for p in "$SIM" "$CLASSIFY" "$SNAPSHOT" "$VERIFY"; do
    [ -x "$p" ] || { echo "bench: build first (cmake --build $BUILD)" >&2; exit 1; }
done

STACK=.run/bench
OUT=$STACK/out
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=() CPIDS=() PORTS=()
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
wait_committed() { # wait_committed N PORT...: until the instances' commits add up to N
    # one long-lived poller, every 100 ms: a curl and an awk per instance
    # and poll took about a tenth of the two cores away from the pipeline
    # it measures (perf record -a during a drain, docs/benchmarks.md)
    python3 - "$@" <<'PY'
import http.client, re, sys, time
n, ports = int(sys.argv[1]), sys.argv[2:]
pat = re.compile(rb"^chiso_classify_committed_total (\d+)", re.M)
conns = {}
def committed(port):
    for _ in range(2):  # a dropped keep-alive connection is opened again once
        try:
            c = conns.get(port) or conns.setdefault(port, http.client.HTTPConnection("127.0.0.1", int(port), timeout=5))
            c.request("GET", "/metrics")
            m = pat.search(c.getresponse().read())
            return int(m.group(1)) if m else 0
        except (OSError, http.client.HTTPException):
            conns.pop(port, None)
    return 0
while sum(committed(p) for p in ports) < n:
    time.sleep(0.1)
PY
}
records() { # records TRUTH: the records a simulator run sent
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$1"
}
start_classify() { # start_classify LOG ARGS...: one more instance; its port and pid in PORTS,
    # CPIDS (it is not waited for: the instances of a phase start together, as a deployment's
    # do, rather than the second joining the group, and taking half the partitions back, once
    # the first one works; wait_started waits for them)
    local port
    port=$(free_port)
    # shellcheck disable=SC2086  # CLASSIFY_ARGS is a list of options
    "$CLASSIFY" "${@:2}" $CLASSIFY_ARGS --metrics.port "$port" >"$1" 2>&1 &
    CPIDS+=($!)
    PIDS+=($!)
    PORTS+=("$port")
}
wait_started() { # until every instance of PORTS serves its metrics
    local port
    for port in "${PORTS[@]}"; do
        until [ -n "$(metric "$port" chiso_classify_committed_total 2>/dev/null)" ]; do sleep 0.2; done
    done
}
peak_rss() { # the largest VmHWM of CPIDS, in KiB
    local p max=0 v
    for p in "${CPIDS[@]}"; do
        v=$(awk '/VmHWM/ { print $2 }' "/proc/$p/status")
        [ "$v" -gt "$max" ] && max=$v
    done
    echo "$max"
}
statsum() { # statsum FIELDS PID...: an awk sum of /proc/PID/stat's fields, over the processes
    local p t=0
    for p in "${@:2}"; do
        t=$((t + $(awk "{ print $1 }" "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}
ticks() { statsum '$14 + $15' "$@"; } # ticks PID...: user + system clock ticks, summed
each_faults() { # each_faults PID...: each process's page faults (minor + major), comma-separated
    local p s=
    for p in "$@"; do s+=${s:+,}$(statsum '$10 + $12' "$p"); done
    echo "$s"
}
jit_ticks() { # jit_ticks PID: the ticks of the JVM's compiler threads ("C1/C2 CompilerThread"):
    # the part of the broker's CPU that is its JIT compiling, not serving
    cat /proc/"$1"/task/*/stat 2>/dev/null |
        awk '/\(C[12] CompilerThre\)/ { sub(/^.*\) /, ""); split($0, f, " "); t += f[12] + f[13] }
             END { print t + 0 }'
}
broker_since() { # broker_since TICKS JIT PID: "ticks:jit" of the broker since those two readings
    echo "$(($(ticks "$3") - $1)):$(($(jit_ticks "$3") - $2))"
}
each_ticks() { # each_ticks PID...: each process's user + system ticks, comma-separated
    local p s=
    for p in "$@"; do s+=${s:+,}$(ticks "$p"); done
    echo "$s"
}
each_since() { # each_since BASE PID...: each process's ticks less its entry in BASE (each_ticks's
    # output for the same PIDs), comma-separated
    local -a base
    local i=0 p s=
    IFS=, read -ra base <<<"$1"
    shift
    for p in "$@"; do
        s+=${s:+,}$(($(ticks "$p") - base[i]))
        i=$((i + 1))
    done
    echo "$s"
}
child_ticks() { # user + system ticks of the children this shell has waited for (the
    # builtin runs in this shell, not in a subshell, whose children would be its own)
    times >"$OUT/times.txt"
    awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/)
        printf "%d\n", ((u[1] * 60 + u[2]) + (s[1] * 60 + s[2])) * 100 + 0.5 }' "$OUT/times.txt"
}
stop_classify() {
    kill -TERM "${CPIDS[@]}"
    wait "${CPIDS[@]}" || true
    CPIDS=() PORTS=()
}
check_counters() { # check_counters PHASE PREFIX: every counter under Redis prefix PREFIX against
    # the simulator's truth (a phase's figures count only if its result is exact), then Redis's
    # memory per dossier state; sets VERIFIED, DOSSIERS, USED, SAMPLE, STRLEN
    local states="$2:{*}:d:*"
    log "$1: checking every counter against the ground truth"
    "$VERIFY" "${COMMON[@]}" "${REDIS[@]}" --redis.prefix "$2" --truth "$OUT/truth.json" \
        --check counters >"$OUT/verify-$2.out" 2>&1 ||
        { tail -5 "$OUT/verify-$2.out" >&2; echo "bench: counters differ from the truth" >&2; exit 1; }
    VERIFIED=$(awk '/^counters:/ { print $2 }' "$OUT/verify-$2.out")
    DOSSIERS=$(R eval "return #redis.call('keys', ARGV[1])" 0 "$states")
    USED=$(R info memory | awk -F: '/^used_memory:/ { print $2+0 }')
    SAMPLE=$(R eval "local ks = redis.call('scan', 0, 'match', ARGV[1], 'count', 5000)[2]; local t, n = 0, 0; for _, k in ipairs(ks) do t = t + redis.call('memory', 'usage', k); n = n + 1 end; return tostring(t / n)" 0 "$states")
    STRLEN=$(R eval "local ks = redis.call('scan', 0, 'match', ARGV[1], 'count', 5000)[2]; local t, n = 0, 0; for _, k in ipairs(ks) do t = t + redis.call('strlen', k); n = n + 1 end; return tostring(t / n)" 0 "$states")
}
commandstats() { # commandstats RECORDS: Redis's time per record by command since the last
    # CONFIG RESETSTAT, the largest first (a script's commands count in EVALSHA/EVAL too)
    R info commandstats >"$OUT/commandstats.txt"
    python3 - "$1" "$OUT/commandstats.txt" <<'PY2'
import re, sys
rec = int(sys.argv[1])
rows = []
for line in open(sys.argv[2]):
    m = re.match(r"cmdstat_([^:]+):calls=(\d+),usec=(\d+)", line)
    if m:
        rows.append((int(m.group(3)), m.group(1), int(m.group(2))))
rows.sort(reverse=True)
inner = ", ".join(f"{n} {u / rec:.2f} ({c / rec:.3f}/rec)" for u, n, c in rows[:9])
print(f"  Redis µs/record by command       {inner}")
print("    (calls per record in brackets; commands a script runs count in its EVALSHA/EVAL too)")
PY2
}
aof_rewrites() { R info persistence | awk -F: '/^aof_rewrites:/ { print $2+0 }'; }
report() { # report KEY=VALUE...: the figures of the keys given, one layout for every mode.
    # CPU keys hold "C1,C2,... REDIS BROKER[:JIT] SNAPSHOT [SIMULATOR]" ticks (Ci: classify
    # instance i; JIT: the broker's compiler threads, a part of BROKER);
    # rss holds "KiB:label,KiB:label..."
    python3 - "$@" <<'PY'
import sys
a = dict(x.split("=", 1) for x in sys.argv[1:])
rec = int(a["records"])
instances = a["instances"]
print(f"chiso benchmark{', drain mode' if 'drain' in a else ''} (2-core machine, real Kafka KRaft + Redis, all on this host)")
print(f"  records                         {rec:>12,}")
if "t1" in a:
    t0, t1 = float(a["t0"]), float(a["t1"])
    print(f"  end to end events/s             {rec / (t1 - t0):>12,.0f}   (produce+classify+Redis, {t1 - t0:.1f} s, {instances} classify instance(s))")
if "drain" in a:
    t2, t3 = map(float, a["drain"].split())
    print(f"  drain records/s                 {rec / (t3 - t2):>12,.0f}   (classify+snapshot+Redis on the pre-loaded topic, {t3 - t2:.1f} s, {instances} classify instance(s))")
print(f"  counters checked exact          {int(a['verified']):>12,}   (chiso-verify against the simulator's truth)")
if "tsim" in a:
    print(f"  simulator produce events/s      {rec / (float(a['tsim']) - t0):>12,.0f}")
if "backlog" in a:
    t2, t3 = map(float, a["backlog"].split())
    print(f"  classify backlog events/s       {rec / (t3 - t2):>12,.0f}   (the same backlog, new group, fresh namespace)")
if "p50" in a:
    print(f"  latency at {a['rate']} ev/s ({a['r3']} records): p50 {a['p50']} ms, p99 {a['p99']} ms (produce -> Redis applied, empty stack)")
    print(f"    Redis in that phase: {a['stalls']}")
dossiers, used, sample, strlen = int(a["dossiers"]), int(a["used"]), float(a["sample"]), float(a["strlen"])
print(f"  dossier states                  {dossiers:>12,}")
print(f"  Redis used_memory per dossier   {used / max(dossiers, 1):>12,.0f} B   (all keys: states + counters)")
print(f"  Redis MEMORY USAGE per state    {sample:>12,.0f} B   (encoded state {strlen:.0f} B)")
print(f"  Redis AOF rewrites during the run {a['aof']:>7}")
def cpu(label, ticks):
    f = ticks.split()
    us = lambda x: int(x) * 10000 / rec  # 100 ticks/s: µs per record
    each = [us(x) for x in f[0].split(",")]
    broker, _, jit = f[2].partition(":")
    t = [sum(each), us(f[1]), us(broker)] + [us(x) for x in f[3:]]
    parts = ["classify %.2f" % t[0], "Redis %.2f" % t[1], "broker %.2f" % t[2], "snapshot %.2f" % t[3]]
    if jit:
        parts[2] += " (its JIT compiler %.2f)" % us(jit)
    if len(each) > 1:
        parts[0] += " (%s)" % " + ".join("%.2f" % x for x in each)
    if len(t) > 4:
        parts.append("simulator %.2f" % t[4])
    print(f"  CPU µs/record, {label:<22}{sum(t):>6.2f}   ({', '.join(parts)})")
for key, label in (("cpu_e2e", "end to end"), ("cpu_backlog", "backlog"), ("cpu_drain", "drain")):
    if key in a:
        cpu(label, a[key])
rss = [x.split(":", 1) for x in a["rss"].split(",")]
print(f"  classify peak RSS               {int(rss[0][0]) / 1024:>12,.1f} MiB ({rss[0][1]})"
      + "".join(f", {int(k) / 1024:.1f} MiB ({l})" for k, l in rss[1:]))
PY
}
commit_quantiles() { # the first instance's transaction commits: how long they held its batch loop
    # (a tree without transactions has no such histogram)
    echo "p50 $(quantile "${PORTS[0]}" chiso_classify_transaction_commit_seconds 0.50 2>/dev/null || true) ms, p99 $(quantile "${PORTS[0]}" chiso_classify_transaction_commit_seconds 0.99 2>/dev/null || true) ms"
}

redis_wait_share() { # the instances' rounds waiting for Redis's replies, in all, as a share of
    # their batches' time (a tree without the histogram prints "?")
    local port w b wait=0 batch=0
    for port in "${PORTS[@]}"; do
        w=$(metric "$port" chiso_classify_redis_wait_seconds_sum)
        b=$(metric "$port" chiso_classify_batch_seconds_sum)
        [ -n "$w" ] && [ -n "$b" ] || { echo "?"; return; }
        wait=$(awk -v a="$wait" -v x="$w" 'BEGIN { print a + x }')
        batch=$(awk -v a="$batch" -v x="$b" 'BEGIN { print a + x }')
    done
    awk -v w="$wait" -v b="$batch" 'BEGIN {
        if (b > 0) printf "%.0f%% of their batches'"'"' %.1f s", 100 * w / b, b; else print "?" }'
}

refill_wakes() { # each instance's wakes of its fetchers (refill.h), comma-separated ("?" in a
    # tree without them)
    local port out=""
    for port in "${PORTS[@]}"; do out="$out${out:+,}$(metric "$port" chiso_classify_refill_wakes_total)"; done
    [[ "$out" =~ ^[0-9,]+$ ]] && echo "$out" || echo "?"
}

drain_backlog() { # drain_backlog NAME: INSTANCES new classify instances (group and Redis prefix
    # NAME, logs classify-NAME-i.log) drain the RECORDS already on the topic; sets T_END, and
    # CPU_EACH, RSS and COMMIT of the instances (their ticks from their start: their start-up is
    # part of the phase), then stops them
    local i
    for i in $(seq "$INSTANCES"); do
        start_classify "$OUT/classify-$1-$i.log" "${COMMON[@]}" --redis.port "$CHISO_REDIS_PORT" \
            --redis.prefix "$1" --group.id "$1"
    done
    wait_started
    if [ "$THREADS" = 1 ]; then # the kernel's accounting from here to the last commit
        local roles=() pid
        for pid in "${CPIDS[@]}"; do roles+=("classify=$pid"); done
        roles+=("redis=$REDIS_PID" "broker=$KAFKA_PID" "snapshot=$SNAP_PID")
        python3 bench/threads.py "${roles[@]}" >"$OUT/threads.txt" 2>&1 &
        THREADS_PID=$!
    fi
    wait_committed "$RECORDS" "${PORTS[@]}"
    [ "$THREADS" = 0 ] || kill -TERM "$THREADS_PID" 2>/dev/null || true
    T_END=$(date +%s.%N)
    CPU_EACH=$(each_ticks "${CPIDS[@]}")
    RSS=$(peak_rss)
    FAULTS=$(each_faults "${CPIDS[@]}")
    COMMIT=$(commit_quantiles)
    REDIS_WAIT=$(redis_wait_share)
    WAKES=$(refill_wakes)
    stop_classify
}

# ---- --drain: classify (and snapshot) alone on a pre-loaded topic ----
if [ "$DRAIN" = 1 ]; then
    log "drain: loading the topic, $DAYS days x $PER_DAY dossiers/day, the simulator alone"
    "$SIM" "${COMMON[@]}" --seed 1 --start 2025-07-01 --days "$DAYS" --dossiers-per-day "$PER_DAY" \
        --self-check false --truth "$OUT/truth.json" 2>"$OUT/simulate.log"
    RECORDS=$(records "$OUT/truth.json")
    log "drain: $INSTANCES classify instance(s) and snapshot drain the $RECORDS records (group drain, Redis prefix drain)"
    REDIS_PID=$(cat "$STACK/redis/redis.pid") KAFKA_PID=$(cat "$STACK/kafka/kafka.pid")
    R config resetstat >/dev/null
    R_0=$(ticks "$REDIS_PID") K_0=$(ticks "$KAFKA_PID") J_0=$(jit_ticks "$KAFKA_PID")
    T2=$(date +%s.%N)
    "$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --redis.prefix drain --metrics.port 0 >"$OUT/snapshot-drain.log" 2>&1 &
    SNAP_PID=$!
    PIDS+=($!)
    drain_backlog drain
    T3=$T_END
    # snapshot's ticks from its start too
    CPU="$CPU_EACH $(($(ticks "$REDIS_PID") - R_0)) $(broker_since "$K_0" "$J_0" "$KAFKA_PID") $(ticks "$SNAP_PID")"
    COMMANDS=$(commandstats "$RECORDS")
    check_counters drain drain
    report records="$RECORDS" instances="$INSTANCES" drain="$T2 $T3" verified="$VERIFIED" \
        dossiers="$DOSSIERS" used="$USED" sample="$SAMPLE" strlen="$STRLEN" aof="$(aof_rewrites)" \
        cpu_drain="$CPU" rss="$RSS:drain"
    echo "  transaction commits while draining: $COMMIT (the first instance)"
    echo "  classify waiting for Redis's replies: $REDIS_WAIT (the instances, in all)"
    echo "  classify page faults: ${FAULTS//,/, } (each instance, from its start: its heap's growth)"
    echo "  classify refill wakes: ${WAKES//,/, } (each instance: its fetchers woken when its queue had halved)"
    echo "$COMMANDS"
    if [ "$THREADS" = 1 ]; then
        wait "$THREADS_PID" || true
        cat "$OUT/threads.txt"
    fi
    exit 0
fi

# ---- phase 0: latency under a steady rate, on the empty stack ----
# The broker is a JVM: its first minute of load runs in the interpreter
# while the JIT compiles, at two to three times the CPU per record of a warm
# broker (measured: 607 ticks cold, 139 warm, for the same 117,000 records).
# A warm-up at the same rate, on topics and a Redis namespace of its own,
# comes first, as a running deployment would be.
steady() { # steady NAME SEED SECONDS: one classify instance (ports in PORTS) on topics, group and
    # Redis prefix NAME, the simulator at RATE for about SECONDS; returns once every record is
    # committed, with their number in STEADY_RECORDS
    local name=$1
    start_classify "$OUT/classify-$name.log" "${COMMON[@]}" --redis.port "$CHISO_REDIS_PORT" \
        --redis.prefix "$name" --group.id "$name" --topic.prefix "$name."
    wait_started
    sleep 3 # let the group settle
    # about 5.85 events per dossier: enough days of 20,000 dossiers for RATE x SECONDS events
    "$SIM" "${COMMON[@]}" --topic.prefix "$name." --seed "$2" --start 2025-07-01 \
        --days "$(python3 -c "print(max(1, round($RATE * $3 / 5.85 / 20000)))")" \
        --dossiers-per-day 20000 --rate "$RATE" --self-check false -X kafka.linger.ms=1 \
        --truth "$OUT/truth-$name.json" 2>"$OUT/simulate-$name.log"
    STEADY_RECORDS=$(records "$OUT/truth-$name.json")
    wait_committed "$STEADY_RECORDS" "${PORTS[@]}"
}
if [ "$WARM_S" -gt 0 ]; then
    log "phase 0: warm-up, $RATE events/s for ${WARM_S}s on topics warm.*"
    steady warm 4 "$WARM_S"
    stop_classify
    R flushall >/dev/null
fi
log "phase 0: steady $RATE events/s for ${LAT_S}s, latency produce -> Redis applied"
# Redis's latency monitor records the phase's stalls of 10 ms or more (a
# command, an AOF write or fsync, a fork), so a run's p99 can be told apart
# from a Redis that stopped
R config set latency-monitor-threshold 10 >/dev/null
R latency reset >/dev/null
REWRITES0=$(aof_rewrites)
steady lat 2 "$LAT_S"
R3=$STEADY_RECORDS
P50=$(quantile "${PORTS[0]}" chiso_classify_latency_seconds 0.50)
P99=$(quantile "${PORTS[0]}" chiso_classify_latency_seconds 0.99)
# "N s with a stall, the longest M ms (event ...); K AOF rewrites"
STALLS=$(
    for ev in $(R latency latest | awk 'NR % 4 == 1'); do
        R latency history "$ev" | awk -v ev="$ev" 'NR % 2 == 0 { print ev, $1 }'
    done | awk -v rw="$(($(aof_rewrites) - REWRITES0))" '
        $2 > max { max = $2; which = $1 }
        END {
            if (NR) printf "%d s with a stall >= 10 ms, longest %d ms (%s)", NR, max, which
            else printf "no stall >= 10 ms"
            printf "; %d AOF rewrite(s)", rw
        }')
R config set latency-monitor-threshold 0 >/dev/null
if [ "$LAT_ONLY" = 1 ]; then
    # where the time goes: waiting (Kafka and the batch's filling) and whole batches
    for h in latency wait batch transaction_commit; do
        printf '  %-8s p50 %7s  p90 %7s  p99 %7s  p99.9 %7s ms\n' "$h" \
            "$(quantile "${PORTS[0]}" "chiso_classify_${h}_seconds" 0.50)" \
            "$(quantile "${PORTS[0]}" "chiso_classify_${h}_seconds" 0.90)" \
            "$(quantile "${PORTS[0]}" "chiso_classify_${h}_seconds" 0.99)" \
            "$(quantile "${PORTS[0]}" "chiso_classify_${h}_seconds" 0.999)"
    done
    echo "  Redis    $STALLS (latency monitor, during the phase)"
    echo "latency at $RATE ev/s ($R3 records): p50 $P50 ms, p99 $P99 ms (produce -> Redis applied)"
    exit 0
fi
stop_classify
# the phases below measure Redis memory per dossier: only theirs
R flushall >/dev/null


# ---- phase 1: end to end, producer and processor together ----
log "phase 1: $DAYS days x $PER_DAY dossiers/day, simulator and $INSTANCES classify instance(s) concurrently"
"$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --metrics.port 0 >"$OUT/snapshot.log" 2>&1 &
SNAP_PID=$!
PIDS+=($!)
for i in $(seq "$INSTANCES"); do
    start_classify "$OUT/classify1-$i.log" "${COMMON[@]}" "${REDIS[@]}"
done
wait_started
sleep 2 # every instance has its partitions
REDIS_PID=$(cat "$STACK/redis/redis.pid") KAFKA_PID=$(cat "$STACK/kafka/kafka.pid")
C1_0=$(each_ticks "${CPIDS[@]}") R1_0=$(ticks "$REDIS_PID") K1_0=$(ticks "$KAFKA_PID")
J1_0=$(jit_ticks "$KAFKA_PID")
S1_0=$(ticks "$SNAP_PID")
child_ticks >"$OUT/ticks.txt"
SIM_0=$(cat "$OUT/ticks.txt")
T0=$(date +%s.%N)
"$SIM" "${COMMON[@]}" --seed 1 --start 2025-07-01 --days "$DAYS" --dossiers-per-day "$PER_DAY" \
    --self-check false --truth "$OUT/truth.json" 2>"$OUT/simulate.log"
T_SIM=$(date +%s.%N)
child_ticks >"$OUT/ticks.txt"
SIM_T=$(($(cat "$OUT/ticks.txt") - SIM_0))
RECORDS=$(records "$OUT/truth.json")
wait_committed "$RECORDS" "${PORTS[@]}"
T1=$(date +%s.%N)
CPU1="$(each_since "$C1_0" "${CPIDS[@]}") $(($(ticks "$REDIS_PID") - R1_0)) $(broker_since "$K1_0" "$J1_0" "$KAFKA_PID") $(($(ticks "$SNAP_PID") - S1_0)) $SIM_T"
RSS1=$(peak_rss)
stop_classify
# the figure counts only if the result is exact: every counter of the run
# against the simulator's ground truth (chiso, the default Redis prefix)
check_counters "phase 1" chiso

# ---- phase 2: classify alone on a backlog ----
log "phase 2: $INSTANCES classify instance(s) alone drain the $RECORDS-record backlog (new group, fresh Redis namespace)"
R2_0=$(ticks "$REDIS_PID") K2_0=$(ticks "$KAFKA_PID") S2_0=$(ticks "$SNAP_PID")
J2_0=$(jit_ticks "$KAFKA_PID")
T2=$(date +%s.%N)
drain_backlog bench2
T3=$T_END RSS2=$RSS COMMIT2=$COMMIT REDIS_WAIT2=$REDIS_WAIT
CPU2="$CPU_EACH $(($(ticks "$REDIS_PID") - R2_0)) $(broker_since "$K2_0" "$J2_0" "$KAFKA_PID") $(($(ticks "$SNAP_PID") - S2_0))"

report records="$RECORDS" instances="$INSTANCES" t0="$T0" tsim="$T_SIM" t1="$T1" backlog="$T2 $T3" \
    verified="$VERIFIED" rate="$RATE" r3="$R3" p50="$P50" p99="$P99" stalls="$STALLS" \
    dossiers="$DOSSIERS" used="$USED" sample="$SAMPLE" strlen="$STRLEN" aof="$(aof_rewrites)" \
    cpu_e2e="$CPU1" cpu_backlog="$CPU2" rss="$RSS1:phase 1,$RSS2:phase 2"
echo "  transaction commits while draining: $COMMIT2 (the first instance)"
echo "  classify waiting for Redis's replies while draining: $REDIS_WAIT2 (the instances, in all)"
