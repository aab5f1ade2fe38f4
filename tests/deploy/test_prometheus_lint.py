#!/usr/bin/env python3
"""lint.prometheus: the Prometheus and Grafana files of deploy/ against the code.

Usage: test_prometheus_lint.py SOURCE_DIR PROMTOOL

1. promtool: `check config` deploy/prometheus/prometheus.yml (and its rule
   file), `check rules`, `test rules` deploy/prometheus/tests/.
2. Every metric the rules and the dashboard's queries name is one a stage
   exports: the metric names are read from the C sources (the string given
   to chiso_metrics_counter/gauge/histogram, or the snprintf format just
   before it; `%s_...` formats composed with the prefixes given to
   chiso_txn_new and chiso_applied_new), so renaming a metric in the code,
   or mistyping one here, fails. Label matchers must name labels the metric
   has (or job, instance; le on a histogram's buckets), literal label values
   must be ones the code registers, job values jobs of prometheus.yml, and
   names with a colon must be recorded by the rules.
3. The files' shape: the scrape jobs, interval and rule file; every alert
   has `for`, a severity, an English (ASCII) summary and description, and
   tests where it fires and where it does not; every recording rule is
   tested; the dashboard parses, has the datasource, job and instance
   variables, and every panel a datasource and queries.
Exits 1 listing every problem found.
"""
import json
import os
import re
import subprocess
import sys

import yaml

SRC_DIRS = ("core", "processors", "sinks", "producers")
JOBS = {"chiso-classify", "chiso-feedback", "chiso-snapshot", "chiso-alerts", "chiso-wall",
        "chiso-bridge"}
SEVERITIES = {"critical", "warning"}
TARGET_LABELS = {"job", "instance"}
BUILTIN_METRICS = {"up": set()}
PROBLEMS = []


def problem(msg):
    PROBLEMS.append(msg)


# ---- the metrics the code exports --------------------------------------------

C_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
METRIC_LITERAL = re.compile(r'^(%s_|chiso_)([a-z0-9_]+)(\{(.*)\})?$')
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"')
REGISTER = re.compile(r'\bchiso_metrics_(counter|gauge|histogram)\s*\(')


C_LEXEME = re.compile(r'''/\*.*?\*/|//[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|;''', re.S)


def c_statements(text):
    """The C text cut at ';', comments removed, string literals kept whole."""
    out, start, kept = [], 0, []
    for m in C_LEXEME.finditer(text):
        lexeme = m.group(0)
        if lexeme.startswith("/"):
            kept.append(text[start:m.start()] + " ")
            start = m.end()
        elif lexeme == ";":
            out.append("".join(kept) + text[start:m.start()])
            kept, start = [], m.end()
    out.append("".join(kept) + text[start:])
    return out


class Family:
    def __init__(self, kind):
        self.kind = kind
        self.labels = {}  # label name -> its literal values; None: a value made at run time

    def add_labels(self, text):
        for name, value in LABEL_PAIR.findall(text or ""):
            self.labels.setdefault(name, set()).add(None if "%" in value else value)


