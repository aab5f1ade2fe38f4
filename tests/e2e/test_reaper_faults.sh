#!/usr/bin/env bash
# The reaper under kill -9, on a real Kafka and a real Redis. A history of
# two units (closed dossiers, some rated days after closing, open dossiers,
# fragments never received), in event-time order on one partition, is
# applied by chiso-classify with a 30-day retention and a reaper every
# 100 ms, so states are deleted while others are still being written; the
# process is killed with SIGKILL three times at random points and started
# again as its history is applied. At the end the states in Redis must be exactly the ones the
# retention rule keeps at the last event time (every open dossier, every
# other one whose last fact is on or after the horizon), every state kept
# that is not open must be on its unit's reap list under the day of its last
# fact, nothing was dead-lettered, and the received and resolved counters
# equal the history's: nothing lost, nothing deleted early, nothing counted
# twice.
. "$(dirname "$0")/lib.sh"

CLASSIFY=$(e2e_bin chiso-classify)
REPLAY=$(e2e_bin chiso-replay)
VERIFY=$(e2e_bin chiso-verify)
P=$(e2e_prefix)
SEED=${E2E_SEED:-$((RANDOM % 1000 + 1))}
RANDOM=$SEED # the history and the kill points follow from the seed
e2e_log "seed $SEED (rerun with E2E_SEED=$SEED)"

# the history and what the rule must leave of it
python3 - "$SEED" "$E2E_TMP" <<'PY' || e2e_fail "generating the history"
import datetime as dt, json, random, sys
seed, tmp = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(seed)
VN = dt.timezone(dt.timedelta(hours=7))
T0 = dt.datetime(2025, 6, 1, 8, 0, tzinfo=VN)
events, kept, deleted, received, resolved = [], [], [], {}, {}
n = 0
def ev(unit, dossier, typ, at, **extra):
    global n
    n += 1
    rec = {"v": 1, "event_id": "e%d" % n, "dossier_id": dossier, "unit": unit,
           "procedure": "1.000001", "type": typ, "at": at.isoformat()}
    rec.update(extra)
    events.append((at, n, rec))
def month(at):
    return at.strftime("%Y-%m")
last_at = T0
for unit in ("000.00.61.H31", "000.00.62.H31"):
    for i in range(1500):  # closed; a fifth rated 1-9 days later
        d = "%s-C%04d" % (unit[-6:-4], i)
        sub = T0 + dt.timedelta(days=rnd.uniform(0, 60))
        rec = sub + dt.timedelta(hours=1)
        res = rec + dt.timedelta(days=rnd.uniform(0, 3))
        ev(unit, d, "submitted", sub, channel="online")
        ev(unit, d, "received", rec, due_at=(rec + dt.timedelta(days=5)).isoformat())
        ev(unit, d, "resolved", res, outcome="approved", e_result=True)
        last = res
        if rnd.random() < 0.2:
            last = res + dt.timedelta(days=rnd.uniform(1, 9))
            ev(unit, d, "rated", last, satisfied=True)
        received[(unit, month(rec))] = received.get((unit, month(rec)), 0) + 1
        resolved[(unit, month(res))] = resolved.get((unit, month(res)), 0) + 1
        kept.append((unit, d, last, False))
    for i in range(200):  # open
        d = "%s-O%04d" % (unit[-6:-4], i)
        sub = T0 + dt.timedelta(days=rnd.uniform(0, 60))
        ev(unit, d, "submitted", sub, channel="direct")
        ev(unit, d, "received", sub + dt.timedelta(hours=1),
           due_at=(sub + dt.timedelta(days=90)).isoformat())
        received[(unit, month(sub + dt.timedelta(hours=1)))] = \
            received.get((unit, month(sub + dt.timedelta(hours=1))), 0) + 1
        kept.append((unit, d, sub, True))
    for i in range(200):  # fragments never received
        d = "%s-F%04d" % (unit[-6:-4], i)
        sub = T0 + dt.timedelta(days=rnd.uniform(0, 60))
        ev(unit, d, "submitted", sub, channel="postal")
        kept.append((unit, d, sub, False))
events.sort(key=lambda e: (e[0], e[1]))
watermark = events[-1][0]
horizon = (watermark - dt.timedelta(days=30)).date()  # local days: VN times
with open(tmp + "/events.jsonl", "w") as f:
    for _, _, rec in events:
        f.write(json.dumps(rec) + "\n")
with open(tmp + "/expected.txt", "w") as f:  # unit dossier kept? listed-day
    for unit, d, last, is_open in kept:
        day = (last.date() - dt.date(1970, 1, 1)).days
        keep = is_open or last.date() >= horizon
        f.write("%s %s %d %s\n" % (unit, d, 1 if keep else 0, "-" if is_open else day))
