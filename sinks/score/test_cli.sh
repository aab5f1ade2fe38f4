#!/bin/sh
# test_cli.sh CHISO_SCORE SRC_DIR WORK_DIR
#
# chiso-score's command line: --help, --rules, FILE / stdin / '-', --pretty,
# and exit status 2 with a message naming the field and the problem for
# every kind of bad input.
set -eu
score=$1 src=$2 work=$3
example=$src/docs/examples/score-department.json

fail() {
    echo "score.cli: FAIL: $*" >&2
    exit 1
}

# expect STATUS PATTERN INPUT ARGS...: run chiso-score with INPUT on stdin;
# its exit status must be STATUS and its stderr must contain PATTERN.
expect() {
    want=$1 pattern=$2 input=$3
    shift 3
    set +e
    printf '%s' "$input" | "$score" "$@" >"$work/out" 2>"$work/err"
    got=$?
    set -e
    [ "$got" -eq "$want" ] || fail "chiso-score $*: exit $got, expected $want ($(cat "$work/err"))"
    [ -z "$pattern" ] || grep -qF -- "$pattern" "$work/err" || fail "chiso-score $*: stderr lacks '$pattern': $(cat "$work/err")"
    if [ "$want" -ne 0 ] && [ -s "$work/out" ]; then
        fail "chiso-score $*: printed on stdout although it failed"
    fi
}

rm -rf "$work"
mkdir -p "$work"

"$score" --help >"$work/help" || fail "--help exited $?"
grep -q '^usage: chiso-score' "$work/help" || fail "--help prints no usage"
grep -q -- '--rules NAME' "$work/help" || fail "--help does not list --rules"

# FILE, stdin and '-' print the same bytes; --rules with the default name too.
"$score" "$example" >"$work/file.json"
"$score" <"$example" >"$work/stdin.json"
"$score" - <"$example" >"$work/dash.json"
"$score" --rules 766-2022-dvcqg "$example" >"$work/rules.json"
cmp -s "$work/file.json" "$work/stdin.json" || fail "stdin differs from FILE"
cmp -s "$work/file.json" "$work/dash.json" || fail "'-' differs from FILE"
cmp -s "$work/file.json" "$work/rules.json" || fail "--rules 766-2022-dvcqg differs from the default"
[ "$(wc -l <"$work/file.json")" -eq 1 ] || fail "compact output is not one line"
"$score" --pretty "$example" >"$work/pretty.json"
[ "$(wc -l <"$work/pretty.json")" -gt 100 ] || fail "--pretty output is not indented"
grep -q '"unit_name":.*"Sở Tư pháp tỉnh Hưng Yên"' "$work/file.json" ||
    fail "the Vietnamese name is not printed as UTF-8"

