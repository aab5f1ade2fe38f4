#!/usr/bin/env bash
# chiso-catalog on a real Kafka. A CSV of units (byte-order mark, CRLF,
# Vietnamese names with commas and doubled quotes, a blank row, booleans as
# TRUE/no/1, an empty parent) and a JSON-lines file of procedures (unknown
# fields, `units` lists, a blank line) are loaded; kcat reads
# catalog.units and catalog.procedures back and every record, key and value,
# must equal what an independent Python reading of the same files expects
# (CONTRACT.md defaults filled in). Then:
#   - --dry-run prints exactly those records and produces nothing;
#   - a CSV with bad lines is refused whole (exit 1, each bad line named
#     FILE:LINE, nothing produced); with --skip-bad only its valid rows go;
#   - --tombstone deletes: a null record under the code;
#   - a second load of the same files adds the same records again (the
#     compacted topic keeps one per key);
#   - the catalog join: 100,000 other procedures come before the simulated
#     province's catalog on catalog.procedures, then its events; a
#     chiso-classify started without waiting for the catalog
#     (--catalog.wait.s 0) must still give every dossier its procedure's
#     service level: every counter, the service-level ones included, equals
#     the simulator's ground truth.
. "$(dirname "$0")/lib.sh"

CATALOG=$(e2e_bin chiso-catalog)
P=$(e2e_prefix)
COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "$P")
T_UNITS="${P}catalog.units"
T_PROCS="${P}catalog.procedures"

printf '\xef\xbb\xbf' >"$E2E_TMP/units.csv"
cat >>"$E2E_TMP/units.csv" <<'CSV'
unit,name,kind,parent,e_copy_certification,target_full_process
H21,"Tỉnh Hưng Yên",province,,TRUE,0.75
H21.42,"Sở Tư pháp, tỉnh ""Hưng Yên""",department,H21,no,
,,,,,
X.101,Phường Hiến Nam,commune,H21,1,0.8
X.102,"Xã Tân Hưng, huyện cũ",commune,H21,,
CSV
sed -i 's/$/\r/' "$E2E_TMP/units.csv"

cat >"$E2E_TMP/procedures.jsonl" <<'JSONL'
{"v":1,"procedure":"1.004227","name":"Đăng ký khai sinh","level":"full","eligible_full":true,"fee":false,"units":["X.101","X.102"],"note":"ignored"}

{"v":1,"procedure":"2.002154","name":"Cấp giấy phép xây dựng, \"nhà ở riêng lẻ\"","level":"partial","fee":true,"payment_integrated":true,"paper_result_required":true,"units":null}
{"v":1,"procedure":"1.001612","name":"Chứng thực bản sao điện tử","level":"none","announced_on_time":true,"published_on_time":true,"published_complete":true}
JSONL

# ---- the records to expect, from the files alone ----
python3 - "$E2E_TMP" <<'PY' || e2e_fail "could not compute the expected records"
import csv, json, sys
tmp = sys.argv[1]
units = []
with open(tmp + "/units.csv", encoding="utf-8-sig", newline="") as f:
    for row in csv.DictReader(f):
        if not any(row.values()):
            continue
        units.append({
            "v": 1, "unit": row["unit"], "name": row["name"], "kind": row["kind"],
            "parent": row["parent"] or None,
            "e_copy_certification": row["e_copy_certification"].lower() in ("true", "yes", "1"),
            "target_full_process": float(row["target_full_process"] or 0.7)})
BOOLS = ["eligible_full", "fee", "payment_integrated", "paper_result_required", "citizen_subject",
         "population_data_connected", "announced_on_time", "published_on_time", "published_complete"]
procs = []
for line in open(tmp + "/procedures.jsonl", encoding="utf-8"):
    if not line.strip():
        continue
    d = json.loads(line)
    p = {"v": 1, "procedure": d["procedure"], "name": d["name"], "level": d["level"]}
    p.update({b: d.get(b, False) for b in BOOLS})
    p["units"] = d.get("units") or []
    procs.append(p)
json.dump({"units": {u["unit"]: u for u in units}, "procedures": {p["procedure"]: p for p in procs}},
          open(tmp + "/expected.json", "w"), ensure_ascii=False)
print("expecting %d units, %d procedures" % (len(units), len(procs)), file=sys.stderr)
PY

