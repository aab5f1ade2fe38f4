#!/usr/bin/env bash
# The reference model against the real pipeline, end to end: for each of
# five seeds, chiso-model generates a randomized stream (late, duplicated
# and reordered events of every path; see tests/model/gen.h) and the
# reference model's ground truth; chiso-replay sends the procedure catalog
# to catalog.procedures (keyed by procedure) and the events to
# dossier.events; chiso-classify (which reads the catalog first) applies
# them to Redis. Once classify has committed every record, chiso-verify
# requires every counter in Redis (every unit, day, month, quarter, year,
# the service-level counters included) to equal the model's truth, and no
# other non-zero counter. Each seed has its own topics, consumer group and
# Redis prefix, and its own classify batch size (so the counters are built
# from one batch, or from thousands of small increments). Reproduce one seed: PROPERTY_SEEDS=3 (docs/testing.md).
. "$(dirname "$0")/lib.sh"

MODEL=$(e2e_bin chiso-model)
REPLAY=$(e2e_bin chiso-replay)
CLASSIFY=$(e2e_bin chiso-classify)
VERIFY=$(e2e_bin chiso-verify)
SEEDS=${PROPERTY_SEEDS:-"11 22 33 44 55"}
DOSSIERS=${PROPERTY_DOSSIERS:-400}
BATCH_SIZES=(5000 50 7 500 1)

n=0
for seed in $SEEDS; do
    BATCH=${BATCH_SIZES[n++ % ${#BATCH_SIZES[@]}]}
    P="$(e2e_prefix)s$seed."
    COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "$P")
    REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT"
        --redis.prefix "${P}chiso")
    D="$E2E_TMP/seed$seed"
    mkdir -p "$D"

    "$MODEL" --seed "$seed" --dossiers "$DOSSIERS" --out-events "$D/events.jsonl" \
        --out-catalog "$D/catalog.jsonl" --truth "$D/truth.json" 2>"$D/model.log" ||
        e2e_fail "seed $seed: chiso-model failed: $(tail -3 "$D/model.log")"
    e2e_log "seed $seed: $(tail -1 "$D/model.log")"

    "$REPLAY" "${COMMON[@]}" --create-topics --topic "${P}catalog.procedures" \
        --key-field procedure "$D/catalog.jsonl" 2>"$D/replay-catalog.log" ||
        e2e_fail "seed $seed: replaying the catalog failed: $(tail -3 "$D/replay-catalog.log")"
    "$REPLAY" "${COMMON[@]}" "$D/events.jsonl" 2>"$D/replay-events.log" ||
        e2e_fail "seed $seed: replaying the events failed: $(tail -3 "$D/replay-events.log")"
    e2e_log "seed $seed: $(tail -1 "$D/replay-catalog.log") (catalog); $(tail -1 "$D/replay-events.log") (events)"

    e2e_bg "classify-$seed" "$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}classify" \
        --metrics.port 0 --batch.max "$BATCH"
    CLASSIFY_PID=$E2E_LAST_PID
    "$VERIFY" "${COMMON[@]}" --check committed --group "${P}classify" --timeout.s 300 \
        >"$D/committed.out" 2>&1 || true
    grep -q '^verify: OK' "$D/committed.out" ||
        e2e_fail "seed $seed: classify did not commit every record: $(tail -3 "$D/committed.out")"
    e2e_stop "$CLASSIFY_PID" 30 || e2e_fail "seed $seed: chiso-classify did not exit cleanly"

    "$VERIFY" "${COMMON[@]}" "${REDIS[@]}" --check counters --truth "$D/truth.json" \
        --max-report 40 >"$D/verify.out" 2>&1 || true
    cat "$D/verify.out" >&2
    grep -q '^verify: OK' "$D/verify.out" ||
        e2e_fail "seed $seed: Redis differs from the reference model (reproduce: PROPERTY_SEEDS=$seed; the stream is chiso-model --seed $seed --dossiers $DOSSIERS)"
    e2e_log "seed $seed (batches of at most $BATCH): every counter equals the reference model"
done
e2e_pass
