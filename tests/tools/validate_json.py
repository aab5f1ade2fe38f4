#!/usr/bin/env python3
"""validate_json.py SCHEMA [FILE|-]

Validate JSON documents, one per line, against a JSON Schema (draft 2020-12
or 07, whichever the schema's $schema names). Reads FILE, or stdin when FILE
is absent or '-'; blank lines are skipped.

Prints one line per failure, "FILE:LINE: PATH: message" (PATH is the JSON
pointer of the failing value), then a summary on stderr. Exit status: 0 when
every document is valid, 1 when any is not (or is not JSON, or there is no
document at all), 2 on a bad command line or an invalid schema.

Needs python3-jsonschema (Debian).
"""
import json
import sys

import jsonschema


def pointer(path):
    """The JSON pointer of a deque of keys and indices ('' is the root)."""
    return "/" + "/".join(str(p) for p in path)


def main(argv):
    if len(argv) not in (2, 3) or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
        print(f"{argv[1]}: bad schema: {getattr(e, 'message', e)}", file=sys.stderr)
        return 2
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)

    name = argv[2] if len(argv) == 3 else "-"
    try:
        src = sys.stdin if name == "-" else open(name, encoding="utf-8")
    except OSError as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 2
    docs = failures = 0
    with src:
        for lineno, line in enumerate(src, 1):
            if not line.strip():
                continue
            docs += 1
            try:
                doc = json.loads(line)
            except ValueError as e:
                print(f"{name}:{lineno}: not JSON: {e}")
                failures += 1
                continue
            errors = sorted(
                validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]
            )
            for err in errors:
                print(f"{name}:{lineno}: {pointer(err.absolute_path)}: {err.message}")
            failures += 1 if errors else 0
    if docs == 0:
        print(f"{name}: no document to validate")
        return 1
    print(f"{name}: {docs - failures} valid, {failures} invalid", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
