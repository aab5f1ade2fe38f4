#!/usr/bin/env bash
# bench/soak.sh: a long run through every fault the servers document, on a
# real Kafka and a real Redis, exact at the end. Outside CI (it lasts
# several minutes); its figures are in docs/benchmarks.md ("Soak").
#
# The simulator streams at least a million records (5% duplicates, 10%
# reordering, 1% malformed, feedback events) at a steady rate through
# chiso-classify, chiso-feedback and chiso-snapshot, while, one every
# --every seconds, in a shuffled order:
#   - chiso-classify is killed with SIGKILL (5 times) and started again,
#   - chiso-feedback likewise (2), chiso-snapshot likewise (2),
#   - Redis loses power (2): its append-only files are copied, the stages
#     go on for a few seconds, Redis is killed and started from the copy,
#   - the Kafka broker is killed with SIGKILL and started again (2).
# At the end every counter (dossiers and feedback), dead letter (exactly
# once), class change (one chain per dossier, read_committed), snapshot
# (topic and Redis) and alert must equal the ground truth. It prints the
# records, the faults of each kind, the rewinds detected and the offsets
# replayed, and the mismatches.
#
#   bench/soak.sh [--days N] [--per-day N] [--rate R] [--every S] [--seed S]
#                 [--build-dir DIR] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."

DAYS=15 PER_DAY=10000 RATE=5000 EVERY=12 SEED=766 BUILD=build KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
    --days) DAYS=$2; shift 2 ;;
    --per-day) PER_DAY=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --every) EVERY=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "soak.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

DIR=$PWD/.run/soak
STACK=(bash deploy/local/stack.sh --dir "$DIR/stack")
log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
bin() { find "$BUILD" -type f -perm -u+x -name "$1" -not -path '*/CMakeFiles/*' | head -n 1; }
SIM=$(bin chiso-simulate) CLASSIFY=$(bin chiso-classify) FEEDBACK=$(bin chiso-feedback)
SNAPSHOT=$(bin chiso-snapshot) ALERTS=$(bin chiso-alerts) VERIFY=$(bin chiso-verify)
[ -n "$SIM" ] && [ -n "$VERIFY" ] || die "programs not built in $BUILD (run ./test.sh first)"

rm -rf "$DIR/run"
mkdir -p "$DIR/run"
"${STACK[@]}" start --fresh >/dev/null
. "$DIR/stack/stack.env"
cleanup() {
    local rc=$?
    for p in $(jobs -p); do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ "$KEEP" = 1 ] || "${STACK[@]}" stop >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT

P="soak$SEED."
COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "$P")
REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CL_PORT=$(free_port) FB_PORT=$(free_port) SN_PORT=$(free_port)
declare -A PID
start() { # start NAME: (re)start a stage, its log appended
    case $1 in
    classify) "$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}classify" \
        --transactional.id "${P}classify-0" --metrics.port "$CL_PORT" \
        >>"$DIR/run/classify.log" 2>&1 & ;;
    feedback) "$FEEDBACK" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}feedback" \
        --transactional.id "${P}feedback-0" --metrics.port "$FB_PORT" \
        >>"$DIR/run/feedback.log" 2>&1 & ;;
    snapshot) "$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --interval.ms 1000 \
        --metrics.port "$SN_PORT" >>"$DIR/run/snapshot.log" 2>&1 & ;;
    esac
    PID[$1]=$!
}
metric() { curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
declare -A REWINDS REPLAYED WARNS
# the rewind counts of a stage before it is killed (its metrics die with it)
bank() {
    REWINDS[$1]=$((${REWINDS[$1]:-0} + $(metric "$2" "chiso_$1_redis_rewinds_total" || echo 0)))
    REPLAYED[$1]=$((${REPLAYED[$1]:-0} + $(metric "$2" "chiso_$1_replayed_records_total" || echo 0)))
}

log "stack up: $CHISO_BROKERS, Redis $CHISO_REDIS_PORT; streaming $DAYS days of $PER_DAY dossiers at $RATE/s"
"$SIM" "${COMMON[@]}" --seed "$SEED" --start 2025-06-02 --days "$DAYS" --dossiers-per-day "$PER_DAY" \
    --duplicates 0.05 --reorder 0.10 --malformed 0.01 --feedback-rate 20 --rate "$RATE" \
    --truth "$DIR/run/truth.json" --malformed-out "$DIR/run/malformed.b64" \
    >"$DIR/run/simulate.log" 2>&1 &
SIM_PID=$!
start snapshot
start classify
start feedback

# supervise: what systemd's Restart= does: a stage that stopped on its own
# (a broker away longer than the transaction timeout fences its producer,
# fatally) is started again, and counted
declare -A RESTARTS
supervise() {
    local s st
    for s in classify feedback snapshot; do
        kill -0 "${PID[$s]}" 2>/dev/null && continue
        st=0
        wait "${PID[$s]}" || st=$?
        log "chiso-$s stopped on its own (status $st): started again"
        RESTARTS[$s]=$((${RESTARTS[$s]:-0} + 1))
        start "$s"
    done
}

FAULTS=(classify classify classify classify classify feedback feedback snapshot snapshot
    power power broker broker)
mapfile -t FAULTS < <(printf '%s\n' "${FAULTS[@]}" | python3 -c "
import random, sys; r = random.Random($SEED); f = sys.stdin.read().split(); r.shuffle(f); print('\n'.join(f))")
declare -A DONE
n=0
for f in "${FAULTS[@]}"; do
    for _ in $(seq 1 "$EVERY"); do
        sleep 1
        supervise
    done
    kill -0 "$SIM_PID" 2>/dev/null || log "WARNING: the stream ended before fault $n; lengthen it"
    n=$((n + 1))
    case $f in
    classify | feedback | snapshot)
        case $f in classify) bank classify "$CL_PORT" ;; feedback) bank feedback "$FB_PORT" ;; esac
        supervise
        kill -KILL "${PID[$f]}"
        wait "${PID[$f]}" 2>/dev/null || true
        sleep 1
        start "$f"
        ;;
    power)
        "${STACK[@]}" redis-aof-copy "$DIR/run/aof$n" 2>/dev/null
        sleep 3
        "${STACK[@]}" redis-power-loss "$DIR/run/aof$n" >/dev/null 2>&1
        ;;
    broker) "${STACK[@]}" kill-kafka >/dev/null 2>&1 ;;
    esac
    DONE[$f]=$((${DONE[$f]:-0} + 1))
    log "fault $n/${#FAULTS[@]}: $f"
