#!/usr/bin/env bash
# Outputs exactly once, on a real Kafka and a real Redis (docs/contract.md).
# While the simulator streams a province (duplicates, reordering, malformed
# records), chiso-classify is killed with SIGKILL at 20 random points and
# started again each time. Read as a read_committed consumer reads them:
#   - dossier.classified holds, for every dossier, one chain of class
#     changes (the first from null, each from the one before it, none told
#     twice, none skipped) ending at the class its state in Redis has;
#   - deadletter holds every malformed record exactly once, and nothing
#     else;
# every counter equals the ground truth, and so does every snapshot
# chiso-snapshot published meanwhile (a kill between a batch's apply calls
# and the dirty marks queued behind them must not leave a changed period
# unpublished: the replay marks it again).
. "$(dirname "$0")/lib.sh"

SIM=$(e2e_bin chiso-simulate)
CLASSIFY=$(e2e_bin chiso-classify)
SNAPSHOT=$(e2e_bin chiso-snapshot)
VERIFY=$(e2e_bin chiso-verify)
P=$(e2e_prefix)
COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "$P")
REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso")
SEED=${E2E_SEED:-$((RANDOM % 1000 + 1))}
RANDOM=$SEED
KILLS=${E2E_KILLS:-20}
e2e_log "seed $SEED (rerun with E2E_SEED=$SEED), $KILLS kills"

METRICS=$(e2e_free_port)
start_classify() {
    # the same transactional id every time, as a restarted service has:
    # the restart aborts what the killed process left open
    e2e_bg "classify$1" "$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}classify" \
        --transactional.id "${P}classify-0" --metrics.port "$METRICS" --batch.max 300
    CLASSIFY_PID=$E2E_LAST_PID
}

# about 45 s: 3 days of 1,000 dossiers at 450 records/s
e2e_bg simulate "$SIM" "${COMMON[@]}" --seed "$SEED" --start 2025-09-29 --days 3 \
    --dossiers-per-day 1000 --duplicates 0.05 --reorder 0.10 --malformed 0.01 --rate 450 \
    --truth "$E2E_TMP/truth.json" --malformed-out "$E2E_TMP/malformed.b64"
SIM_PID=$E2E_LAST_PID
e2e_bg snapshot "$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --interval.ms 500 --metrics.port 0
SNAP_PID=$E2E_LAST_PID
start_classify 0
for i in $(seq 1 "$KILLS"); do
    e2e_pause 0.8 2.5
    kill -KILL "$CLASSIFY_PID"
    wait "$CLASSIFY_PID" 2>/dev/null || true
    start_classify "$i"
done
e2e_log "killed chiso-classify (SIGKILL) $KILLS times"

e2e_wait_for "! kill -0 $SIM_PID" 240 1
wait "$SIM_PID" || e2e_fail "the simulator failed"
"$VERIFY" "${COMMON[@]}" --check committed --group "${P}classify" --timeout.s 180 |
    tee "$E2E_TMP/committed.out" >&2
grep -q '^verify: OK' "$E2E_TMP/committed.out" || e2e_fail "classify did not finish the stream"
e2e_log "transactions committed by the last instance: $(e2e_metric "$METRICS" chiso_classify_transactions_total)"
e2e_stop "$CLASSIFY_PID" 30 || e2e_fail "chiso-classify did not exit cleanly on SIGTERM"
e2e_wait_for "[ \"\$(e2e_redis scard ${P}chiso:dirty)\" = 0 ]" 60 0.5
sleep 2
e2e_stop "$SNAP_PID" 30 || e2e_fail "chiso-snapshot did not exit cleanly on SIGTERM"

"$VERIFY" "${COMMON[@]}" "${REDIS[@]}" --truth "$E2E_TMP/truth.json" \
    --check counters,deadletter,classified,scores --malformed "$E2E_TMP/malformed.b64" |
    tee "$E2E_TMP/verify.out" >&2
grep -q '^verify: OK' "$E2E_TMP/verify.out" || e2e_fail "outputs differ from the truth after $KILLS kills"
e2e_pass
