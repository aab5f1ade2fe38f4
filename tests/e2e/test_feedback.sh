#!/usr/bin/env bash
# chiso-feedback on a real Kafka and a real Redis. A deterministic stream of
# feedback (PAKN) events for five units around the month, quarter and year
# boundaries (times near Vietnam midnight, both +07:00 and Z), with repeated
# receipts, answers and tied ratings, 15% duplicated records, a shuffled
# order and three malformed records, goes to feedback.events in two halves:
#   1. chiso-feedback consumes the first half and is killed with SIGKILL
#      part-way; the second half is produced; chiso-feedback restarts in the
#      same group, and every fb_* counter in Redis (every unit, day, month,
#      quarter, year) must equal, exactly, what an independent Python model
#      of docs/feedback.md computes; so must the state keys, the month index,
#      the unit set and the dirty set; SIGTERM must end it with status 0;
#   2. the deadletter topic holds exactly the malformed records, with their
#      reasons and bytes;
#   3. a second group replays the whole topic: it applies nothing (every
#      event a duplicate), dead-letters the malformed records again, and the
#      counters stay exact;
#   4. the check can fail: one tampered counter is exactly one mismatch.
. "$(dirname "$0")/lib.sh"

FEEDBACK=$(e2e_bin chiso-feedback)
P=$(e2e_prefix)
RP="${P}chiso"
TOPIC="${P}feedback.events"
COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "$P")
REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "$RP")
e2e_create_topic "$TOPIC" 4

# ---- the stream and its expected effect (independent of the C code) ----
cat >"$E2E_TMP/gen.py" <<'PY'
"""Write part1.tsv and part2.tsv (key<TAB>value lines for kcat), malformed.json
and expected.json (counters by unit and period, and the sets to expect)."""
import datetime as dt, json, random, sys

out = sys.argv[1]
rnd = random.Random(19766)
VN = dt.timezone(dt.timedelta(hours=7))
UNITS = ["H21.01", "H21.02", "X.10", "X.11", "X.12"]
ANCHORS = [dt.datetime(y, m, d, tzinfo=VN) for (y, m, d) in
           [(2025, 7, 1), (2025, 10, 1), (2026, 1, 1), (2025, 8, 15)]]

def stamp(t):
    # half the times in +07:00, half in UTC
    if rnd.random() < 0.5:
        return t.astimezone(VN).isoformat()
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

def near_midnight(day, side):
    """23:59:59 of `day` (side 0) or 00:00:00 of the next day (side 1), local."""
    d = day.astimezone(VN)
    t = dt.datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=VN)
    return t if side == 0 else t + dt.timedelta(seconds=1)

records, valid = [], 0
for i in range(300):
    unit, fid = rnd.choice(UNITS), "PAKN-%04d" % i
    anchor = rnd.choice(ANCHORS)
    r_at = anchor + dt.timedelta(minutes=rnd.randrange(-3 * 1440, 3 * 1440))
    due = r_at + dt.timedelta(days=rnd.randrange(-1, 16), minutes=rnd.randrange(-600, 600))
    evs = []
    def ev(typ, at, **extra):
        doc = {"v": 1, "event_id": "%s-%d" % (fid, len(evs)), "feedback_id": fid,
               "unit": unit, "type": typ, "at": stamp(at)}
        doc.update(extra)
        evs.append(doc)
    if rnd.random() < 0.9:
        ev("received", r_at, due_at=stamp(due))
        if rnd.random() < 0.2:  # a second receipt: later, or tied with another due
            later = r_at + dt.timedelta(hours=rnd.choice([0, 5, 30]))
            ev("received", later, due_at=stamp(due + dt.timedelta(days=rnd.randrange(-2, 3))))
    a_at = None
    if rnd.random() < 0.75:
        x = rnd.random()
        if x < 0.25:
            a_at = near_midnight(due, rnd.randrange(2))
        else:
            a_at = due + dt.timedelta(minutes=rnd.randrange(-6 * 1440, 6 * 1440))
        ev("answered", a_at)
        if rnd.random() < 0.2:
            ev("answered", a_at + dt.timedelta(hours=rnd.randrange(-30, 30)))
    if rnd.random() < 0.6:
        t = (a_at or r_at) + dt.timedelta(hours=rnd.randrange(0, 200))
        sat = rnd.random() < 0.7
        ev("rated", t, satisfied=sat, comment="Rất hài lòng" if sat else "Chưa hài lòng")
        if rnd.random() < 0.15:  # a tie in time: not satisfied must win
            ev("rated", t, satisfied=not sat)
    for doc in evs:
        line = fid + "\t" + json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        records.append(line)
        valid += 1
        if rnd.random() < 0.15:
            records.append(line)
            valid += 1

