#!/usr/bin/env python3
"""The Prometheus side of e2e.prometheus (tests/deploy/test_prometheus_e2e.sh).

Usage: test_prometheus_e2e.py PHASE ARGS...
  config SOURCE OUT RULES JOB=HOST:PORT[,HOST:PORT...]...
      deploy/prometheus/prometheus.yml with each job's targets replaced by
      the running stages', the rule file by RULES (an absolute path) and
      the intervals shortened to 1 s; every job of SOURCE must be given.
  targets URL COUNT TIMEOUT
      wait until Prometheus at URL has COUNT active targets, all up, each
      with its own instance label.
  compare URL TIMEOUT JOB/INSTANCE/PORT/FAMILY[/nonzero]...
      every series of FAMILY in Prometheus (job, instance) equals the
      stage's own /metrics on 127.0.0.1:PORT (retried until TIMEOUT, as
      Prometheus samples once a second); with nonzero, their sum is > 0.
  rules URL RULES TIMEOUT
      every rule of RULES is loaded and evaluated, none with an error.
  alerts URL TIMEOUT ALLOWED EXPECTED...
      only alerts named in ALLOWED (comma-separated) are active (pending or
      firing), and each EXPECTED alertname:label=value[:label=value...] is
      (retried until TIMEOUT, as rules are evaluated once a second).
  dashboard URL DASHBOARD JOBS
      every query of the dashboard (its variables set to all) runs without
      error; the throughput panel has a series for each of JOBS
      (comma-separated).
Exits 1 with the reason when a check fails.
"""
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml


def log(*a):
    print("[prometheus]", *a, file=sys.stderr, flush=True)


def fail(msg):
    log("FAIL:", msg)
    sys.exit(1)


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def api(base, path, **params):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        answer = json.loads(get(url))
    except urllib.error.HTTPError as e:
        answer = json.loads(e.read().decode())
    if answer.get("status") != "success":
        raise RuntimeError("%s: %s" % (url, answer.get("error", answer)))
    return answer["data"]


def query(base, expr):
    return api(base, "/api/v1/query", query=expr)["result"]


