#!/usr/bin/env bash
# Bounded state, on a real Kafka and Redis, judged by event time: with a
# 30-day retention, an open dossier's state is kept whatever its age; the
# state of a closed dossier, or of a fragment never received, is deleted by
# the reaper once the latest event time seen (the watermark) is 30 days past
# its last fact, and kept before that; an event for a dossier with no state
# that is older than the retention before the watermark is dead-lettered
# with reason `expired` and counted, never applied; the reap list keeps
# only what is not due yet. One partition, so the records are consumed in
# the order written.
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
replay() {
    "$REPLAY" --brokers "$CHISO_BROKERS" --topic.prefix "$P" --topic.partitions 1 --create-topics \
        "$1" 2>"$E2E_TMP/replay.log" || e2e_fail "replay failed: $(tail -3 "$E2E_TMP/replay.log")"
}
committed() { # wait until classify committed everything written so far
    "$VERIFY" --brokers "$CHISO_BROKERS" --topic.prefix "$P" --check committed \
        --group "${P}classify" --timeout.s 120 >"$E2E_TMP/committed.out" ||
        e2e_fail "classify did not finish: $(cat "$E2E_TMP/committed.out")"
}
K="${P}chiso:{$U}:d"
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
    # closed on 1 July (and rated on 25 July, below)
    ev r1 RATED received 2025-06-30T09:00:00+07:00 '"due_at":"2025-07-10T17:00:00+07:00"'
    ev r2 RATED resolved 2025-07-01T10:00:00+07:00 '"outcome":"approved"'
} >"$E2E_TMP/events1.jsonl"
replay "$E2E_TMP/events1.jsonl"
e2e_bg classify "$CLASSIFY" --brokers "$CHISO_BROKERS" --topic.prefix "$P" \
    --redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso" \
    --group.id "${P}classify" --metrics.port "$METRICS" --retention.days 30 --batch.max 1 \
    --reap.interval.ms 200
CLASSIFY_PID=$E2E_LAST_PID
committed

# nothing is due yet (the watermark is 2 July, the horizon 2 June): every
# state is kept, none with an expiry; the states not open are on the reap
# list under the local day of their last fact
for d in OPEN DONE LATE RATED; do
    e2e_assert_eq -1 "$(e2e_redis ttl "$K:$d")" "TTL of $d"
done
e2e_assert_eq 0 "$(e2e_redis exists "$K:GONE")" "state of the expired event's dossier"
sleep 1 # a few passes of the reaper
e2e_assert_eq 1 "$(e2e_redis exists "$K:LATE")" "the fragment of 10 June, 22 days before the watermark"
reap=$(e2e_redis lrange "${P}chiso:{$U}:reap" 0 -1 | tr '\n' ' ')
# (OPEN and DONE were fragments after their first event, each write of a
# state not open lists it)
e2e_assert_eq "20270:OPEN 20270:DONE 20271:DONE 20249:LATE 20270:RATED " "$reap" \
    "the reap list (local days)"

# RATED is rated on 25 July, and on 5 August the horizon is 6 July: DONE
# (2 July) and LATE (10 June) are deleted; RATED (its last fact 25 July)
# and OPEN (open) are kept
# With them, 300 fragments of 9 June: more than one call of the reaper's
{
    for i in $(seq 1 300); do
        ev "f$i" "BULK$i" submitted 2025-06-09T08:00:00+07:00 '"channel":"postal"'
    done
    ev r3 RATED rated 2025-07-25T10:00:00+07:00 '"satisfied":true'
    ev n1 NEW submitted 2025-08-05T08:00:00+07:00 '"channel":"online"'
} >"$E2E_TMP/events2.jsonl"
replay "$E2E_TMP/events2.jsonl"
committed
e2e_wait_for "e2e_redis exists '$K:DONE' | grep -qx 0" 30
e2e_wait_for "e2e_redis exists '$K:LATE' | grep -qx 0" 30
for d in OPEN RATED NEW; do
    e2e_assert_eq 1 "$(e2e_redis exists "$K:$d")" "state of $d kept"
done
e2e_wait_for "[ \"\$(e2e_metric $METRICS chiso_classify_reaped_total)\" = 302 ]" 30
e2e_assert_eq 0 "$(e2e_redis --scan --pattern "$K:BULK*" | wc -l)" "the 300 fragments deleted"
# the entries judged left the list; RATED's of 25 July and NEW's wait
e2e_wait_for "[ \"\$(e2e_redis lrange '${P}chiso:{$U}:reap' 0 -1 | tr '\n' ' ')\" = '20294:RATED 20305:NEW ' ]" 30

# an event of 3 July for DONE, whose state is gone, is older than the
# horizon: expired, like GONE's
{
    ev b4 DONE rated 2025-07-03T10:00:00+07:00 '"satisfied":false'
} >"$E2E_TMP/events3.jsonl"
replay "$E2E_TMP/events3.jsonl"
committed
e2e_assert_eq 0 "$(e2e_redis exists "$K:DONE")" "DONE stays deleted"
e2e_assert_eq 2 "$(e2e_metric "$METRICS" 'chiso_classify_deadletter_total{reason="expired"}')" \
    "expired dead letters counted"
e2e_stop "$CLASSIFY_PID" 30 || e2e_fail "chiso-classify did not exit cleanly"

e2e_kcat -C -t "${P}deadletter" -e -q >"$E2E_TMP/dead.jsonl"
python3 - "$E2E_TMP/dead.jsonl" <<'PY' || e2e_fail "deadletter should hold exactly the expired events"
import base64, json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [r["reason"] for r in recs] == ["expired", "expired"], recs
ids = [json.loads(base64.b64decode(r["payload_b64"]))["event_id"] for r in recs]
assert ids == ["c1", "b4"], ids
PY
# the expired events counted nothing: DONE and RATED resolved in July, once
"$VERIFY" --redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" \
    --redis.prefix "${P}chiso" --check fold >/dev/null || e2e_fail "folding the journals"
e2e_assert_eq 2 "$(e2e_redis hget "${P}chiso:{$U}:c:2025-07" resolved)" "resolved in July"
e2e_assert_eq "" "$(e2e_redis hget "${P}chiso:{$U}:c:2025-05" resolved)" "resolved in May"
e2e_pass