ok='"unit":"U1","period":"2025-07"'
expect 0 "" "{$ok}"
expect 2 "unknown rule set 'nope' (known: 766-2022-dvcqg, 766-2022-resolved)" "{$ok}" --rules nope
expect 2 "bad arguments" "{$ok}" --bogus
expect 2 "one input document at most" "{$ok}" a.json b.json
expect 2 "cannot open" "" "$work/no-such-file.json"
expect 2 "the document is empty" ""
expect 2 "not valid JSON" "{$ok,"
expect 2 "not a JSON object" "[1]"
expect 2 "field 'unit': missing" '{"period":"2025-07"}'
expect 2 "field 'period': missing" '{"unit":"U1"}'
expect 2 "field 'unit': must be a unit code" '{"unit":"U 1","period":"2025-07"}'
expect 2 "field 'period': must be a month" '{"unit":"U1","period":"2025-07-01"}'
expect 2 "field 'kind': must be" "{$ok,\"kind\":\"district\"}"
expect 2 "field 'parent': a unit cannot be its own parent" "{$ok,\"parent\":\"U1\"}"
expect 2 "field 'target': must be a number from 0 to 1" "{$ok,\"target\":70}"
expect 2 "field 'as_of': must be an RFC 3339 time" "{$ok,\"as_of\":\"2025-07-20\"}"
expect 2 "field 'name': must be 1..255 bytes" "{$ok,\"name\":\"\"}"
expect 2 "field 'received': must be an integer from 0" "{$ok,\"received\":-1}"
expect 2 "field 'online': must be an integer from 0" "{$ok,\"online\":1.5}"
expect 2 "field 'procedures': must be an integer from 0" "{$ok,\"procedures\":\"12\"}"
expect 2 "field 'feedback_rated': must be an integer from 0" "{$ok,\"feedback_rated\":1e16}"
expect 2 "field 'recieved': unknown" "{$ok,\"recieved\":3}"
expect 2 "field 'received': appears twice" "{$ok,\"received\":3,\"received\":4}"
# The portal's own figures in, its points out (docs/scoring.md): DOMAIN.md's
# published figures of a real province quarter give #5 20 x 403,016 /
# 464,494 = 17.35, #8 6 (0.988 >= 0.5), #12 6 x 334,358 / 464,494 = 4.32,
# #13 4 x 83,994 / 464,494 = 0.72, #21 6 x (402,886 / 464,494) / 0.9 =
# 5.78; #15 null/null is not applicable: its full 2 points.
portal=$src/docs/examples/score-portal-figures.json
"$score" "$portal" >"$work/portal.json" || fail "the portal's figures do not score"
for want in '"id":5,[^}]*"num":403016,"den":464494,[^}]*"points":17.35,' \
    '"id":8,[^}]*"points":6,' '"id":12,[^}]*"points":4.32,' '"id":13,[^}]*"points":0.72,' \
    '"id":15,[^}]*"num":null,"den":null,"rate":null,"points":2,"max":2,"lost":0,"need":0' \
    '"id":21,[^}]*"num":402886,"den":464494,[^}]*"points":5.78,[^}]*"need":15159,' \
    '"total":74.52,'; do
    grep -q "$want" "$work/portal.json" || fail "portal figures: no match for $want"
done
# what-if: 6,984 more dossiers on time (410,000 of 464,494) -> 20 x 410,000 /
# 464,494 = 17.65, +0.30; the total follows; stdout is the changed snapshot
"$score" --what-if 5=410000 "$portal" >"$work/whatif.json" 2>"$work/whatif.err" ||
    fail "--what-if exited $?"
grep -q '"id":5,[^}]*"num":410000,[^}]*"points":17.65,' "$work/whatif.json" ||
    fail "--what-if: #5 not changed"
grep -qF 'what-if: total 74.52 -> 74.82 (+0.30)' "$work/whatif.err" ||
    fail "--what-if: stderr lacks the gain: $(cat "$work/whatif.err")"
grep -qF 'what-if: #5 17.35 -> 17.65 (+0.30)' "$work/whatif.err" ||
    fail "--what-if: stderr lacks #5's gain"
"$score" --what-if judged_on_time=1290 "$example" >/dev/null 2>"$work/whatif.err" ||
    fail "--what-if on an input exited $?"
grep -qF 'what-if: #5 19.57 -> 20.00 (+0.43)' "$work/whatif.err" ||
    fail "--what-if on an input: $(cat "$work/whatif.err")"

ind='"indicators":'
expect 2 "--what-if 5=999999: an indicator number needs" "{$ok,$ind{\"5\":{\"num\":1,\"den\":2}}}" \
    --what-if 5=999999
expect 2 "--what-if x: expected WHAT=N" "{$ok}" --what-if x
expect 2 "'nope' is no score input" "{$ok}" --what-if nope=1
expect 2 "keys must be indicator numbers" "{$ok,$ind{\"22\":{\"num\":1,\"den\":2}}}"
expect 2 "keys must be indicator numbers" "{$ok,$ind{\"05\":{\"num\":1,\"den\":2}}}"
expect 2 "indicator 5 must be" "{$ok,$ind{\"5\":{\"num\":1}}}"
expect 2 "indicator 5: num and den must both be null" "{$ok,$ind{\"5\":{\"num\":null,\"den\":2}}}"
expect 2 "indicator 5: num 3 is over den 2" "{$ok,$ind{\"5\":{\"num\":3,\"den\":2}}}"
expect 2 "indicator 5 appears twice" "{$ok,$ind{\"5\":{\"num\":1,\"den\":2},\"5\":{\"num\":1,\"den\":2}}}"
expect 2 "either the portal's figures or the score inputs" "{$ok,\"received\":4,$ind{}}"
expect 2 "field 'indicators': must be an object" "{$ok,$ind[]}"
echo "score.cli: all checks passed"
