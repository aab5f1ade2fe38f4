#!/usr/bin/env bash
# The reference model against the real pipeline, end to end: for each of
# 200 seeds, chiso-model generates a randomized stream (late, duplicated
# and reordered events of every path; see tests/model/gen.h) and the
# reference model's ground truth; chiso-replay sends the procedure catalog
# to catalog.procedures (keyed by procedure) and the events to
# dossier.events; chiso-classify (which reads the catalog first) applies
# them to Redis. Once classify has committed every record, chiso-verify
# requires every counter in Redis (every unit, day, month, quarter, year,
# the service-level counters included) to equal the model's truth, and no
# other non-zero counter. Each seed has its own topics, consumer group and
# Redis prefix, and its own classify batch size (so the counters are built
# from one batch, or from thousands of small increments); PROPERTY_JOBS
# seeds (default 4) run at a time. Reproduce one seed: PROPERTY_SEEDS=3
# (docs/testing.md).
. "$(dirname "$0")/lib.sh"

MODEL=$(e2e_bin chiso-model)
REPLAY=$(e2e_bin chiso-replay)
CLASSIFY=$(e2e_bin chiso-classify)
VERIFY=$(e2e_bin chiso-verify)
SEEDS=${PROPERTY_SEEDS:-$(seq 1 200)}
DOSSIERS=${PROPERTY_DOSSIERS:-400}
JOBS=${PROPERTY_JOBS:-4}
BATCH_SIZES=(5000 50 7 500 1)

# seed SEED BATCH: the whole check of one seed, in a subshell of its own;
# its log in $E2E_TMP/seedSEED/seed.log, its verdict its exit status
seed() {
    local seed=$1 batch=$2 P
    CLASSIFY_PID= # global: the subshell's EXIT trap runs after this function returned
    P="$(e2e_prefix)s$seed."
    local COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "$P")
    local REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT"
        --redis.prefix "${P}chiso")
    local D="$E2E_TMP/seed$seed"
    # the subshell has none of the test's traps: stop its classify itself
    trap '[ -z "$CLASSIFY_PID" ] || kill -KILL "$CLASSIFY_PID" 2>/dev/null || true' EXIT

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

    "$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}classify" --metrics.port 0 \
        --batch.max "$batch" </dev/null >"$D/classify.log" 2>&1 &
    CLASSIFY_PID=$!
    "$VERIFY" "${COMMON[@]}" --check committed --group "${P}classify" --timeout.s 300 \
        >"$D/committed.out" 2>&1 || true
    grep -q '^verify: OK' "$D/committed.out" ||
        e2e_fail "seed $seed: classify did not commit every record: $(tail -3 "$D/committed.out")"
    e2e_stop "$CLASSIFY_PID" 30 || e2e_fail "seed $seed: chiso-classify did not exit cleanly"
    CLASSIFY_PID=

    "$VERIFY" "${COMMON[@]}" "${REDIS[@]}" --check counters --truth "$D/truth.json" \
        --max-report 40 >"$D/verify.out" 2>&1 || true
    grep -q '^verify: OK' "$D/verify.out" ||
        e2e_fail "seed $seed: Redis differs from the reference model (reproduce: PROPERTY_SEEDS=$seed; the stream is chiso-model --seed $seed --dossiers $DOSSIERS): $(cat "$D/verify.out")"
    e2e_log "seed $seed (batches of at most $batch): every counter equals the reference model"
}

declare -A RUNNING=() # pid -> seed
FAILED=()
reap() { # wait for one running seed, print its log, remember it when it failed
    local pid rc=0
    wait -n -p pid "${!RUNNING[@]}" || rc=$?
    cat "$E2E_TMP/seed${RUNNING[$pid]}/seed.log" >&2
    [ "$rc" = 0 ] || FAILED+=("${RUNNING[$pid]}")
    unset "RUNNING[$pid]"
}
n=0
for s in $SEEDS; do
    mkdir -p "$E2E_TMP/seed$s"
    batch=${BATCH_SIZES[n++ % ${#BATCH_SIZES[@]}]}
    (seed "$s" "$batch") 2>"$E2E_TMP/seed$s/seed.log" &
    RUNNING[$!]=$s
    while [ "${#RUNNING[@]}" -ge "$JOBS" ]; do reap; done
done
while [ "${#RUNNING[@]}" -gt 0 ]; do reap; done

for s in "${FAILED[@]}"; do
    e2e_log "seed $s failed; its classify's log:"
    cat "$E2E_TMP/seed$s/classify.log" >&2 || true
done
[ "${#FAILED[@]}" = 0 ] ||
    e2e_fail "${#FAILED[@]} of $n seeds differ from the reference model or failed: ${FAILED[*]}"
e2e_log "all $n seeds: every counter equals the reference model"
e2e_pass