def config(source, out, rules, *jobs):
    with open(source, encoding="utf-8") as f:
        conf = yaml.safe_load(f)
    targets = dict(j.split("=", 1) for j in jobs)
    conf["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    conf["rule_files"] = [rules]
    names = [sc["job_name"] for sc in conf["scrape_configs"]]
    if sorted(names) != sorted(targets):
        fail("jobs of %s: %s; the test runs %s" % (source, names, sorted(targets)))
    for sc in conf["scrape_configs"]:
        sc["static_configs"] = [{"targets": targets[sc["job_name"]].split(",")}]
    with open(out, "w", encoding="utf-8") as f:
        yaml.safe_dump(conf, f, sort_keys=False)
    log("config for", ", ".join("%s=%s" % kv for kv in sorted(targets.items())))


def targets(base, count, timeout):
    deadline = time.time() + float(timeout)
    while True:
        active = api(base, "/api/v1/targets", state="active")["activeTargets"]
        down = [(t["labels"]["job"], t["scrapeUrl"], t["health"], t["lastError"])
                for t in active if t["health"] != "up"]
        if len(active) == int(count) and not down:
            break
        if time.time() > deadline:
            fail("%d active targets (want %s), not up: %s" % (len(active), count, down))
        time.sleep(0.5)
    instances = [(t["labels"]["job"], t["labels"]["instance"]) for t in active]
    if len(set(instances)) != len(instances):
        fail("targets share an instance label: %s" % sorted(instances))
    for t in active:
        if t["labels"]["instance"] != t["discoveredLabels"]["__address__"]:
            fail("instance %s of %s: a non-default port must stay in the instance"
                 % (t["labels"]["instance"], t["scrapeUrl"]))
    log("%d targets up: %s" % (len(active), ", ".join("%s/%s" % i for i in sorted(instances))))


def scrape(port, family):
    """{frozenset of label pairs: value} of FAMILY on the stage's /metrics."""
    out = {}
    for line in get("http://127.0.0.1:%s/metrics" % port).splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name_labels, value = line.rsplit(" ", 1)
        name, _, labels = name_labels.partition("{")
        if name != family:
            continue
        pairs = []
        for item in filter(None, labels.rstrip("}").split('",')):
            k, v = item.split('="', 1)
            pairs.append((k, v.rstrip('"')))
        out[frozenset(pairs)] = float(value)
    return out


def stored(base, job, instance, family):
    sel = '{__name__="%s",job="%s",instance="%s"}' % (family, job, instance)
    out = {}
    for s in query(base, sel):
        labels = {k: v for k, v in s["metric"].items() if k not in ("__name__", "job", "instance")}
        out[frozenset(labels.items())] = float(s["value"][1])
    return out


def compare(base, timeout, *checks):
    for check in checks:
        job, instance, port, family, *flags = check.split("/")
        deadline = time.time() + float(timeout)
        nonzero = "nonzero" in flags
        while True:
            direct, prom = scrape(port, family), stored(base, job, instance, family)
            total = sum(direct.values())
            # a stage that works on a timer (alerts scans every interval.ms)
            # may not have counted yet: wait for it too, up to the deadline
            if direct and direct == prom and (total > 0 or not nonzero):
                break
            if time.time() > deadline:
                if direct and direct == prom:
                    fail("%s of %s/%s is 0 in both: the stage did nothing?"
                         % (family, job, instance))
                fail("%s of %s/%s: Prometheus has %s, the stage's /metrics %s"
                     % (family, job, instance, sorted(prom.items()), sorted(direct.items())))
            time.sleep(0.5)
        log("%s/%s %s: %d series, sum %g, the same in Prometheus and on /metrics"
            % (job, instance, family, len(direct), total))


def rules(base, rules_file, timeout):
    with open(rules_file, encoding="utf-8") as f:
        want = {(g["name"], r.get("alert") or r.get("record"))
                for g in yaml.safe_load(f)["groups"] for r in g["rules"]}
    deadline = time.time() + float(timeout)
    while True:
        got = {(g["name"], r["name"]): r for g in api(base, "/api/v1/rules")["groups"]
               for r in g["rules"]}
        unknown = [k for k, r in got.items() if r["health"] == "unknown"]
        if set(got) == want and not unknown:
            break
        if time.time() > deadline:
            fail("rules loaded %s, want %s; not evaluated yet: %s"
                 % (sorted(got), sorted(want), unknown))
        time.sleep(0.5)
    bad = ["%s: %s %s" % (k[1], r["health"], r.get("lastError", ""))
           for k, r in got.items() if r["health"] != "ok" or r.get("lastError")]
    if bad:
        fail("rules with evaluation errors: %s" % bad)
    log("%d rules loaded and evaluated without error" % len(got))


def alerts(base, timeout, allowed, *expected):
    wanted = []
    for e in expected:
        name, *pairs = e.split(":")
        wanted.append(dict([p.split("=", 1) for p in pairs], alertname=name))
    deadline = time.time() + float(timeout)
    while True:
        active = api(base, "/api/v1/alerts")["alerts"]
        extra = [a for a in active if a["labels"]["alertname"] not in allowed.split(",")]
        missing = [w for w in wanted
                   if not any(all(a["labels"].get(k) == v for k, v in w.items()) for a in active)]
        if not extra and not missing:
            break
        if time.time() > deadline:
            fail("alerts not active: %s; unexpected alerts active: %s; active: %s"
                 % (missing, extra, active))
        time.sleep(0.5)
    log("active alerts as expected: %s" % sorted(
        (a["labels"]["alertname"], a["labels"].get("job"), a["labels"].get("reason"), a["state"])
        for a in active))


def dashboard(base, dash_file, jobs):
    with open(dash_file, encoding="utf-8") as f:
        dash = json.load(f)
    subst = {"$job": "chiso-.+", "$instance": ".+", "$__rate_interval": "15s",
             "$__range": "5m"}
    panels = [p for p in dash["panels"] if p.get("type") != "row"]
    n = 0
    for p in panels:
        for t in p["targets"]:
            expr = t["expr"]
            for k in sorted(subst, key=len, reverse=True):
                expr = expr.replace(k, subst[k])
            try:
                result = query(base, expr)
            except RuntimeError as e:
                fail("panel %r: %s" % (p["title"], e))
            n += 1
            if p["title"] == "Records per second by stage":
                seen = {s["metric"].get("job") for s in result}
                if seen != set(jobs.split(",")):
                    fail("panel %r shows jobs %s, want %s" % (p["title"], sorted(seen), jobs))
    log("%d queries of %d panels run without error" % (n, len(panels)))


PHASES = {"config": config, "targets": targets, "compare": compare, "rules": rules,
          "alerts": alerts, "dashboard": dashboard}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in PHASES:
        sys.exit(__doc__)
    PHASES[sys.argv[1]](*sys.argv[2:])
