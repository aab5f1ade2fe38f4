#!/usr/bin/env bash
# Journal folds on a real Redis (core/adapters/src/journal.c, through chiso-verify
# --check fold): lines are summed into their hashes (a procedure that
# reaches 0 is removed, a counter at 0 stays), an incomplete last line is
# left for later, a long journal is folded whole,
# folds racing appends and each other lose and double nothing (also a
# fold whose journal begins again with the text it read over counters
# another fold has moved), and a
# malformed journal is left as it is with the fold failing; a fold that
# leaves a rest begins it with a new mark. Then chiso-classify's own
# folder: with journal.fold.kb 4 and no reader that folds, classify folds
# its units' journals itself (beside its batch loop), every journal ends
# at most 4 KiB, and every counter is exact; chiso-snapshot, running beside
# it and reading each journal's new part with its hashes without folding
# (journals folded under it read whole again), publishes the truth's
# scores; a journal without a mark (a version before marks) it reads whole
# every sweep, counts once and never folds by age; and it folds a journal
# with a mark it has read for journal.fold.s.
. "$(dirname "$0")/lib.sh"

VERIFY=$(e2e_bin chiso-verify)
P=$(e2e_prefix)
R=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso")
U=000.00.07.H31
K="${P}chiso:{$U}"
J="$K:j"
fold() { "$VERIFY" "${R[@]}" --check fold >"$E2E_TMP/fold.out" 2>&1; }
journal() { printf '%b' "$1" | e2e_redis -x append "$J" >/dev/null; }
field() { e2e_redis hget "$K:$1" "$2"; }

# ---- 1. lines into hashes ----
e2e_redis hset "$K:c:2025-07" received 5 closed 2 >/dev/null
e2e_redis hset "$K:po:2025-07" 1.001 1 1.002 4 >/dev/null
journal 'c:2025-07 received 3\nc:2025-07 closed -2\npo:2025-07 1.001 -1\npo:2025-07 1.003 2\n'
journal 'c:2025-07-01 received 3\nc:2025-07 received -1\n'
fold || e2e_fail "fold failed: $(cat "$E2E_TMP/fold.out")"
e2e_assert_eq 7 "$(field c:2025-07 received)" "received summed over two lines and the hash"
e2e_assert_eq 0 "$(field c:2025-07 closed)" "a counter at 0 stays"
e2e_assert_eq 0 "$(e2e_redis hexists "$K:po:2025-07" 1.001)" "a procedure at 0 is removed"
e2e_assert_eq 4 "$(field po:2025-07 1.002)" "an untouched procedure"
e2e_assert_eq 2 "$(field po:2025-07 1.003)" "a new procedure"
e2e_assert_eq 3 "$(field c:2025-07-01 received)" "a new hash"
# changes that cancel out still leave their field, as writing them one by
# one did: the hash of a period the unit touched exists
journal 'c:2025-06 overdue_began 1\npo:2025-06 1.009 1\n'
journal 'c:2025-06 overdue_began -1\npo:2025-06 1.009 -1\n'
fold || e2e_fail "fold failed: $(cat "$E2E_TMP/fold.out")"
e2e_assert_eq 0 "$(field c:2025-06 overdue_began)" "a counter whose changes cancel out"
e2e_assert_eq 0 "$(e2e_redis exists "$K:po:2025-06")" "a procedure whose changes cancel out"
e2e_assert_eq 0 "$(e2e_redis exists "$J")" "the folded journal is gone"

# ---- 2. an incomplete last line waits ----
journal 'c:2025 received 1\nc:2025 rec'
fold || e2e_fail "fold failed: $(cat "$E2E_TMP/fold.out")"
e2e_assert_eq 1 "$(field c:2025 received)" "the whole line folded"
e2e_assert_eq "c:2025 rec" "$(e2e_redis getrange "$J" 49 -1)" "the incomplete line left"
[[ "$(e2e_redis getrange "$J" 0 48)" =~ ^po:j\ ([0-9a-f]{16})\ 1$'\n'po:j\ ([0-9a-f]{16})\ -1$ ]] &&
    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] ||
    e2e_fail "the rest does not begin with a mark: $(e2e_redis getrange "$J" 0 48)"