with open(tmp + "/counts.txt", "w") as f:
    for (unit, m), c in sorted(received.items()):
        f.write("%s %s received %d\n" % (unit, m, c))
    for (unit, m), c in sorted(resolved.items()):
        f.write("%s %s resolved %d\n" % (unit, m, c))
print("%d events, watermark %s, horizon %s" % (len(events), watermark, horizon), file=sys.stderr)
PY
e2e_log "$(wc -l <"$E2E_TMP/events.jsonl") events; $(awk '$3 == 0' "$E2E_TMP/expected.txt" | wc -l) states to delete"

"$REPLAY" --brokers "$CHISO_BROKERS" --topic.prefix "$P" --topic.partitions 1 --create-topics \
    "$E2E_TMP/events.jsonl" 2>"$E2E_TMP/replay.log" ||
    e2e_fail "replay failed: $(tail -3 "$E2E_TMP/replay.log")"

keys() { e2e_redis --scan --pattern "${P}chiso:{*}:d:*" | sort; }
METRICS=$(e2e_free_port)
start_classify() {
    e2e_bg "classify$1" "$CLASSIFY" --brokers "$CHISO_BROKERS" --topic.prefix "$P" \
        --redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" \
        --redis.prefix "${P}chiso" --group.id "${P}classify" --metrics.port "$METRICS" \
        --retention.days 30 --reap.interval.ms 100 --batch.max 10 --commit.interval.ms 3000
    CLASSIFY_PID=$E2E_LAST_PID
}
start_classify 0
# killed as the watermark passes three dates, while states are written and
# others deleted (the horizon follows the watermark 30 days behind)
i=0
for date in 2025-06-25 2025-07-15 2025-07-30; do
    i=$((i + 1))
    at=$(date -d "${date}T00:00:00+07:00" +%s)
    e2e_wait_for "[ \"\$(e2e_redis get '${P}chiso:watermark')\" -ge $at ]" 120
    e2e_pause 0 0.3
    kill -KILL "$CLASSIFY_PID" 2>/dev/null || e2e_fail "chiso-classify stopped on its own"
    wait "$CLASSIFY_PID" 2>/dev/null || true
    e2e_log "killed chiso-classify (SIGKILL) #$i: watermark $(date -u -d "@$(e2e_redis get "${P}chiso:watermark")" +%F), $(keys | wc -l) states"
    start_classify "$i"
done
"$VERIFY" --brokers "$CHISO_BROKERS" --topic.prefix "$P" --check committed --group "${P}classify" \
    --timeout.s 180 >"$E2E_TMP/committed.out" ||
    e2e_fail "classify did not finish: $(cat "$E2E_TMP/committed.out")"

# the states the rule keeps, once the reaper has caught up
awk -v p="${P}chiso" '$3 == 1 { printf "%s:{%s}:d:%s\n", p, $1, $2 }' "$E2E_TMP/expected.txt" |
    sort >"$E2E_TMP/expected.keys"
e2e_wait_for "keys | cmp -s - '$E2E_TMP/expected.keys'" 60 0.5 ||
    true # e2e_wait_for fails the test itself
e2e_log "states kept: $(wc -l <"$E2E_TMP/expected.keys"), as the rule says"

# every kept state not open is on its unit's list under its last fact's day
for u in 000.00.61.H31 000.00.62.H31; do
    e2e_redis lrange "${P}chiso:{$u}:reap" 0 -1 | sed "s/^/$u /"
done >"$E2E_TMP/lists.txt"
python3 - "$E2E_TMP/expected.txt" "$E2E_TMP/lists.txt" <<'PY' || e2e_fail "a kept state is not listed"
import sys
listed = set()
for line in open(sys.argv[2]):
    unit, entry = line.split()
    day, dossier = entry.split(":", 1)
    listed.add((unit, dossier, day))
missing = [l.split()[:2] for l in open(sys.argv[1])
           if l.split()[2] == "1" and l.split()[3] != "-" and
           (l.split()[0], l.split()[1], l.split()[3]) not in listed]
assert not missing, "%d kept states not listed, e.g. %s" % (len(missing), missing[:3])
PY
e2e_assert_eq "" "$(e2e_kcat -C -t "${P}deadletter" -e -q 2>/dev/null | head -1)" "dead letters"

# nothing lost, nothing counted twice
"$VERIFY" --redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" \
    --redis.prefix "${P}chiso" --check fold >/dev/null || e2e_fail "folding the journals"
while read -r unit m field want; do
    e2e_assert_eq "$want" "$(e2e_redis hget "${P}chiso:{$unit}:c:$m" "$field")" "$field $unit $m"
done <"$E2E_TMP/counts.txt"
e2e_stop "$CLASSIFY_PID" 30 || e2e_fail "chiso-classify did not exit cleanly"
e2e_pass