def code_metrics(src):
    """{family name: Family}, from the registrations in the C sources."""
    registered = []  # ("chiso_" or "%s_", the rest of the name, its labels, kind, file)
    prefixes = {"chiso_txn_new": set(), "chiso_applied_new": set()}
    composed_in = {}  # file -> the composer it defines
    stage_prefixes = set()
    passes_stage_prefix = set()
    for top in SRC_DIRS:
        for dirpath, _, files in os.walk(os.path.join(src, top)):
            for f in sorted(files):
                if not f.endswith(".c"):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, src)
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
                for composer in prefixes:
                    if re.search(r'^\w[\w\s\*]*\b%s\s*\(' % composer, text, re.M):
                        composed_in[rel] = composer
                stage_prefixes |= set(re.findall(r'\.metric_prefix\s*=\s*"([a-z_]+)"', text))
                stmts = c_statements(text)
                for k, st in enumerate(stmts):
                    for composer in prefixes:
                        for args in re.findall(r'\b%s\s*\(([^;]*)' % composer, st):
                            prefixes[composer] |= set(re.findall(r'"(chiso_[a-z_]+)"', args))
                            if "metric_prefix" in args:
                                passes_stage_prefix.add(composer)
                    kinds = REGISTER.findall(st)
                    if not kinds and re.search(r'\bsnprintf\s*\(', st) and k + 1 < len(stmts):
                        kinds = REGISTER.findall(stmts[k + 1])
                    if not kinds:
                        continue
                    for lit in C_STRING.findall(st):
                        m = METRIC_LITERAL.match(lit.replace('\\"', '"'))
                        if m:
                            registered.append((m.group(1), m.group(2), m.group(4), kinds[0], rel))
    for composer in passes_stage_prefix:
        prefixes[composer] |= stage_prefixes
    families = {}
    for head, rest, labels, kind, rel in registered:
        if head == "chiso_":
            names = ["chiso_" + rest]
        else:
            composer = composed_in.get(rel)
            if not composer:
                problem("%s: metric format '%%s_%s' outside chiso_txn_new/chiso_applied_new "
                        "(teach tests/deploy/test_prometheus_lint.py its prefixes)" % (rel, rest))
                continue
            names = ["%s_%s" % (p, rest) for p in sorted(prefixes[composer])]
        for name in names:
            families.setdefault(name, Family(kind)).add_labels(labels)
    return families


# ---- PromQL: the metric names and label matchers of an expression --------------

TOKEN = re.compile(r'''
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<var>\$\{[^}]*\}|\$\w+)
  | (?P<number>[0-9][0-9a-zA-Z.]*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=(){}\[\],@])
''', re.X)
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "sum", "min", "max", "avg", "group", "stddev",
            "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "inf", "nan"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def tokens(expr):
    pos, out = 0, []
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise ValueError("cannot read %r" % expr[pos:pos + 20])
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group(0)))
    return out


def selectors(expr):
    """[(metric name, [(label, op, value)])] of the vector selectors in expr."""
    toks = tokens(expr)
    out, stack, i = [], [], 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        ctx = stack[-1] if stack else None
        if text in "([{":
            if text == "(":
                prev = toks[i - 1][1] if i > 0 else None
                stack.append("labels" if prev in GROUPING else "paren")
            else:
                stack.append("range" if text == "[" else "matchers")
        elif text in ")]}":
            stack.pop()
        elif kind == "ident" and ctx not in ("labels", "range", "matchers") \
                and nxt != "(" and text.lower() not in KEYWORDS:
            matchers = []
            if nxt == "{":
                j = i + 2
                while toks[j][1] != "}":
                    if toks[j][0] == "ident":
                        value = toks[j + 2][1][1:-1]
                        matchers.append((toks[j][1], toks[j + 1][1], value))
                        j += 3
                    else:
                        j += 1
            out.append((text, matchers))
        i += 1
    return out


def check_expr(where, expr, families, recorded, job_names):
    try:
        sels = selectors(expr)
    except (ValueError, IndexError) as e:
        problem("%s: cannot parse %r: %s" % (where, expr, e))
        return set()
    used = set()
    for name, matchers in sels:
        labels = {}
        extra = set(TARGET_LABELS)
        if ":" in name:
            if name not in recorded:
                problem("%s: %s is not recorded by the rules" % (where, name))
                continue
        elif name in BUILTIN_METRICS:
            pass
        elif name in families:
            labels = families[name].labels
            used.add(name)
        else:
            base = re.sub(r'_(bucket|sum|count)$', '', name)
            if base in families and families[base].kind == "histogram":
                labels = families[base].labels
                used.add(base)
                if name.endswith("_bucket"):
                    extra.add("le")
            else:
                problem("%s: metric %s is exported by no stage (renamed in the code?)"
                        % (where, name))
                continue
        for label, op, value in matchers:
            if label == "job":
                if not any(value_matches(op, value, j) for j in job_names):
                    problem("%s: %s{job%s\"%s\"} matches no scrape job" % (where, name, op, value))
                continue
            if label in extra:
                continue
            if label not in labels:
                problem("%s: %s has no label %r" % (where, name, label))
                continue
            literal = {v for v in labels[label] if v is not None}
            if None in labels[label] or not literal or "$" in value:
                continue
            if op in ("=", "=~") and not any(value_matches(op, value, v) for v in literal):
                problem("%s: %s{%s%s\"%s\"} matches none of %s"
                        % (where, name, label, op, value, sorted(literal)))
    return used