# compare FILE KIND: FILE holds "key<TAB>value" lines of KIND (units|procedures),
# the latest value per key; they must equal the expected records exactly
compare() {
    python3 - "$E2E_TMP/expected.json" "$1" "$2" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1], encoding="utf-8"))[sys.argv[3]]
latest = {}
for line in open(sys.argv[2], encoding="utf-8"):
    key, value = line.rstrip("\n").split("\t", 1)
    latest[key] = json.loads(value)
    code = latest[key]["unit" if sys.argv[3] == "units" else "procedure"]
    assert code == key, ("key", key, "holds", code)
if latest != exp:
    for k in sorted(set(latest) | set(exp)):
        if latest.get(k) != exp.get(k):
            print("mismatch %s:\n  got  %s\n  want %s" % (k, latest.get(k), exp.get(k)))
    sys.exit(1)
print("%s: %d records as expected" % (sys.argv[3], len(latest)), file=sys.stderr)
PY
}
read_topic() { e2e_kcat -C -t "$1" -e -q -f '%k\t%s\n' 2>/dev/null; }
# count TOPIC: messages in TOPIC (0 when it has none or does not exist yet)
count() { e2e_kcat -C -t "$1" -e -q -f 'x\n' 2>/dev/null | wc -l; }

# ---- dry run: the normalized records on stdout, nothing produced ----
"$CATALOG" "${COMMON[@]}" --dry-run "$E2E_TMP/units.csv" >"$E2E_TMP/dry-units.jsonl" 2>"$E2E_TMP/dry.log" ||
    e2e_fail "dry run failed: $(cat "$E2E_TMP/dry.log")"
python3 - "$E2E_TMP/dry-units.jsonl" "$E2E_TMP/dry-units.tsv" <<'PY'
import json, sys
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in open(sys.argv[1], encoding="utf-8"):
        out.write(json.loads(line)["unit"] + "\t" + line)
PY
compare "$E2E_TMP/dry-units.tsv" units || e2e_fail "the dry run printed other records"
e2e_assert_eq 0 "$(count "$T_UNITS")" "messages on $T_UNITS after a dry run"

# ---- load both files ----
"$CATALOG" "${COMMON[@]}" "$E2E_TMP/units.csv" "$E2E_TMP/procedures.jsonl" 2>"$E2E_TMP/load.log" ||
    e2e_fail "loading failed: $(cat "$E2E_TMP/load.log")"
read_topic "$T_UNITS" >"$E2E_TMP/units.tsv"
read_topic "$T_PROCS" >"$E2E_TMP/procedures.tsv"
compare "$E2E_TMP/units.tsv" units || e2e_fail "$T_UNITS differs from units.csv"
compare "$E2E_TMP/procedures.tsv" procedures || e2e_fail "$T_PROCS differs from procedures.jsonl"
e2e_assert_eq 4 "$(count "$T_UNITS")" "messages on $T_UNITS"
e2e_assert_eq 3 "$(count "$T_PROCS")" "messages on $T_PROCS"

# ---- bad lines: all or nothing, each named ----
cat >"$E2E_TMP/bad.csv" <<'CSV'
unit,name,kind
Z.1,Xã Một,commune
Z.2,,commune
Z.3,Xã Ba,city
Z.4,"Xã ""Bốn"" x"y,commune
Z.5,Xã Năm,commune,extra
Z.6,Xã Sáu,commune
CSV
if "$CATALOG" "${COMMON[@]}" "$E2E_TMP/bad.csv" 2>"$E2E_TMP/bad.log"; then
    e2e_fail "a file with bad lines was accepted"
fi
for line in 3 4 5 6; do
    grep -q "bad.csv:$line: " "$E2E_TMP/bad.log" || e2e_fail "line $line not reported: $(cat "$E2E_TMP/bad.log")"
done
grep -q "bad.csv:2: \|bad.csv:7: " "$E2E_TMP/bad.log" && e2e_fail "a valid line was reported"
e2e_assert_eq 4 "$(count "$T_UNITS")" "messages on $T_UNITS after a refused file"
"$CATALOG" "${COMMON[@]}" --skip-bad "$E2E_TMP/bad.csv" 2>>"$E2E_TMP/bad.log" ||
    e2e_fail "--skip-bad did not load the valid lines"
