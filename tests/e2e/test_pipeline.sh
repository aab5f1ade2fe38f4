#!/usr/bin/env bash
# The whole pipeline on a real Kafka and a real Redis: the simulator streams
# four days of a province across a month and quarter boundary, with 5%
# duplicates, 10% reordering and 1% malformed records, and its feedback
# (PAKN) events, through chiso-classify, chiso-feedback and chiso-snapshot
# (all live, concurrently). Then chiso-verify requires, exactly: every Redis
# counter, dossier and fb_*, equals the simulator's ground truth; deadletter holds exactly the malformed records; scores holds
# a snapshot for every unit, the province and every period, whose counts
# equal the ground truth and whose indicators, total and rank equal the
# score of the ground truth; every record on scores passes the snapshot
# JSON Schema. The processors start before the simulator, on empty topics.
. "$(dirname "$0")/lib.sh"

SIM=$(e2e_bin chiso-simulate)
CLASSIFY=$(e2e_bin chiso-classify)
FEEDBACK=$(e2e_bin chiso-feedback)
SNAPSHOT=$(e2e_bin chiso-snapshot)
VERIFY=$(e2e_bin chiso-verify)
ALERTS=$(e2e_bin chiso-alerts)
P=$(e2e_prefix)
METRICS=$(e2e_free_port)
FB_METRICS=$(e2e_free_port)
COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "$P")
REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso")

# the processors run first, on empty topics, as in a live deployment: the
# simulator's catalog and its events then arrive while they run, and
# classify must read each procedure's record before it applies the
# procedure's first event (the service-level counters prove it)
e2e_bg snapshot "$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --interval.ms 500 --metrics.port 0
SNAP_PID=$E2E_LAST_PID
e2e_bg classify "$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}classify" \
    --metrics.port "$METRICS"
CLASSIFY_PID=$E2E_LAST_PID
e2e_bg feedback "$FEEDBACK" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}feedback" \
    --metrics.port "$FB_METRICS"
FEEDBACK_PID=$E2E_LAST_PID

e2e_log "simulating into topics ${P}*"
"$SIM" "${COMMON[@]}" --seed 7 --start 2025-06-29 --days 4 --dossiers-per-day 1500 \
    --duplicates 0.05 --reorder 0.10 --malformed 0.01 --feedback-rate 10 --truth "$E2E_TMP/truth.json" \
    --malformed-out "$E2E_TMP/malformed.b64" \
    2>"$E2E_TMP/simulate.log" || e2e_fail "simulator failed: $(tail -5 "$E2E_TMP/simulate.log")"
