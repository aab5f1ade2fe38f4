#!/usr/bin/env bash
# Every ranking of a period has the same members (docs/snapshot.md,
# "Sweeps"). Two departments of a province: A's only month in 2025-Q4 is
# in its :months index with no counters (its open dossiers' bucket there
# emptied); B has counters in October. The full sweep ranks both in the
# quarter. Then B changes in November: the sweep of 2025-Q4 for B alone
# ranks A too, so B's snapshot says rank_of 2, as A's does, and the
# quarter's rank set keeps both. The catalog is on Kafka; the counters are
# written into Redis by hand; chiso-snapshot sweeps them.
. "$(dirname "$0")/lib.sh"

SNAPSHOT=$(e2e_bin chiso-snapshot)
P=$(e2e_prefix)
K="${P}chiso"
PROV=000.00.00.H99
A=000.00.01.H99
B=000.00.02.H99
command -v kcat >/dev/null || e2e_fail "kcat is not installed (deploy/local/deps.sh installs it)"

e2e_create_topic "${P}catalog.units"
{
    printf '%s\t{"v":1,"unit":"%s","name":"Tỉnh Thử","kind":"province","parent":null,"e_copy_certification":false,"target_full_process":0.7}\n' "$PROV" "$PROV"
    for u in "$A" "$B"; do
        printf '%s\t{"v":1,"unit":"%s","name":"Sở %s","kind":"department","parent":"%s","e_copy_certification":false,"target_full_process":0.7}\n' "$u" "$u" "$u" "$PROV"
    done
} | kcat -b "$CHISO_BROKERS" -P -t "${P}catalog.units" -K $'\t' || e2e_fail "producing the catalog failed"

e2e_redis sadd "$K:units" "$A" "$B" >/dev/null
e2e_redis sadd "$K:{$A}:months" 2025-10 >/dev/null
e2e_redis sadd "$K:{$B}:months" 2025-10 >/dev/null
for p in 2025-10 2025-Q4 2025; do
    e2e_redis hset "$K:{$B}:c:$p" received 2 >/dev/null
done

e2e_bg snapshot "$SNAPSHOT" --brokers "$CHISO_BROKERS" --topic.prefix "$P" \
    --redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "$K" \
    --interval.ms 200 --metrics.port 0
SNAP_PID=$E2E_LAST_PID

member() { # member UNIT PERIOD PATH...: a member of the unit's stored snapshot ("" when none)
    local u=$1 p=$2
    shift 2
    e2e_redis get "$K:{$u}:s:$p" | python3 -c '
import json, sys
text = sys.stdin.read().strip()
v = json.loads(text) if text else None
for k in sys.argv[1:]:
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)' "$@"
}
rank_set() { # the quarter's rank set: its members, sorted
    local key
    e2e_redis zrange "$K:rank:$PROV:2025-Q4" 0 -1 | sort | tr '\n' ' '
}

# the full sweep: both units in the quarter
e2e_wait_for "[ \"\$(member $A 2025-Q4 rank_of)\" = 2 ] && [ \"\$(member $B 2025-Q4 rank_of)\" = 2 ]" 60 0.2
e2e_assert_eq 0 "$(member $A 2025-Q4 counts received)" "A's quarter: no counters"
e2e_assert_eq 2 "$(member $B 2025-Q4 counts received)" "B's quarter"
e2e_assert_eq "$A $B " "$(rank_set)" "the full sweep ranks both units in 2025-Q4"

# B changes in November (classify marks each period it changes dirty): a
# sweep of 2025-Q4 for B's change alone
e2e_redis sadd "$K:{$B}:months" 2025-11 >/dev/null
for p in 2025-11 2025-Q4 2025; do
    e2e_redis hincrby "$K:{$B}:c:$p" received 1 >/dev/null
done
e2e_redis sadd "$K:dirty" "$B|2025-11" "$B|2025-Q4" "$B|2025" >/dev/null
e2e_wait_for "[ \"\$(member $B 2025-Q4 counts received)\" = 3 ]" 60 0.2
e2e_assert_eq 2 "$(member $B 2025-Q4 rank_of)" "B's quarter, swept for B alone, ranks A too"
e2e_assert_eq 2 "$(member $A 2025-Q4 rank_of)" "A's quarter snapshot still says 2"
e2e_assert_eq "$A $B " "$(rank_set)" "the quarter's rank set keeps both units"

e2e_stop "$SNAP_PID" 30 || e2e_fail "chiso-snapshot did not exit cleanly on SIGTERM"
e2e_pass