e2e_assert_eq "Z.1 Z.6" "$(read_topic "$T_UNITS" | cut -f1 | grep '^Z' | sort | paste -sd' ')" \
    "units loaded with --skip-bad"

# ---- tombstones ----
"$CATALOG" "${COMMON[@]}" --catalog units --tombstone Z.1,Z.6 2>"$E2E_TMP/tomb.log" ||
    e2e_fail "--tombstone failed: $(cat "$E2E_TMP/tomb.log")"
# per key, the length of its latest value (-1: null); one key keeps one partition
e2e_assert_eq "Z.1=-1 Z.6=-1" \
    "$(e2e_kcat -C -t "$T_UNITS" -e -q -f '%k %S\n' |
        awk '/^Z/ { last[$1] = $2 } END { for (k in last) print k "=" last[k] }' | sort | paste -sd' ')" \
    "the latest records of Z.1 and Z.6 (null values)"
if "$CATALOG" "${COMMON[@]}" --tombstone Z.1 2>/dev/null; then
    e2e_fail "--tombstone without --catalog was accepted"
fi

# ---- loading again: the same records once more ----
"$CATALOG" "${COMMON[@]}" "$E2E_TMP/units.csv" 2>>"$E2E_TMP/load.log" || e2e_fail "second load failed"
read_topic "$T_UNITS" | grep -v '^Z' >"$E2E_TMP/units2.tsv"
compare "$E2E_TMP/units2.tsv" units || e2e_fail "$T_UNITS differs after a second load"
e2e_assert_eq 12 "$(count "$T_UNITS")" "messages on $T_UNITS (4 + 2 + 2 tombstones + 4)"

# ---- the catalog join: a procedure's record is read before its events ----
SIM=$(e2e_bin chiso-simulate)
CLASSIFY=$(e2e_bin chiso-classify)
VERIFY=$(e2e_bin chiso-verify)
J=${P}join.
JOIN=(--brokers "$CHISO_BROKERS" --topic.prefix "$J")
REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${J}chiso")
python3 -c '
import json
for i in range(100000):
    print(json.dumps({"v": 1, "procedure": "FILL.%06d" % i, "name": "Thủ tục %d" % i, "level": "none"}))
' >"$E2E_TMP/filler.jsonl"
"$CATALOG" "${JOIN[@]}" "$E2E_TMP/filler.jsonl" 2>"$E2E_TMP/filler.log" ||
    e2e_fail "loading the filler catalog failed: $(tail -3 "$E2E_TMP/filler.log")"
"$SIM" "${JOIN[@]}" --seed 11 --start 2025-06-30 --days 2 --dossiers-per-day 1500 \
    --truth "$E2E_TMP/join-truth.json" 2>"$E2E_TMP/join-sim.log" ||
    e2e_fail "simulator failed: $(tail -3 "$E2E_TMP/join-sim.log")"
e2e_bg join-classify "$CLASSIFY" "${JOIN[@]}" "${REDIS[@]}" --group.id "${J}classify" \
    --catalog.wait.s 0 --metrics.port 0
JOIN_PID=$E2E_LAST_PID
"$VERIFY" "${JOIN[@]}" --check committed --group "${J}classify" --truth "$E2E_TMP/join-truth.json" \
    --timeout.s 120 >"$E2E_TMP/join-committed.out" || e2e_fail "classify did not commit every record"
e2e_stop "$JOIN_PID" 30 || e2e_fail "chiso-classify did not exit cleanly on SIGTERM"
"$VERIFY" "${JOIN[@]}" "${REDIS[@]}" --truth "$E2E_TMP/join-truth.json" --check counters |
    tee "$E2E_TMP/join-verify.out" >&2
grep -q '^verify: OK' "$E2E_TMP/join-verify.out" ||
    e2e_fail "counters differ from the truth when the catalog is read after classify starts"
# the check has teeth: the truth counts dossiers by service level
SVC=$(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
print(sum(c.get("received_svc_full", 0) for d, c in t["province_counters"].items() if len(d) == 10))
' "$E2E_TMP/join-truth.json")
[ "$SVC" -gt 0 ] || e2e_fail "the truth has no dossier of a full-process service"
e2e_log "catalog join: $SVC dossiers of full-process services, every counter exact"

e2e_pass