malformed = [
    ("PAKN-BAD1", '{"v":1,"event_id":"bad-1","feedback_id":"PAKN-BAD1"', "json_syntax"),
    ("PAKN-BAD2", '{"v":1,"event_id":"bad-2","feedback_id":"PAKN-BAD2","unit":"X.10",'
                  '"type":"closed","at":"2025-07-01T08:00:00+07:00"}', "unknown_type"),
    ("PAKN-BAD3", '{"v":1,"event_id":"bad-3","feedback_id":"PAKN-BAD3","unit":"X.10",'
                  '"type":"received","at":"2025-07-01T08:00:00+07:00"}', "missing_field"),
]
rnd.shuffle(records)
for key, payload, _ in malformed:
    records.insert(rnd.randrange(len(records) + 1), key + "\t" + payload)
half = len(records) * 6 // 10
with open(out + "/part1.tsv", "w", encoding="utf-8") as f:
    f.write("\n".join(records[:half]) + "\n")
with open(out + "/part2.tsv", "w", encoding="utf-8") as f:
    f.write("\n".join(records[half:]) + "\n")
with open(out + "/malformed.json", "w") as f:
    json.dump([{"payload": p, "reason": r} for _, p, r in malformed], f)

# ---- the model: facts, merge, contributions (docs/feedback.md) ----
def epoch(s):
    return int(dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())