journal 'eived 2\n'
fold || e2e_fail "fold failed: $(cat "$E2E_TMP/fold.out")"
e2e_assert_eq 3 "$(field c:2025 received)" "the completed line folded"
e2e_assert_eq 0 "$(e2e_redis exists "$J")" "nothing left"

# ---- 3. a long journal (410 KiB), folded whole ----
python3 -c 'import sys; sys.stdout.write("c:2025-Q3 received 1\n" * 20000)' |
    e2e_redis -x append "$J" >/dev/null
e2e_assert_eq 420000 "$(e2e_redis strlen "$J")" "a 410 KiB journal"
fold || e2e_fail "fold failed: $(cat "$E2E_TMP/fold.out")"
e2e_assert_eq 20000 "$(field c:2025-Q3 received)" "every line of a long journal"
e2e_assert_eq 0 "$(e2e_redis exists "$J")" "nothing left"

# ---- 4. folds racing appends and each other ----
folder() { for _ in $(seq 25); do fold || return 1; done; }
folder & F1=$!
folder & F2=$!
for i in $(seq 300); do
    journal "c:2025-08 received 1\\npo:2025-08 P$((i % 7)) 1\\n"
done
wait "$F1" || e2e_fail "a racing fold failed: $(cat "$E2E_TMP/fold.out")"
wait "$F2" || e2e_fail "a racing fold failed: $(cat "$E2E_TMP/fold.out")"
fold || e2e_fail "fold failed: $(cat "$E2E_TMP/fold.out")"
e2e_assert_eq 300 "$(field c:2025-08 received)" "every raced append counted once"
e2e_assert_eq 42 "$(field po:2025-08 P0)" "procedure P0 (i = 7, 14, ... 294)"
e2e_assert_eq 7 "$(e2e_redis hlen "$K:po:2025-08")" "seven procedures"
e2e_assert_eq 0 "$(e2e_redis exists "$J")" "nothing left"

# ---- 4b. a fold whose reads went stale ----
# Writes are paused (CLIENT PAUSE WRITE: reads go on, writes wait in
# order), so the order is set: fold A reads and its write waits, an append
# of the very line A read waits, fold B reads what A read and its write
# waits. Then A folds the line, the append puts the same text back, and B's
# write finds the journal beginning with the text it read over counters A
# has moved since: only the values compared tell, and B must read again.
# Received is then 2; a fold trusting the text alone makes it 1.
blocked() { e2e_redis client list | grep -c 'flags=b' || true; }
# race TEXT LINE: the journal holds TEXT; fold A, an append of LINE, fold B,
# in that order, each waiting on the paused writes, then all run
race() {
    journal "$1"
    e2e_redis client pause 10000 write >/dev/null
    "$VERIFY" "${R[@]}" --check fold >"$E2E_TMP/fold-a.out" 2>&1 &
    A=$!
    e2e_wait_for '[ "$(blocked)" -ge 1 ]' 8 0.05
    printf '%b' "$2" | e2e_redis -x append "$J" >/dev/null &
    APPEND=$!
    e2e_wait_for '[ "$(blocked)" -ge 2 ]' 8 0.05
    "$VERIFY" "${R[@]}" --check fold >"$E2E_TMP/fold-b.out" 2>&1 &
    B=$!
    e2e_wait_for '[ "$(blocked)" -ge 3 ]' 8 0.05
    e2e_redis client unpause >/dev/null
    wait "$A" || e2e_fail "fold A failed: $(cat "$E2E_TMP/fold-a.out")"
    wait "$APPEND" || e2e_fail "the append failed"
    wait "$B" || e2e_fail "fold B failed: $(cat "$E2E_TMP/fold-b.out")"
}
race 'c:2025-10 received 1\n' 'c:2025-10 received 1\n'
e2e_assert_eq 2 "$(field c:2025-10 received)" "a stale fold read again, nothing lost"
e2e_assert_eq 0 "$(e2e_redis exists "$J")" "nothing left"

# ---- 4c. the same race over a journal that begins with a mark ----
# A's fold moves the mark, so B's write finds the journal no longer
# beginning with the text it read (the appended line has no mark): B reads
# again. The values need no comparing there (journal.h).
race 'po:j 00000000000000c4 1\npo:j 00000000000000c4 -1\nc:2025-12 received 1\n' \
    'c:2025-12 received 1\n'