def value_matches(op, pattern, value):
    if op in ("=", "!="):
        return (pattern == value) == (op == "=")
    if "$" in pattern:
        return True
    return bool(re.fullmatch(pattern, value)) == (op == "=~")


# ---- the files ------------------------------------------------------------------

def check_config(conf):
    g = conf.get("global", {})
    if g.get("scrape_interval") != "15s":
        problem("prometheus.yml: global scrape_interval is %r, not 15s" % g.get("scrape_interval"))
    if "rules/chiso.rules.yml" not in (conf.get("rule_files") or []):
        problem("prometheus.yml: rule_files lacks rules/chiso.rules.yml")
    jobs = {}
    for sc in conf.get("scrape_configs") or []:
        jobs[sc["job_name"]] = sc
        targets = [t for s in sc.get("static_configs", []) for t in s.get("targets", [])]
        if not targets:
            problem("prometheus.yml: job %s has no target" % sc["job_name"])
        if not any(r.get("target_label") == "instance" for r in sc.get("relabel_configs", [])):
            problem("prometheus.yml: job %s does not set instance" % sc["job_name"])
        if sc["job_name"] == "chiso-classify" and len(targets) < 2:
            problem("prometheus.yml: chiso-classify should show several targets")
    if set(jobs) != JOBS:
        problem("prometheus.yml: jobs %s, expected %s" % (sorted(jobs), sorted(JOBS)))
    return set(jobs)


def check_rules(rules, tests, families, job_names):
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    used, alerts = set(), []
    for g in rules["groups"]:
        for r in g["rules"]:
            name = r.get("alert") or r.get("record")
            used |= check_expr("rule %s" % name, r["expr"], families, recorded, job_names)
            if "alert" not in r:
                continue
            alerts.append(name)
            if "for" not in r:
                problem("alert %s has no 'for'" % name)
            if r.get("labels", {}).get("severity") not in SEVERITIES:
                problem("alert %s: severity must be one of %s" % (name, sorted(SEVERITIES)))
            for a in ("summary", "description"):
                text = r.get("annotations", {}).get(a, "")
                if not text.strip():
                    problem("alert %s has no %s" % (name, a))
                elif not text.isascii():
                    problem("alert %s: the %s is not plain English (ASCII)" % (name, a))
    if len(alerts) != len(set(alerts)):
        problem("alert names repeat: %s" % alerts)
    fires, quiet, exprs = set(), set(), []
    for t in tests["tests"]:
        for a in t.get("alert_rule_test", []):
            (fires if a.get("exp_alerts") else quiet).add(a["alertname"])
        exprs += [p["expr"] for p in t.get("promql_expr_test", [])]
    for name in alerts:
        if name not in fires:
            problem("alert %s: no test where it fires" % name)
        if name not in quiet:
            problem("alert %s: no test where it must not fire" % name)
    for name in recorded:
        if not any(name in e for e in exprs):
            problem("recording rule %s has no promql_expr_test" % name)
    return used, recorded


