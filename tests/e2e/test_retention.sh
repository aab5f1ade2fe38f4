#!/usr/bin/env bash
# Bounded state, on a real Kafka and Redis: with a 30-day retention, an open
# dossier's state never expires, a closed dossier's state expires 30 days
# after its last write, and an event for a dossier with no state that is
# older than the retention (before the latest event time seen) is
# dead-lettered with reason `expired` and counted, never applied. One
# partition, so the records are consumed in the order written.
. "$(dirname "$0")/lib.sh"

CLASSIFY=$(e2e_bin chiso-classify)
REPLAY=$(e2e_bin chiso-replay)
VERIFY=$(e2e_bin chiso-verify)
P=$(e2e_prefix)
METRICS=$(e2e_free_port)
U=000.00.07.H31
ev() { # ev ID DOSSIER TYPE AT [EXTRA-JSON]
    printf '{"v":1,"event_id":"%s","dossier_id":"%s","unit":"%s","procedure":"1.000001","type":"%s","at":"%s"%s}\n' \
        "$1" "$2" "$U" "$3" "$4" "${5:+,$5}"
}
{
    ev a1 OPEN submitted 2025-07-01T08:00:00+07:00 '"channel":"online"'
    ev a2 OPEN received 2025-07-01T09:00:00+07:00 '"due_at":"2025-07-10T17:00:00+07:00"'
    ev b1 DONE submitted 2025-07-01T08:00:00+07:00 '"channel":"online"'
    ev b2 DONE received 2025-07-01T09:00:00+07:00 '"due_at":"2025-07-10T17:00:00+07:00"'
    ev b3 DONE resolved 2025-07-02T10:00:00+07:00 '"outcome":"approved","e_result":true'
    # the watermark is now 2 July: an event of 20 May (43 days before) for a
    # dossier with no state is expired; one of 10 June (22 days) is applied
    ev c1 GONE resolved 2025-05-20T10:00:00+07:00 '"outcome":"approved","e_result":true'
    ev d1 LATE submitted 2025-06-10T08:00:00+07:00 '"channel":"direct"'
} >"$E2E_TMP/events.jsonl"

"$REPLAY" --brokers "$CHISO_BROKERS" --topic.prefix "$P" --topic.partitions 1 --create-topics \
    "$E2E_TMP/events.jsonl" \
    2>"$E2E_TMP/replay.log" || e2e_fail "replay failed: $(tail -3 "$E2E_TMP/replay.log")"
e2e_bg classify "$CLASSIFY" --brokers "$CHISO_BROKERS" --topic.prefix "$P" \
    --redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso" \
    --group.id "${P}classify" --metrics.port "$METRICS" --retention.days 30 --batch.max 1
CLASSIFY_PID=$E2E_LAST_PID
"$VERIFY" --brokers "$CHISO_BROKERS" --topic.prefix "$P" --check committed --group "${P}classify" \
    --timeout.s 120 >"$E2E_TMP/committed.out" || e2e_fail "classify did not finish: $(cat "$E2E_TMP/committed.out")"

K="${P}chiso:{$U}:d"
e2e_assert_eq -1 "$(e2e_redis ttl "$K:OPEN")" "TTL of an open dossier"
ttl=$(e2e_redis ttl "$K:DONE")
[ "$ttl" -gt $((30 * 86400 - 120)) ] && [ "$ttl" -le $((30 * 86400)) ] ||
    e2e_fail "a closed dossier should expire in 30 days, TTL is $ttl"
e2e_assert_eq 0 "$(e2e_redis exists "$K:GONE")" "state of the expired event's dossier"
ttl=$(e2e_redis ttl "$K:LATE")
[ "$ttl" -gt 0 ] || e2e_fail "a fragment never received should expire, TTL is $ttl"
expired=$(curl -sf "http://127.0.0.1:$METRICS/metrics" |
    awk '$1 == "chiso_classify_deadletter_total{reason=\"expired\"}" { print $2 }')
e2e_assert_eq 1 "$expired" "expired dead letters counted"
e2e_stop "$CLASSIFY_PID" 30 || e2e_fail "chiso-classify did not exit cleanly"

e2e_kcat -C -t "${P}deadletter" -e -q >"$E2E_TMP/dead.jsonl"
python3 - "$E2E_TMP/dead.jsonl" <<'PY' || e2e_fail "deadletter should hold exactly the expired event"
import base64, json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(recs) == 1, recs
r = recs[0]
assert r["reason"] == "expired", r
assert json.loads(base64.b64decode(r["payload_b64"]))["event_id"] == "c1", r
PY
# the expired event counted nothing: only DONE was resolved on 2 July
"$VERIFY" --redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" \
    --redis.prefix "${P}chiso" --check fold >/dev/null || e2e_fail "folding the journals"
e2e_assert_eq 1 "$(e2e_redis hget "${P}chiso:{$U}:c:2025-07" resolved)" "resolved in July"
e2e_assert_eq "" "$(e2e_redis hget "${P}chiso:{$U}:c:2025-05" resolved)" "resolved in May"
e2e_pass