def local_day(t):
    return dt.date(1970, 1, 1) + dt.timedelta(days=(t + 7 * 3600) // 86400)

facts = {}
for line in records:
    key, payload = line.split("\t", 1)
    if key.startswith("PAKN-BAD"):
        continue
    doc = json.loads(payload)
    f = facts.setdefault((doc["unit"], doc["feedback_id"]), {})
    at = epoch(doc["at"])
    if doc["type"] == "received":
        cand = (at, epoch(doc["due_at"]))
        f["received"] = min(f.get("received", cand), cand)
    elif doc["type"] == "answered":
        f["answered"] = min(f.get("answered", at), at)
    else:
        cand = (at, doc["satisfied"])
        f["rated"] = min(f.get("rated", cand), cand)

def periods(day):
    return [day.isoformat(), day.strftime("%Y-%m"),
            "%d-Q%d" % (day.year, (day.month - 1) // 3 + 1), str(day.year)]

counters = {}
def count(unit, name, day):
    for p in periods(day):
        c = counters.setdefault(unit + "|" + p, {})
        c[name] = c.get(name, 0) + 1

for (unit, _), f in facts.items():
    if "rated" in f:
        t = local_day(f["rated"][0])
        count(unit, "fb_rated", t)
        if f["rated"][1]:
            count(unit, "fb_satisfied", t)
    if "received" not in f:
        continue
    r, d = local_day(f["received"][0]), local_day(f["received"][1])
    b = max(d + dt.timedelta(days=1), r)
    count(unit, "fb_received", r)
    if "answered" not in f:
        count(unit, "fb_overdue_began", b)
        continue
    a = local_day(f["answered"])
    count(unit, "fb_answered_on_time" if a <= d else "fb_answered_late", a)
    count(unit, "fb_closed", max(r, a))
    if a >= b:
        count(unit, "fb_overdue_began", b)
        count(unit, "fb_overdue_closed", a)

with open(out + "/expected.json", "w") as f:
    json.dump({"counters": counters, "states": len(facts), "units": sorted({u for u, _ in facts}),
               "records": len(records), "valid": valid, "malformed": len(malformed)}, f)
print("%d records (%d valid events, %d malformed), %d feedbacks" %
      (len(records), valid, len(malformed), len(facts)), file=sys.stderr)
PY

# ---- reading Redis back and comparing ----
cat >"$E2E_TMP/check.py" <<'PY'
"""Compare Redis with expected.json. Prints mismatches; exit 1 if any."""
import json, re, subprocess, sys

tmp, prefix, host, port = sys.argv[1:5]
exp = json.load(open(tmp + "/expected.json"))
DUMP = """
local out = {counters = {}, months = {}, states = 0}
for _, k in ipairs(redis.call('KEYS', ARGV[1] .. ':{*}:c:*')) do out.counters[k] = redis.call('HGETALL', k) end
for _, k in ipairs(redis.call('KEYS', ARGV[1] .. ':{*}:months')) do out.months[k] = redis.call('SMEMBERS', k) end
out.states = #redis.call('KEYS', ARGV[1] .. ':{*}:f:*')
out.units = redis.call('SMEMBERS', ARGV[1] .. ':units')
out.dirty = redis.call('SMEMBERS', ARGV[1] .. ':dirty')
return cjson.encode(out)
"""
raw = subprocess.run(["redis-cli", "-h", host, "-p", port, "--raw", "EVAL", DUMP, "0", prefix],
                     check=True, capture_output=True, text=True).stdout
got = json.loads(raw)
mismatches = []
seen = {}
for key, flat in got["counters"].items():
    unit = key[len(prefix) + 2:key.index("}:c:")]
    period = key[key.index("}:c:") + 4:]
    fields = dict(zip(flat[0::2], flat[1::2])) if isinstance(flat, list) else {}
    seen[unit + "|" + period] = {k: int(v) for k, v in fields.items()
                                 if k.startswith("fb_") and int(v) != 0}
for up in sorted(set(seen) | set(exp["counters"])):
    g, w = seen.get(up, {}), exp["counters"].get(up, {})
    for name in sorted(set(g) | set(w)):
        if g.get(name, 0) != w.get(name, 0):
            mismatches.append("%s %s: redis %d, expected %d" % (up, name, g.get(name, 0), w.get(name, 0)))
if got["states"] != exp["states"]:
    mismatches.append("feedback states: redis %d, expected %d" % (got["states"], exp["states"]))
months, dirty = {}, set(got["dirty"] or [])
for key, members in got["months"].items():
    months[key[len(prefix) + 2:key.index("}:months")]] = set(members or [])
for up in exp["counters"]:
    unit, period = up.split("|")
    if re.fullmatch(r"\d{4}-\d\d", period) and period not in months.get(unit, set()):
        mismatches.append("month %s of %s not in its :months index" % (period, unit))
    if not re.fullmatch(r"\d{4}-\d\d-\d\d", period) and up not in dirty:
        mismatches.append("%s not in the dirty set" % up)
missing_units = set(exp["units"]) - set(got["units"] or [])
if missing_units:
    mismatches.append("units not registered: %s" % sorted(missing_units))
for m in mismatches[:20]:
    print("mismatch: " + m)
print("check: %s (%d mismatches, %d unit-periods)" %
      ("OK" if not mismatches else "FAILED", len(mismatches), len(exp["counters"])))
sys.exit(1 if mismatches else 0)
PY

python3 "$E2E_TMP/gen.py" "$E2E_TMP" || e2e_fail "the generator failed"
RECORDS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$E2E_TMP/expected.json")
VALID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["valid"])' "$E2E_TMP/expected.json")
MALFORMED=3
PART1=$(wc -l <"$E2E_TMP/part1.tsv")

check() { python3 "$E2E_TMP/check.py" "$E2E_TMP" "$RP" "$CHISO_REDIS_HOST" "$CHISO_REDIS_PORT"; }
# metric NAME PORT: the value of an unlabelled metric, or the sum of a labelled family
metric() {
    curl -sf "http://127.0.0.1:$2/metrics" |
        awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2; f = 1 } END { if (f) print s; else exit 1 }'
}

# ---- 1. half the stream, a crash part-way, the rest, a restart ----
e2e_kcat -P -t "$TOPIC" -K $'\t' <"$E2E_TMP/part1.tsv" || e2e_fail "could not produce part 1"
M1=$(e2e_free_port)
e2e_bg feedback1 "$FEEDBACK" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}feedback" \
    --batch.max 7 --metrics.port "$M1"