def check_dashboard(dash, families, recorded, job_names):
    if dash.get("schemaVersion", 0) < 36:
        problem("dashboard: schemaVersion %s is older than Grafana 9/10's" % dash.get("schemaVersion"))
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problem("dashboard: no $datasource variable of type datasource (prometheus)")
    used = set()
    for name in ("job", "instance"):
        v = variables.get(name)
        if not v or v.get("type") != "query":
            problem("dashboard: no $%s query variable" % name)
            continue
        query = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r'\s*label_values\((.*),\s*(\w+)\)\s*', query)
        if not m or m.group(2) != name:
            problem("dashboard: $%s is not label_values(..., %s): %r" % (name, name, query))
            continue
        used |= check_expr("dashboard variable $%s" % name, m.group(1), families, recorded,
                           job_names)
    panels, ids = [], []
    for p in dash.get("panels", []):
        panels += [p] + p.get("panels", [])
    for p in panels:
        ids.append(p.get("id"))
        if p.get("type") == "row":
            continue
        title = p.get("title", "?")
        if "gridPos" not in p:
            problem("dashboard panel %r has no gridPos" % title)
        if (p.get("datasource") or {}).get("uid") != "${datasource}":
            problem("dashboard panel %r does not use ${datasource}" % title)
        targets = p.get("targets") or []
        if not targets:
            problem("dashboard panel %r has no targets" % title)
        for t in targets:
            if not t.get("expr") or not t.get("refId"):
                problem("dashboard panel %r: a target without expr or refId" % title)
                continue
            if (t.get("datasource") or {}).get("uid") != "${datasource}":
                problem("dashboard panel %r: a target not on ${datasource}" % title)
            if "$job" not in t["expr"] or "$instance" not in t["expr"]:
                problem("dashboard panel %r: %r ignores $job or $instance" % (title, t["expr"]))
            used |= check_expr("dashboard panel %r" % title, t["expr"], families, recorded,
                               job_names)
    if len(ids) != len(set(ids)):
        problem("dashboard: panel ids repeat")
    return used


def promtool(promtool_bin, *args):
    r = subprocess.run([promtool_bin, *args], capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    print("$ promtool %s\n%s" % (" ".join(args), out))
    if r.returncode != 0:
        problem("promtool %s failed (exit %d)" % (" ".join(args), r.returncode))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, promtool_bin = sys.argv[1], sys.argv[2]
    prom = os.path.join(src, "deploy", "prometheus")
    config = os.path.join(prom, "prometheus.yml")
    rules_file = os.path.join(prom, "rules", "chiso.rules.yml")
    tests_file = os.path.join(prom, "tests", "chiso.rules.test.yml")
    dash_file = os.path.join(src, "deploy", "grafana", "chiso-dashboard.json")

    if not (os.path.isfile(promtool_bin) and os.access(promtool_bin, os.X_OK)):
        print("FAIL: promtool not found (%s); Debian package prometheus, deploy/local/deps.sh"
              % promtool_bin)
        return 1
    promtool(promtool_bin, "check", "config", config)
    promtool(promtool_bin, "check", "rules", rules_file)
    promtool(promtool_bin, "test", "rules", tests_file)

    families = code_metrics(src)
    print("%d metric families exported by the stages" % len(families))
    if len(families) < 40:
        problem("only %d metric families found in the code: is the scan broken?" % len(families))
    with open(config, encoding="utf-8") as f:
        job_names = check_config(yaml.safe_load(f))
    with open(rules_file, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    with open(tests_file, encoding="utf-8") as f:
        tests = yaml.safe_load(f)
    used, recorded = check_rules(rules, tests, families, job_names)
    try:
        with open(dash_file, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        problem("dashboard: %s" % e)
        dash = None
    if dash is not None:
        used |= check_dashboard(dash, families, recorded, job_names)
    unused = sorted(set(families) - used)
    print("%d families used by the rules and the dashboard; not shown: %s"
          % (len(used), ", ".join(unused) or "none"))

    for p in PROBLEMS:
        print("FAIL: " + p)
    if PROBLEMS:
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
