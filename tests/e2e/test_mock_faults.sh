#!/usr/bin/env bash
# Exact after the faults only a mock broker can make on demand. Kafka here is
# librdkafka's mock cluster (tests/tools/chiso-mockcluster: three brokers, in
# a process driven on stdin); Redis is the stack's real one. While the
# simulator streams a small province (~1,250 records: the 2.0.2 mock serves
# a consumer group only ~1,000 records/s) at a slow steady rate,
# chiso-classify runs through, in turn:
#   - errors from the coordinator of its transactions and group while they
#     commit: TxnOffsetCommit (REQUEST_TIMED_OUT, COORDINATOR_NOT_AVAILABLE,
#     NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, a dropped connection),
#     EndTxn (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
#     CONCURRENT_TRANSACTIONS), AddPartitionsToTxn (COORDINATOR_NOT_AVAILABLE,
#     CONCURRENT_TRANSACTIONS);
#   - that coordinator down while transactions commit, then up again; then
#     the group moved to another broker (the old one answers NOT_COORDINATOR),
#   - Produce errors from the leader of its outputs (deadletter,
#     dossier.classified): NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT,
#     NOT_LEADER_FOR_PARTITION, a dropped connection, each answer delayed
#     300 ms;
#   - a TxnOffsetCommit refused with GROUP_AUTHORIZATION_FAILED, which only
#     an abort cures: classify aborts the transaction and consumes again
#     from its last commit (a non-retriable Produce error would do the same
#     on a real broker; librdkafka 2.0.2 against its mock turns one into a
#     fatal sequence error instead, on which classify stops for its
#     supervisor to restart it),
#   - that leader down while batches wait for their deliveries, then up,
#   - Fetch errors from the dossier.events leader (NOT_LEADER_FOR_PARTITION,
#     UNKNOWN_LEADER_EPOCH, a dropped connection),
#   - a SIGKILL mid-run, and a restart,
#   - one Fetch OFFSET_OUT_OF_RANGE, which resets the consumer to the
#     earliest offsets: a replay of everything so far, which the offset
#     fence must skip (checked on chiso_classify_replayed_total).
# Every injected error is checked to have been served (the broker's error
# stack drains). At the end classify must have read every partition to its
# end, and every counter, every dead letter and every score snapshot (from
# chiso-snapshot, run against the mock after classify) must equal the
# truth. Dead letters and class changes are exactly once on a real broker
# (test_exactly_once.sh), not against this mock: it keeps no offsets
# committed in transactions, so a restarted member reads from the beginning
# and cannot tell what was committed; dead letters are checked at least
# once here.
# What the mock cannot do is listed in docs/testing.md, "Fault injection".
. "$(dirname "$0")/lib.sh"

MOCK=$(e2e_bin chiso-mockcluster)
SIM=$(e2e_bin chiso-simulate)
CLASSIFY=$(e2e_bin chiso-classify)
SNAPSHOT=$(e2e_bin chiso-snapshot)
VERIFY=$(e2e_bin chiso-verify)
P=$(e2e_prefix)
GROUP="${P}classify"
SEED=${E2E_SEED:-$((RANDOM % 1000 + 1))}
e2e_log "seed $SEED (rerun with E2E_SEED=$SEED)"

# Broker roles, made explicit so each fault hits what it is meant to:
# 1 coordinates the group and leads the topics only the simulator writes
# besides dossier.events (feedback.events, the catalog) and the sinks'
# topics; 2 leads dossier.events and nothing else; 3 leads classify's
# outputs (deadletter, dossier.classified) and nothing else. A Produce error
# stacked on 3 is served to classify: the simulator, which also produces,
# never receives one (a non-retriable one would fail its delivery).
COORD=1 EVENTS_LEADER=2 OUTPUTS_LEADER=3
PARTITIONS=4

coproc MOCKC { exec "$MOCK" --topic.prefix "$P" --topic.partitions "$PARTITIONS" --log.level info \
    2>"$E2E_TMP/mockcluster.log"; }
E2E_PIDS+=("$MOCKC_PID")
E2E_LOGS+=("$E2E_TMP/mockcluster.log")
MOCK_IN=${MOCKC[1]} MOCK_OUT=${MOCKC[0]}
read -r -t 20 BROKERS <&"$MOCK_OUT" || e2e_fail "chiso-mockcluster did not start"
e2e_log "mock cluster at $BROKERS (pid $MOCKC_PID)"

