#!/usr/bin/env python3
"""includes.py SOURCE_DIR: the include rules of docs/architecture.md ("Map").

  1. core/domain includes nothing of the adapters, of a stage, nor the
     headers of Kafka, Redis, HTTP or threads (<librdkafka/...>,
     <hiredis/...>, <microhttpd.h>, <pthread.h>): the domain is pure.
  2. core/ includes nothing of a stage.
  3. A stage (processors/X, producers/X, sinks/X) includes nothing of
     another stage.
  4. No cycle: modules (x.c with x.h, in one folder) do not include each
     other round.

Prints every violation with its file and line; exit status 1 when there is
one, 0 otherwise.
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
PARTS = ("core", "processors", "producers", "sinks", "tests", "bench")
FORBIDDEN_IN_DOMAIN = ("librdkafka/", "hiredis/", "microhttpd.h", "pthread.h")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def sources():
    for part in PARTS:
        for base, dirs, files in os.walk(os.path.join(ROOT, part)):
            dirs[:] = [d for d in dirs if d not in ("corpus", "node_modules")]
            for f in files:
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(base, f), ROOT)


def stage_of(path):
    """'sinks/wall' for sinks/wall/..., None outside the stages."""
    p = path.split("/")
    if p[0] in ("processors", "producers", "sinks") and len(p) > 2:
        return "/".join(p[:2])
    return None


FILES = sorted(sources())
KNOWN = set(FILES)
BY_NAME = {}
for f in FILES:
    BY_NAME.setdefault(os.path.basename(f), []).append(f)


def resolve(src, name):
    """The repository file a quoted include names, or None (a system one)."""
    here = os.path.normpath(os.path.join(os.path.dirname(src), name))
    if here in KNOWN:
        return here
    for inc in ("core/domain/include", "core/adapters/include"):
        cand = os.path.join(inc, name)
        if cand in KNOWN:
            return cand
    # a stage library's header, on its include path ("csv.h")
    cands = [c for c in BY_NAME.get(os.path.basename(name), []) if c.endswith(name)]
    return cands[0] if len(cands) == 1 else None


problems = []
edges = {}  # module -> {module: (file, line)}


def module(path):
    return os.path.splitext(path)[0]


for src in FILES:
    stage = stage_of(src)
    with open(os.path.join(ROOT, src), encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, name = m.groups()
            where = "%s:%d: #include %s%s%s" % (src, lineno, kind, name, ">" if kind == "<" else '"')
            if src.startswith("core/domain/") and any(name.startswith(f) or name == f
                                                       for f in FORBIDDEN_IN_DOMAIN):
                problems.append(where + ": the domain includes no Kafka, Redis, HTTP or threads")
            if kind == "<":
                continue
            target = resolve(src, name)
            if target is None:
                continue
            if src.startswith("core/domain/") and target.startswith("core/adapters/"):
                problems.append(where + ": the domain includes nothing of the adapters")
            if src.startswith("core/") and stage_of(target):
                problems.append(where + ": core/ includes nothing of a stage (%s)" % stage_of(target))
            if stage and stage_of(target) and stage_of(target) != stage:
                problems.append(where + ": a stage includes nothing of another stage (%s)"
                                % stage_of(target))
            a, b = module(src), module(target)
            if a != b and not target.endswith(".c"):
                edges.setdefault(a, {}).setdefault(b, where)

# cycles between modules (depth-first search, each cycle reported once)
state, stack = {}, []


def visit(node):
    state[node] = 1
    stack.append(node)
    for nxt, where in sorted(edges.get(node, {}).items()):
        if state.get(nxt) == 1:
            cycle = stack[stack.index(nxt):] + [nxt]
            problems.append("include cycle: %s (%s)" % (" -> ".join(cycle), where))
        elif nxt not in state:
            visit(nxt)
    stack.pop()
    state[node] = 2


for node in sorted(edges):
    if node not in state:
        visit(node)

for p in problems:
    print("lint.includes: " + p)
print("lint.includes: %d files, %d include rules broken" % (len(FILES), len(problems)))
sys.exit(1 if problems else 0)