e2e_assert_eq 2 "$(field c:2025-12 received)" "a stale fold over a mark read again, nothing lost"
e2e_assert_eq 0 "$(e2e_redis exists "$J")" "nothing left"

# ---- 5. a malformed journal is left as it is ----
journal 'c:2025-09 received 1\nc:2025-09 received x\n'
if fold; then
    e2e_fail "a malformed journal folded: $(cat "$E2E_TMP/fold.out")"
fi
grep -q "malformed" "$E2E_TMP/fold.out" || e2e_fail "no reason given: $(cat "$E2E_TMP/fold.out")"
e2e_assert_eq "$(printf 'c:2025-09 received 1\nc:2025-09 received x')" "$(e2e_redis get "$J")" \
    "the journal untouched"
e2e_assert_eq 0 "$(e2e_redis exists "$K:c:2025-09")" "nothing of it applied"

# a counter that is not an integer stops the fold the same way
e2e_redis del "$J" >/dev/null
e2e_redis hset "$K:c:2025-11" received x >/dev/null
journal 'c:2025-11 received 1\n'
if fold; then
    e2e_fail "a fold over a counter that is no integer succeeded: $(cat "$E2E_TMP/fold.out")"
fi
grep -q "not an integer" "$E2E_TMP/fold.out" || e2e_fail "no reason given: $(cat "$E2E_TMP/fold.out")"
e2e_assert_eq "$(printf 'c:2025-11 received 1')" "$(e2e_redis get "$J")" "the journal untouched"
e2e_assert_eq x "$(field c:2025-11 received)" "the counter untouched"
e2e_redis del "$J" "$K:c:2025-11" >/dev/null

# ---- 6. chiso-classify folds long journals itself; chiso-snapshot reads
# each unit's hashes and journal in one transaction, never folding them
# while it reads them, and publishes the truth's scores ----
SIM=$(e2e_bin chiso-simulate)
CLASSIFY=$(e2e_bin chiso-classify)
SNAPSHOT=$(e2e_bin chiso-snapshot)
METRICS=$(e2e_free_port)
SNAP_METRICS=$(e2e_free_port)
COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "${P}cl.")
R6=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}cl")
e2e_bg snapshot "$SNAPSHOT" "${COMMON[@]}" "${R6[@]}" --interval.ms 300 --journal.fold.s 3 \
    --metrics.port "$SNAP_METRICS"
SNAP_PID=$E2E_LAST_PID
e2e_bg classify "$CLASSIFY" "${COMMON[@]}" "${R6[@]}" --group.id "${P}cl" \
    --journal.fold.kb 4 --metrics.port "$METRICS"
"$SIM" "${COMMON[@]}" --seed 11 --start 2025-07-30 --days 3 --dossiers-per-day 1500 \
    --duplicates 0.05 --reorder 0.10 --truth "$E2E_TMP/truth.json" 2>"$E2E_TMP/simulate.log" ||
    e2e_fail "simulator failed: $(tail -5 "$E2E_TMP/simulate.log")"
"$VERIFY" "${COMMON[@]}" --check committed --group "${P}cl" --timeout.s 300 >"$E2E_TMP/committed.out" 2>&1 ||
    e2e_fail "classify did not commit every record: $(tail -3 "$E2E_TMP/committed.out")"
longest() { # the longest journal under the prefix, in bytes
    e2e_redis eval "local m = 0; for _, k in ipairs(redis.call('keys', ARGV[1])) do
        m = math.max(m, redis.call('strlen', k)) end; return m" 0 "${P}cl:{*}:j"
}
# the folder works beside the batch loop: wait for it to catch up
e2e_wait_for "[ \"\$(longest)\" -le 4096 ]" 60 0.2
folds=$(curl -sf "http://127.0.0.1:$METRICS/metrics" | awk '$1 == "chiso_classify_journal_folds_total" { print $2 }')
e2e_log "classify folded $folds journals; the longest left is $(longest) bytes"
[ "${folds:-0}" -gt 0 ] || e2e_fail "classify folded no journal"
# the counters are in the hashes before any reader folded them
[ -n "$(e2e_redis --scan --pattern "${P}cl:{*}:c:2025-07" | head -1)" ] ||
    e2e_fail "no counter hash written by classify's folds"