# mock CMD...: one command to the mock cluster; prints its answer after "ok".
mock() {
    local reply
    printf '%s\n' "$*" >&"$MOCK_IN"
    read -r -t 20 reply <&"$MOCK_OUT" || e2e_fail "mock cluster: no answer to: $*"
    case $reply in
    ok*) printf '%s\n' "${reply#ok}" | sed 's/^ //' ;;
    *) e2e_fail "mock cluster: $* -> $reply" ;;
    esac
}

# inject BROKER APIKEY RTT_MS ERR...: stack one error per ERR on BROKER's next
# APIKEY requests, each answer delayed by RTT_MS, and wait until all were
# served (so the fault really reached a client).
inject() {
    local broker=$1 api=$2 rtt=$3 err
    shift 3
    for err in "$@"; do
        mock broker-errors "$broker" "$api" 1 "$err" "$rtt" >/dev/null
    done
    e2e_log "injected on broker $broker, $api: $*"
    e2e_wait_for "[ \"\$(mock error-count $broker $api)\" = 0 ]" 90 0.2
    e2e_log "served on broker $broker, $api: $*"
}

# down BROKER SECONDS WHAT: the broker refuses connections for a while.
down() {
    mock broker-down "$1" >/dev/null
    e2e_log "broker $1 ($3) down for $2 s"
    sleep "$2"
    mock broker-up "$1" >/dev/null
    e2e_log "broker $1 up"
}

TXN_ID="${P}classify-0"
mock coordinator "$GROUP" "$COORD" >/dev/null
mock txn-coordinator "$TXN_ID" "$COORD" >/dev/null
for topic in dossier.events catalog.procedures catalog.units feedback.events dossier.classified \
    scores alerts deadletter; do
    case $topic in
    dossier.events) leader=$EVENTS_LEADER ;;
    deadletter | dossier.classified) leader=$OUTPUTS_LEADER ;;
    *) leader=$COORD ;;
    esac
    for ((p = 0; p < PARTITIONS; p++)); do
        mock leader "$topic" "$p" "$leader" >/dev/null
    done
done

COMMON=(--brokers "$BROKERS" --topic.prefix "$P")
REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso")
METRICS=$(e2e_free_port)
start_classify() {
    # small batches, a commit every 100 ms: many commits and deliveries
    # for the faults to hit
    e2e_bg "classify$1" "$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" --group.id "$GROUP" \
        --transactional.id "$TXN_ID" --metrics.port "$METRICS" --batch.max 20 \
        --commit.interval.ms 100
    CLASSIFY_PID=$E2E_LAST_PID
    # the instance has partitions: batches flow
    e2e_wait_for "grep -q 'assigned [1-9]' '$E2E_TMP/classify$1.log'" 60 0.2
    e2e_log "classify$1 has its partitions"
}
# metric NAME: the running classify's value of metric NAME.
metric() {
    python3 - "$METRICS" "$1" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
print(next((l.split()[-1] for l in body.splitlines() if l.startswith(sys.argv[2] + " ")), "0").split(".")[0])
PY
}

# About 1,250 records at 20 records/s: the stream lasts ~60 s, so every fault
# below lands while records flow.
e2e_bg simulate "$SIM" "${COMMON[@]}" --seed "$SEED" --start 2025-09-29 --days 2 \
    --dossiers-per-day 100 --duplicates 0.05 --reorder 0.1 --malformed 0.01 --rate 20 \
    --truth "$E2E_TMP/truth.json" --malformed-out "$E2E_TMP/malformed.b64"
SIM_PID=$E2E_LAST_PID
start_classify 0
sleep 2

inject "$COORD" TxnOffsetCommit 0 REQUEST_TIMED_OUT COORDINATOR_NOT_AVAILABLE NOT_COORDINATOR \
    _TRANSPORT COORDINATOR_LOAD_IN_PROGRESS
