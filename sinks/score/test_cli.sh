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
expect 2 "unknown rule set 'nope' (known: 766-2022-dvcqg)" "{$ok}" --rules nope
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
echo "score.cli: all checks passed"
