#!/bin/sh
# test_schema.sh CHISO_SCORE PYTHON3 SRC_DIR WORK_DIR
#
# The snapshot chiso-score prints for every docs/examples/score-*.json is
# valid against docs/schemas/snapshot.schema.json (tests/tools/validate_json.py),
# compact and --pretty alike. Then the other side: snapshots broken one way
# each (an indicator missing, a rate above 1, a bad period, ...) must each
# fail, so a schema that accepts too much fails this test.
set -eu
score=$1 py=$2 src=$3 work=$4
schema=$src/docs/schemas/snapshot.schema.json
check="$py $src/tests/tools/validate_json.py $schema"

fail() {
    echo "score.schema: FAIL: $*" >&2
    exit 1
}

rm -rf "$work"
mkdir -p "$work"
n=0
for f in "$src"/docs/examples/score-*.json; do
    "$score" "$f" >>"$work/good.jsonl" || fail "chiso-score $f exited $?"
    "$score" --pretty "$f" >"$work/pretty.json" || fail "chiso-score --pretty $f exited $?"
    "$py" -c 'import json, sys; print(json.dumps(json.load(sys.stdin), ensure_ascii=False))' \
        <"$work/pretty.json" >>"$work/pretty.jsonl"
    n=$((n + 1))
done
[ "$n" -ge 2 ] || fail "expected at least 2 examples in docs/examples, found $n"
$check "$work/good.jsonl" || fail "an example's snapshot does not match the schema"
$check "$work/pretty.jsonl" || fail "a --pretty snapshot does not match the schema"

# One broken copy of the first snapshot per line.
"$py" - "$work/good.jsonl" >"$work/bad.jsonl" <<'PY'
import copy, json, sys
good = json.loads(open(sys.argv[1], encoding="utf-8").readline())
def broken(change):
    doc = copy.deepcopy(good)
    change(doc)
    print(json.dumps(doc, ensure_ascii=False))
broken(lambda d: d["indicators"].pop())                      # 20 indicators
broken(lambda d: d["indicators"].reverse())                  # ids out of order
broken(lambda d: d["indicators"][4].update(rate=1.5))        # rate above 1
broken(lambda d: d["indicators"][4].update(rate="0.9"))      # rate not a number
broken(lambda d: d["indicators"][0].pop("lost"))             # a member missing
broken(lambda d: d["indicators"][0].update(den=-1))          # a negative count
broken(lambda d: d.update(period="2025-13"))                 # no such month
broken(lambda d: d.update(period="2025-07-01"))              # a day is no period
broken(lambda d: d.update(as_of="2025-10-01 08:00"))         # not RFC 3339
broken(lambda d: d.pop("rank"))                              # rank required
broken(lambda d: d.update(rank=0))                           # ranks start at 1
broken(lambda d: d["groups6"].pop())                         # five of six groups
broken(lambda d: d["counts"].pop("open_overdue"))            # a count missing
broken(lambda d: d["full_process"].update(gap=1.5))          # gap not an integer
broken(lambda d: d.update(v=2))                              # another version
broken(lambda d: d.update(kind="district"))                  # unknown kind
PY
nbad=$(wc -l <"$work/bad.jsonl")
[ "$nbad" -eq 16 ] || fail "expected 16 broken snapshots, made $nbad"

# Each line must fail: at least one "FILE:LINE: PATH: message" for it.
if $check "$work/bad.jsonl" >"$work/bad.out"; then
    fail "the broken snapshots passed the schema"
fi
i=0
while [ "$i" -lt "$nbad" ]; do
    i=$((i + 1))
    grep -q "^$work/bad.jsonl:$i: /" "$work/bad.out" ||
        fail "broken snapshot $i passed the schema: $(sed -n "${i}p" "$work/bad.jsonl")"
done
echo "score.schema: $n examples valid, $nbad broken snapshots rejected"