inject "$COORD" EndTxn 0 NOT_COORDINATOR COORDINATOR_NOT_AVAILABLE CONCURRENT_TRANSACTIONS
inject "$COORD" AddPartitionsToTxn 0 COORDINATOR_NOT_AVAILABLE CONCURRENT_TRANSACTIONS
down "$COORD" 4 "group and transaction coordinator, during commits"
inject "$COORD" TxnOffsetCommit 0 NOT_COORDINATOR REQUEST_TIMED_OUT
# the group moves to another coordinator: the old one answers NOT_COORDINATOR
# (unless the client looked the coordinator up again meanwhile, after the
# errors above); an error served by the new one shows the commits followed
mock coordinator "$GROUP" "$EVENTS_LEADER" >/dev/null
mock broker-errors "$COORD" TxnOffsetCommit 1 NOT_COORDINATOR >/dev/null
e2e_log "group moved to broker $EVENTS_LEADER"
inject "$EVENTS_LEADER" TxnOffsetCommit 0 REQUEST_TIMED_OUT
inject "$OUTPUTS_LEADER" Produce 300 NOT_ENOUGH_REPLICAS REQUEST_TIMED_OUT \
    NOT_LEADER_FOR_PARTITION _TRANSPORT NOT_ENOUGH_REPLICAS
# a refusal that only an abort cures: classify aborts the transaction and
# consumes again from its last commit
inject "$EVENTS_LEADER" TxnOffsetCommit 0 GROUP_AUTHORIZATION_FAILED
e2e_wait_for "[ \$(metric chiso_classify_transactions_aborted_total) -ge 1 ]" 30 0.2
down "$OUTPUTS_LEADER" 4 "leader of the outputs, during deliveries"
inject "$EVENTS_LEADER" Fetch 100 NOT_LEADER_FOR_PARTITION UNKNOWN_LEADER_EPOCH _TRANSPORT \
    NOT_LEADER_FOR_PARTITION

kill -KILL "$CLASSIFY_PID"
wait "$CLASSIFY_PID" 2>/dev/null || true
e2e_log "killed chiso-classify (SIGKILL)"
sleep 1
# the new member gets the partitions once the dead one's session (10 s) ended
start_classify 1
sleep 2

# OFFSET_OUT_OF_RANGE resets the consumer to the earliest offset: a replay
# of everything before, which the offset fence must skip
replayed=$(metric chiso_classify_replayed_total)
inject "$EVENTS_LEADER" Fetch 0 OFFSET_OUT_OF_RANGE
e2e_wait_for "[ \$(metric chiso_classify_replayed_total) -gt $((replayed + 50)) ]" 60 0.5
e2e_log "replayed from the earliest offsets: $replayed -> $(metric chiso_classify_replayed_total) records fenced"
kill -0 "$SIM_PID" || e2e_log "WARNING: the stream ended before the last fault; raise its length"
e2e_wait_for "! kill -0 $SIM_PID" 240 1
wait "$SIM_PID" || e2e_fail "the simulator failed"
RECORDS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$E2E_TMP/truth.json")
e2e_log "simulator done: $RECORDS records"
kill -0 "$CLASSIFY_PID" || e2e_fail "chiso-classify died"

# the 2.0.2 mock keeps no offsets committed in transactions (TxnOffsetCommit
# succeeds and stores nothing), so the group's committed offsets cannot
# tell the end here: classify has read everything when its lag is 0, and
# SIGTERM commits its last transaction
e2e_wait_for "[ \"\$(metric chiso_classify_lag)\" = 0 ]" 180 0.5
sleep 1
e2e_log "transactions: $(metric chiso_classify_transactions_total) committed, $(metric chiso_classify_transactions_aborted_total) aborted by the last instance"
e2e_stop "$CLASSIFY_PID" 30 || e2e_fail "chiso-classify did not exit cleanly on SIGTERM"

# scores: one snapshot sweep of everything classify marked dirty
"$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --metrics.port 0 --once >"$E2E_TMP/snapshot.log" 2>&1 ||
    e2e_fail "chiso-snapshot --once failed: $(tail -n 5 "$E2E_TMP/snapshot.log")"

"$VERIFY" "${COMMON[@]}" "${REDIS[@]}" --truth "$E2E_TMP/truth.json" \
    --malformed "$E2E_TMP/malformed.b64" --deadletter.at-least-once | tee "$E2E_TMP/verify.out" >&2
grep -q '^verify: OK' "$E2E_TMP/verify.out" || e2e_fail "counts differ from the ground truth after the faults"
mock quit >/dev/null
e2e_pass