# the snapshot's last sweeps read hashes and journals both: some journal
# still holds lines (the folder folds past 4 KiB only)
e2e_wait_for "[ \"\$(e2e_redis scard ${P}cl:dirty)\" = 0 ]" 60 0.3
sleep 1
[ "$(longest)" -gt 49 ] || e2e_fail "every journal is empty: the snapshot never added one"
"$VERIFY" "${COMMON[@]}" "${R6[@]}" --truth "$E2E_TMP/truth.json" --check counters,scores \
    >"$E2E_TMP/verify.out" 2>&1 ||
    e2e_fail "counters or scores differ: $(tail -5 "$E2E_TMP/verify.out")"

# ---- 7. chiso-snapshot folds a journal it has read for journal.fold.s ----
# (chiso-verify folded every journal above; a sweep reads every unit)
snap_metric() {
    curl -sf "http://127.0.0.1:$SNAP_METRICS/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
UNIT=$(e2e_redis srandmember "${P}cl:units")
JU="${P}cl:{$UNIT}:j"
# first, a journal without a mark (as the version before marks wrote
# them): read whole by every sweep, counted once, never folded by age
received() { # the unit's received in its stored July snapshot
    e2e_redis get "${P}cl:{$UNIT}:s:2025-07" | python3 -c 'import json, sys; print(json.load(sys.stdin)["counts"]["received"])'
}
R0=$(received)
printf 'c:2025-07 received 1\n' | e2e_redis -x set "$JU" >/dev/null
e2e_redis sadd "${P}cl:dirty" "$UNIT|2025-07" >/dev/null
e2e_wait_for "[ \"\$(received)\" = $((R0 + 1)) ]" 30 0.2
SWEEPS=$(snap_metric chiso_snapshot_sweeps_total)
sleep 3.5
e2e_redis sadd "${P}cl:dirty" "$UNIT|2025-07" >/dev/null
e2e_wait_for "[ \"\$(snap_metric chiso_snapshot_sweeps_total)\" -gt $SWEEPS ]" 30 0.2
e2e_assert_eq $((R0 + 1)) "$(received)" "a journal without a mark, read again, counted once"
e2e_assert_eq 1 "$(e2e_redis exists "$JU")" "a journal without a mark is not folded by age"
"$VERIFY" "${R6[@]}" --check fold >"$E2E_TMP/fold.out" 2>&1 ||
    e2e_fail "fold failed: $(cat "$E2E_TMP/fold.out")"
# then a journal with a mark
BEFORE=$(e2e_redis hget "${P}cl:{$UNIT}:c:2025-07" received)
printf 'po:j 0123456789abcdef 1\npo:j 0123456789abcdef -1\nc:2025-07 received 1\n' |
    e2e_redis -x set "$JU" >/dev/null
FOLDS=$(snap_metric chiso_snapshot_journal_folds_total)
e2e_redis sadd "${P}cl:dirty" "$UNIT|2025-07" >/dev/null
e2e_wait_for "[ \"\$(e2e_redis scard ${P}cl:dirty)\" = 0 ]" 30 0.2
sleep 1
e2e_assert_eq 1 "$(e2e_redis exists "$JU")" "a journal read less than 3 s is not folded"
sleep 2.5
e2e_redis sadd "${P}cl:dirty" "$UNIT|2025-07" >/dev/null
e2e_wait_for "[ \"\$(snap_metric chiso_snapshot_journal_folds_total)\" -gt ${FOLDS:-0} ]" 30 0.2
e2e_assert_eq 0 "$(e2e_redis exists "$JU")" "the journal read for 3 s is folded"
e2e_assert_eq $((BEFORE + 1)) "$(e2e_redis hget "${P}cl:{$UNIT}:c:2025-07" received)" \
    "its line folded into the hash"
e2e_stop "$SNAP_PID" 30 || e2e_fail "chiso-snapshot did not exit cleanly on SIGTERM"
e2e_pass
