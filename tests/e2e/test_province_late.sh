#!/usr/bin/env bash
# The province's unit record arrives after chiso-snapshot has published the
# province roll-up under its fallback code ("province"): a stage started
# before the catalog was loaded, as happens when everything starts at once.
# The fallback's snapshots must then be retracted (a tombstone on the
# compacted scores topic, DEL in Redis) and the roll-up published under the
# province's own code; nothing may stay behind under "province".
. "$(dirname "$0")/lib.sh"

SIM=$(e2e_bin chiso-simulate)
CLASSIFY=$(e2e_bin chiso-classify)
SNAPSHOT=$(e2e_bin chiso-snapshot)
P=$(e2e_prefix)
COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "$P")
REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso")
KCAT=(kcat -b "$CHISO_BROKERS")
command -v kcat >/dev/null || e2e_fail "kcat is not installed (deploy/local/deps.sh installs it)"

# one day of a small province's events, with no catalog on Kafka
"$SIM" --output stdout --seed 5 --start 2025-07-01 --days 1 --dossiers-per-day 200 \
    --units-out "$E2E_TMP/units.jsonl" >"$E2E_TMP/events.jsonl" 2>"$E2E_TMP/simulate.log" ||
    e2e_fail "simulating failed: $(tail -3 "$E2E_TMP/simulate.log")"
PROVINCE=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    u = json.loads(line)
    if u["kind"] == "province":
        print(u["unit"])' "$E2E_TMP/units.jsonl")
[ -n "$PROVINCE" ] || e2e_fail "the simulated catalog has no province unit"

e2e_bg snapshot "$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --interval.ms 300 --metrics.port 0
SNAP_PID=$E2E_LAST_PID
e2e_bg classify "$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}classify" \
    --catalog.wait.s 0 --metrics.port 0
CLASSIFY_PID=$E2E_LAST_PID
e2e_wait_for "grep -q 'consuming' '$E2E_TMP/classify.log'" 60 0.2
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    print(json.loads(line)["dossier_id"] + "\t" + line.rstrip("\n"))' "$E2E_TMP/events.jsonl" |
    "${KCAT[@]}" -P -t "${P}dossier.events" -K $'\t' || e2e_fail "producing the events failed"
e2e_wait_for "[ -n \"\$(e2e_redis --scan --pattern '${P}chiso:{province}:s:*' | head -n 1)\" ]" 60 0.3
FALLBACK=$(e2e_redis --scan --pattern "${P}chiso:{province}:s:*" | wc -l)
e2e_log "the province rolled up under the fallback code: $FALLBACK snapshot(s)"

# now the catalog, province included
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    print(json.loads(line)["unit"] + "\t" + line.rstrip("\n"))' "$E2E_TMP/units.jsonl" |
    "${KCAT[@]}" -P -t "${P}catalog.units" -K $'\t' || e2e_fail "producing the catalog failed"
e2e_wait_for "[ -z \"\$(e2e_redis --scan --pattern '${P}chiso:{province}:s:*' | head -n 1)\" ]" 60 0.3
e2e_wait_for "[ \"\$(e2e_redis --scan --pattern '${P}chiso:{$PROVINCE}:s:*' | wc -l)\" -ge $FALLBACK ]" 60 0.3
grep -q "retracted $FALLBACK snapshot(s) of province" "$E2E_TMP/snapshot.log" ||
    e2e_fail "chiso-snapshot did not log the retraction of $FALLBACK snapshot(s)"
e2e_stop "$CLASSIFY_PID" 30 || e2e_fail "chiso-classify did not exit cleanly"
e2e_stop "$SNAP_PID" 30 || e2e_fail "chiso-snapshot did not exit cleanly"

# the topic as a compacted topic's reader sees it: the latest of each key
LATEST=$("${KCAT[@]}" -C -t "${P}scores" -e -q -Z -f '%k\t%S\n' | python3 -c '
import sys
latest = {}
for line in sys.stdin:
    k, size = line.rstrip("\n").split("\t")
    latest[k] = int(size) > 0
alive = [k for k, v in latest.items() if v]
print(sum(1 for k in alive if k.startswith("province|")), sum(1 for k in alive if k.startswith(sys.argv[1] + "|")))' "$PROVINCE")
read -r LEFT OWN <<<"$LATEST"
e2e_assert_eq 0 "$LEFT" "snapshots left under the fallback code on the scores topic"
[ "$OWN" -ge "$FALLBACK" ] || e2e_fail "only $OWN province snapshot(s) under $PROVINCE on the topic"
e2e_log "scores topic: 0 left under 'province', $OWN under $PROVINCE"
e2e_pass
