#!/usr/bin/env bash
# parse_check.sh BENCH SIMULATE: chiso-bench-parse on a day of the
# simulator's events (--output stdout) must report every line as an event
# and none rejected; a line the contract rejects must be counted as such;
# bad usage must exit 2.
set -euo pipefail
BENCH=$1 SIM=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$SIM" --output stdout --start 2025-07-01 --days 1 --dossiers-per-day 500 --seed 3 \
    --self-check false >"$tmp/ev.jsonl" 2>"$tmp/sim.log" || fail "the simulator failed: $(tail -3 "$tmp/sim.log")"
lines=$(grep -c . "$tmp/ev.jsonl")
[ "$lines" -gt 100 ] || fail "the simulator wrote only $lines lines"
"$BENCH" --repeat 3 "$tmp/ev.jsonl" >"$tmp/out" || fail "chiso-bench-parse failed"
cat "$tmp/out"
grep -Eq "^events +$lines " "$tmp/out" || fail "events is not the input's $lines lines"
grep -Eq "^rejected +0$" "$tmp/out" || fail "a simulator event was rejected"
grep -Eq "^ns per event +[0-9]+\.[0-9]$" "$tmp/out" || fail "no time per event"

# one line of the contract's rejects (no dossier_id), read from stdin
{ head -5 "$tmp/ev.jsonl"; echo '{"v":1,"event_id":"x#1","unit":"u","procedure":"p","type":"paid","at":"2025-07-01T08:00:00+07:00","method":"online"}'; } |
    "$BENCH" --repeat 2 >"$tmp/out2" || fail "chiso-bench-parse failed on stdin"
grep -Eq "^events +6 " "$tmp/out2" || fail "stdin: not 6 events"
grep -Eq "^rejected +1$" "$tmp/out2" || fail "stdin: the bad line was not counted as rejected"

set +e
"$BENCH" --repeat 0 "$tmp/ev.jsonl" 2>/dev/null; [ $? = 2 ] || fail "--repeat 0 did not exit 2"
"$BENCH" a b 2>/dev/null; [ $? = 2 ] || fail "two files did not exit 2"
"$BENCH" "$tmp/missing" 2>/dev/null; [ $? = 1 ] || fail "a missing file did not exit 1"
"$BENCH" --help | grep -q "usage: chiso-bench-parse" || fail "no --help"
echo "PASS"
