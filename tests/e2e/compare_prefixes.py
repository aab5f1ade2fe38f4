#!/usr/bin/env python3
"""Compare the counters two runs of classify kept under two Redis prefixes.

Usage: compare_prefixes.py HOST PORT PREFIX_A PREFIX_B [ALLOWED...]

Reads every counter hash (<prefix>:{U}:c:<period>) and procedure set
(:po:, :pp:) of both prefixes, with their units' journals not yet folded, and compares them field by field. Prints one
line per field name that differs anywhere: the keys where it differs, the
sum of |A - B| over them and the field's total in A, then a JSON summary
on the last line. Exits 1 when a field outside ALLOWED (names, or
"po"/"pp" for the procedure sets) differs, or when A holds no counters.
"""
import json
import subprocess
import sys

HOST, PORT, A, B = sys.argv[1:5]
ALLOWED = set(sys.argv[5:])


def cli(*args):
    return subprocess.run(["redis-cli", "-h", HOST, "-p", PORT, *args], capture_output=True,
                          text=True, check=True).stdout


def hashes(prefix):
    """{(kind, unit, period): {field: int}} of a prefix: the hashes plus what
    the units' journals (<prefix>:{U}:j, core/adapters/include/chiso/journal.h)
    hold not folded yet."""
    out = {}
    for key in [k for k in cli("--scan", "--pattern", f"{prefix}:{{*}}:j").split("\n") if k]:
        rest = key[len(prefix) + 1:]
        unit = rest[1:rest.index("}")]
        for line in cli("get", key).split("\n"):
            if not line.strip():
                continue
            name, field, delta = line.split(" ")
            if name == "po:j":
                continue  # the journal's mark: two lines that cancel out
            kind, period = name.split(":", 1)
            h = out.setdefault((kind, unit, period), {})
            h[field] = h.get(field, 0) + int(delta)
    for kind in ("c", "po", "pp"):
        keys = [k for k in cli("--scan", "--pattern", f"{prefix}:{{*}}:{kind}:*").split("\n") if k]
        for key in keys:
            rest = key[len(prefix) + 1:]
            unit, period = rest[1:rest.index("}")], rest.rsplit(":", 1)[1]
            flat = cli("hgetall", key).split("\n")
            h = out.setdefault((kind, unit, period), {})
            for i in range(0, len(flat) - 1, 2):
                if flat[i]:
                    h[flat[i]] = h.get(flat[i], 0) + int(flat[i + 1])
    # a field summed to 0 is a field absent
    return {k: {f: v for f, v in h.items() if v} for k, h in out.items()}


def main():
    a, b = hashes(A), hashes(B)
    if not a:
        print(f"no counters under {A}")
        sys.exit(1)
    diff = {}  # field -> [keys differing, sum |a-b|, total in A]
    total = {}
    for key in sorted(set(a) | set(b)):
        fa, fb = a.get(key, {}), b.get(key, {})
        for field in set(fa) | set(fb):
            name = key[0] if key[0] != "c" else field
            va, vb = fa.get(field, 0), fb.get(field, 0)
            total[name] = total.get(name, 0) + abs(va)
            if va != vb:
                d = diff.setdefault(name, [0, 0])
                d[0] += 1
                d[1] += abs(va - vb)
    for name, (keys, delta) in sorted(diff.items()):
        tag = "allowed" if name in ALLOWED else "NOT ALLOWED"
        print(f"{name:32s} differs in {keys:6d} keys, sum |A-B| {delta:8d} of {total[name]:9d} "
              f"({100.0 * delta / max(total[name], 1):.2f}%) [{tag}]")
    equal = sorted(n for n in total if n not in diff)
    print(json.dumps({"hashes_a": len(a), "hashes_b": len(b), "fields_equal": len(equal),
                      "fields_differ": sorted(diff), "equal": equal}))
    if any(n not in ALLOWED for n in diff):
        sys.exit(1)


if __name__ == "__main__":
    main()