done

while kill -0 "$SIM_PID" 2>/dev/null; do
    sleep 1
    supervise
done
wait "$SIM_PID" || die "the simulator failed: $(tail -3 "$DIR/run/simulate.log")"
for _ in $(seq 1 20); do
    sleep 1
    supervise
done
RECORDS=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); print(t["records"] + t.get("feedback_records", 0))' "$DIR/run/truth.json")
log "stream done: $RECORDS records"
"$VERIFY" "${COMMON[@]}" --check committed --group "${P}classify" --timeout.s 900 >"$DIR/run/committed.out" ||
    die "classify did not finish: $(cat "$DIR/run/committed.out")"
"$VERIFY" "${COMMON[@]}" --check committed --group "${P}feedback" --committed.topic feedback.events \
    --timeout.s 300 >>"$DIR/run/committed.out" || die "feedback did not finish"
bank classify "$CL_PORT"
bank feedback "$FB_PORT"
kill -TERM "${PID[classify]}" "${PID[feedback]}"
wait "${PID[classify]}" "${PID[feedback]}" || die "a processor did not stop cleanly"
for _ in $(seq 1 120); do
    [ "$(redis-cli -p "$CHISO_REDIS_PORT" scard "${P}chiso:dirty")" = 0 ] && break
    sleep 1
done
sleep 3
SNAP_REWINDS=$(metric "$SN_PORT" chiso_snapshot_redis_rewinds_total || echo 0)
kill -TERM "${PID[snapshot]}"
wait "${PID[snapshot]}" || die "chiso-snapshot did not stop cleanly"
"$ALERTS" "${COMMON[@]}" "${REDIS[@]}" --time.source wall --once --metrics.port 0 \
    2>"$DIR/run/alerts.log" || die "chiso-alerts failed"

"$VERIFY" "${COMMON[@]}" "${REDIS[@]}" --truth "$DIR/run/truth.json" \
    --check counters,feedback,deadletter,scores,alerts,classified --alerts.now wall \
    --malformed "$DIR/run/malformed.b64" | tee "$DIR/run/verify.out" >&2 || true
MISMATCHES=$(sed -n 's/^verify: [A-Z]* (\([0-9]*\) mismatches)$/\1/p' "$DIR/run/verify.out")
# the rewinds each stage logged (a killed instance's metrics die with it)
for s in classify feedback snapshot; do
    WARNS[$s]=$(grep -c 'Redis holds less than it acknowledged' "$DIR/run/$s.log" || true)
done
cat <<EOF
soak: seed $SEED, $RECORDS records ($DAYS days x $PER_DAY dossiers, feedback included)
soak: faults: classify kill -9 ${DONE[classify]:-0}, feedback kill -9 ${DONE[feedback]:-0}, snapshot kill -9 ${DONE[snapshot]:-0}, Redis power loss ${DONE[power]:-0}, broker kill -9 ${DONE[broker]:-0}
soak: rewinds detected (metrics): classify ${REWINDS[classify]:-0} (${REPLAYED[classify]:-0} offsets replayed), feedback ${REWINDS[feedback]:-0} (${REPLAYED[feedback]:-0}), snapshot (last instance) $SNAP_REWINDS
soak: stages restarted after stopping on their own: classify ${RESTARTS[classify]:-0}, feedback ${RESTARTS[feedback]:-0}, snapshot ${RESTARTS[snapshot]:-0}
soak: rewind WARN lines logged: classify ${WARNS[classify]}, feedback ${WARNS[feedback]}, snapshot ${WARNS[snapshot]}
soak: mismatches: ${MISMATCHES:-?}
EOF
grep -q '^verify: OK' "$DIR/run/verify.out" || die "the soak ended with mismatches (logs in $DIR/run)"