PID=$E2E_LAST_PID
e2e_wait_for "[ \"\$(metric chiso_feedback_consumed_total $M1)\" -ge 50 ]" 60 0.02
CONSUMED=$(metric chiso_feedback_consumed_total "$M1" || echo '?')
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
e2e_log "killed chiso-feedback (SIGKILL) after $CONSUMED of $PART1 records of part 1"

e2e_kcat -P -t "$TOPIC" -K $'\t' <"$E2E_TMP/part2.tsv" || e2e_fail "could not produce part 2"
M2=$(e2e_free_port)
e2e_bg feedback2 "$FEEDBACK" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}feedback" \
    --metrics.port "$M2"
PID=$E2E_LAST_PID
e2e_wait_for "check" 120 0.5
e2e_wait_for "[ \"\$(metric chiso_feedback_lag $M2)\" = 0 ]" 60 0.5
check >&2
e2e_stop "$PID" 30 || e2e_fail "chiso-feedback did not exit 0 on SIGTERM"
e2e_log "counters exact after the crash and restart"

# ---- 2. the dead letters ----
e2e_kcat -C -t "${P}deadletter" -e -q -f '%s\n' >"$E2E_TMP/dead.jsonl"
python3 - "$E2E_TMP" "$TOPIC" <<'PY' || e2e_fail "the deadletter topic is not exactly the malformed records"
import base64, json, sys
tmp, topic = sys.argv[1:3]
want = {(m["payload"], m["reason"]) for m in json.load(open(tmp + "/malformed.json"))}
got = set()
for line in open(tmp + "/dead.jsonl", encoding="utf-8"):
    d = json.loads(line)
    assert d["v"] == 1 and d["source_topic"] == topic, d
    assert isinstance(d["partition"], int) and isinstance(d["offset"], int) and d["detail"], d
    assert d["at"].endswith("+07:00"), d
    got.add((base64.b64decode(d["payload_b64"]).decode(), d["reason"]))
# a crash between producing a dead letter and committing may repeat one
assert got == want, (sorted(got ^ want))
print("dead letters: %d distinct, as expected" % len(got), file=sys.stderr)
PY

# ---- 3. a full replay by another group changes nothing ----
M3=$(e2e_free_port)
e2e_bg replay "$FEEDBACK" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}replay" --metrics.port "$M3"
PID=$E2E_LAST_PID
e2e_wait_for "[ \"\$(metric chiso_feedback_committed_total $M3)\" = $RECORDS ]" 120 0.2
e2e_assert_eq 0 "$(metric chiso_feedback_applied_total "$M3")" "events applied by the replay"
e2e_assert_eq "$VALID" "$(metric chiso_feedback_duplicates_total "$M3")" "duplicates in the replay"
e2e_assert_eq "$MALFORMED" "$(metric chiso_feedback_deadletter_total "$M3")" "dead letters of the replay"
e2e_stop "$PID" 30 || e2e_fail "chiso-feedback (replay) did not exit 0 on SIGTERM"
check >&2 || e2e_fail "counters changed by a replay"

# ---- 4. the check can fail ----
KEY=$(e2e_redis --scan --pattern "${RP}:{*}:c:2025-Q3" | awk 'NR == 1')
e2e_redis hincrby "$KEY" fb_received 1 >/dev/null
if check >"$E2E_TMP/tampered.out"; then
    e2e_fail "the check did not notice a tampered counter in $KEY"
fi
grep -q '^check: FAILED (1 mismatches' "$E2E_TMP/tampered.out" ||
    e2e_fail "one tampered counter should be one mismatch: $(tail -2 "$E2E_TMP/tampered.out")"
e2e_redis hincrby "$KEY" fb_received -1 >/dev/null

e2e_pass