RECORDS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$E2E_TMP/truth.json")
MALFORMED=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["malformed"])' "$E2E_TMP/truth.json")
DUPS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["duplicates"])' "$E2E_TMP/truth.json")
e2e_log "records $RECORDS (duplicates $DUPS, malformed $MALFORMED)"
[ "$MALFORMED" -gt 0 ] && [ "$DUPS" -gt 0 ] || e2e_fail "the stream must contain duplicates and malformed records"
# feedback: received, answered and rated ones, and duplicates
read -r FB_RECORDS FB_RECEIVED FB_ANSWERED FB_RATED FB_DUPS < <(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
s = lambda f: sum(p.get(f, 0) for k, p in t["province_feedback"].items() if len(k) == 4)
print(t["feedback_records"], s("fb_received"), s("fb_answered_on_time") + s("fb_answered_late"),
      s("fb_rated"), t["feedback_duplicates"])' "$E2E_TMP/truth.json")
e2e_log "feedback records $FB_RECORDS (duplicates $FB_DUPS): received $FB_RECEIVED, answered $FB_ANSWERED, rated $FB_RATED"
[ "$FB_RECEIVED" -gt 0 ] && [ "$FB_ANSWERED" -gt 0 ] && [ "$FB_RATED" -gt 0 ] && [ "$FB_DUPS" -gt 0 ] ||
    e2e_fail "the feedback stream must contain received, answered and rated feedback and duplicates"


"$VERIFY" "${COMMON[@]}" --check committed --group "${P}classify" --timeout.s 300 |
    tee "$E2E_TMP/committed.out" >&2
grep -q '^verify: OK' "$E2E_TMP/committed.out" || e2e_fail "classify did not commit all $RECORDS records"
e2e_log "classify committed all $RECORDS records"
curl -sf "http://127.0.0.1:$METRICS/metrics" | grep -E '^chiso_classify_(duplicates|replayed|applied|deadletter)' >&2 || true

e2e_stop "$CLASSIFY_PID" 30 || e2e_fail "chiso-classify did not exit cleanly on SIGTERM"
# chiso-feedback has read every feedback record; on SIGTERM it finishes
# (applies and commits) the batch in hand
fb_consumed() {
    curl -sf "http://127.0.0.1:$FB_METRICS/metrics" | awk '$1 == "chiso_feedback_consumed_total" { print $2 }'
}
e2e_wait_for "[ \"\$(fb_consumed)\" -ge $FB_RECORDS ] 2>/dev/null" 120 0.2 ||
    e2e_fail "chiso-feedback consumed $(fb_consumed) of $FB_RECORDS feedback records"
e2e_stop "$FEEDBACK_PID" 30 || e2e_fail "chiso-feedback did not exit cleanly on SIGTERM"
e2e_log "chiso-feedback consumed all $FB_RECORDS feedback records"
# the snapshot sink drains the dirty set, then one more interval publishes
e2e_wait_for "[ \"\$(e2e_redis scard ${P}chiso:dirty)\" = 0 ]" 60 0.5
sleep 2
e2e_stop "$SNAP_PID" 30 || e2e_fail "chiso-snapshot did not exit cleanly on SIGTERM"

# overdue and due-soon alerts at the event-time watermark (a replay of history)
"$ALERTS" "${COMMON[@]}" "${REDIS[@]}" --time.source event --once --metrics.port 0 \
    2>"$E2E_TMP/alerts.log" || e2e_fail "chiso-alerts failed: $(tail -3 "$E2E_TMP/alerts.log")"
# a second scan publishes nothing new
"$ALERTS" "${COMMON[@]}" "${REDIS[@]}" --time.source event --once --metrics.port 0 \
    2>>"$E2E_TMP/alerts.log" || e2e_fail "chiso-alerts failed on its second scan"

"$VERIFY" "${COMMON[@]}" "${REDIS[@]}" --truth "$E2E_TMP/truth.json" \
    --check counters,feedback,deadletter,scores,alerts --malformed "$E2E_TMP/malformed.b64" | tee "$E2E_TMP/verify.out" >&2
grep -q '^verify: OK' "$E2E_TMP/verify.out" || e2e_fail "pipeline output differs from the ground truth"

# the check can fail: one counter off by one must be caught, exactly once
KEY=$(e2e_redis --scan --pattern "${P}chiso:{*}:c:2025-07" | awk 'NR == 1')
e2e_redis hincrby "$KEY" received 1 >/dev/null
if "$VERIFY" "${COMMON[@]}" "${REDIS[@]}" --truth "$E2E_TMP/truth.json" --check counters,feedback \
    >"$E2E_TMP/tampered.out"; then
    e2e_fail "chiso-verify did not notice a tampered counter in $KEY"
fi
grep -q "^verify: FAILED (1 mismatches)" "$E2E_TMP/tampered.out" ||
    e2e_fail "tampering one counter should give exactly one mismatch: $(tail -3 "$E2E_TMP/tampered.out")"
e2e_redis hincrby "$KEY" received -1 >/dev/null
# and so must a feedback counter off by one, one the truth has at 0, and one
# in a hash whose unit and period have no feedback in the truth
FKEY=
for k in $(e2e_redis --scan --pattern "${P}chiso:{*}:c:2025-Q3"); do
    if [ -n "$(e2e_redis hget "$k" fb_received)" ]; then
        FKEY=$k
        break
    fi
done
[ -n "$FKEY" ] || e2e_fail "no quarter hash holds feedback counters"
for field in fb_received fb_overdue_closed; do
    e2e_redis hincrby "$FKEY" "$field" 1 >/dev/null
    if "$VERIFY" "${COMMON[@]}" "${REDIS[@]}" --truth "$E2E_TMP/truth.json" --check counters,feedback \
        >"$E2E_TMP/tampered.out"; then
        e2e_fail "chiso-verify did not notice a tampered $field in $FKEY"
    fi
    grep -q "^verify: FAILED (1 mismatches)" "$E2E_TMP/tampered.out" ||
        e2e_fail "tampering $field should give exactly one mismatch: $(tail -3 "$E2E_TMP/tampered.out")"
    e2e_redis hincrby "$FKEY" "$field" -1 >/dev/null
done
XKEY=$(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
for u, periods in t["counters"].items():
    if "2025-07-01" in periods and "2025-07-01" not in t["feedback"].get(u, {}):
        print(sys.argv[2] + ":{" + u + "}:c:2025-07-01"); break' "$E2E_TMP/truth.json" "${P}chiso")
[ -n "$XKEY" ] || e2e_fail "no unit without feedback on 2025-07-01"
e2e_redis hincrby "$XKEY" fb_rated 1 >/dev/null
if "$VERIFY" "${COMMON[@]}" "${REDIS[@]}" --truth "$E2E_TMP/truth.json" --check counters,feedback \
    >"$E2E_TMP/tampered.out"; then
    e2e_fail "chiso-verify did not notice an fb_rated the truth lacks in $XKEY"
fi
grep -q "^verify: FAILED (1 mismatches)" "$E2E_TMP/tampered.out" ||
    e2e_fail "an unexpected fb_rated should give exactly one mismatch: $(tail -3 "$E2E_TMP/tampered.out")"
e2e_redis hdel "$XKEY" fb_rated >/dev/null

# every record on scores, every version of every key, is a valid snapshot:
# read them all with kcat and check each against the JSON Schema
SCHEMA=$CHISO_SOURCE_DIR/docs/schemas/snapshot.schema.json
VALIDATE=$CHISO_SOURCE_DIR/tests/tools/validate_json.py
# (tombstones aside: a sink that swept before the catalog named the province
# retracts what it published under the fallback code 'province')
e2e_kcat -C -t "${P}scores" -e -q -f '%s\n' >"$E2E_TMP/scores.jsonl"
e2e_kcat -C -t "${P}scores" -e -q -f '%S %k\n' >"$E2E_TMP/scores.sizes"
TOTAL=$(wc -l <"$E2E_TMP/scores.sizes")
TOMBS=$(awk '$1 <= 0' "$E2E_TMP/scores.sizes" | wc -l)
awk '$1 <= 0 && $2 !~ /^province\|/ { bad = 1 } END { exit bad }' "$E2E_TMP/scores.sizes" ||
    e2e_fail "scores: a tombstone of another key than the fallback province's"
LINES=$(grep -c . "$E2E_TMP/scores.jsonl" || true)
[ "$TOTAL" -gt 0 ] && [ "$LINES" = "$((TOTAL - TOMBS))" ] ||
    e2e_fail "scores: $TOTAL records, $TOMBS tombstones, but $LINES non-empty payloads"
python3 "$VALIDATE" "$SCHEMA" "$E2E_TMP/scores.jsonl" >"$E2E_TMP/schema.out" 2>&1 ||
    e2e_fail "scores holds records the snapshot schema rejects: $(head -5 "$E2E_TMP/schema.out")"
e2e_log "scores: $(tail -1 "$E2E_TMP/schema.out")"
# the check can fail: a snapshot without its indicators is rejected
head -1 "$E2E_TMP/scores.jsonl" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); del d["indicators"]; print(json.dumps(d, ensure_ascii=False))' >"$E2E_TMP/broken.jsonl"
if python3 "$VALIDATE" "$SCHEMA" "$E2E_TMP/broken.jsonl" >/dev/null 2>&1; then
    e2e_fail "the schema check accepted a snapshot without indicators"
fi
e2e_pass
