#!/usr/bin/env python3
"""The chiso-bridge session of e2e.bridge (tests/e2e/test_bridge.sh).

Drives a running chiso-bridge over HTTP the way provincial systems do and
checks what lands on Kafka and in Redis: both envelopes, the login call,
a resend, bad items (answer and dead letters), progress steps, limits, a
broker stopped mid-session (503, then the outbox produced on the retry),
a bridge killed with -9, and the sync path against a fake national portal
that answers, fails and stalls. Every step prints what it sent and got, so
the log is the curl session of the closing note.

Usage: bridge_session.py PHASE  (env: BRIDGE_URL, TOKEN, USER, PASSWORD,
BROKERS, TOPIC_PREFIX, REDIS_CLI (a command line), REDIS_PREFIX, STACK_SH,
STACK_DIR, PORTAL_PORT, PORTAL_LOG)
PHASE is one of: session, concurrent, broker_down, broker_back, after_kill, portal.
"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

URL = os.environ["BRIDGE_URL"]
TOKEN = os.environ.get("TOKEN", "")
UNIT = "000.20.31.H56"
FAILS = []


def log(*a):
    print("[bridge_session]", *a, file=sys.stderr, flush=True)


def check(cond, what):
    if cond:
        log("ok:", what)
    else:
        log("FAIL:", what)
        FAILS.append(what)


def post(path, body, headers=None, raw=None, timeout=30):
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(URL + path, data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    t0 = time.time()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    shown = data.decode()[:300] + ("..." if len(data) > 300 else "")
    log(f"POST {path} {shown}\n    -> {status} {text[:400]} ({time.time() - t0:.2f} s)")
    try:
        return status, json.loads(text) if text else None
    except json.JSONDecodeError:
        return status, text


def bearer():
    return {"Authorization": "Bearer " + TOKEN}


def topic(name):
    """Every record of a topic, as (key, value) pairs."""
    out = subprocess.run(
        ["kcat", "-b", os.environ["BROKERS"], "-C", "-t", os.environ["TOPIC_PREFIX"] + name,
         "-e", "-q", "-f", "%k\t%s\n"],
        capture_output=True, text=True, timeout=60, check=True).stdout
    return [tuple(line.split("\t", 1)) for line in out.splitlines() if line]


def events():
    return [json.loads(v) for _, v in topic("dossier.events")]


def facts(evs, dossier):
    """The distinct facts of a dossier: {(type, at): count of records}."""
    seen = {}
    ids = {}
    for e in evs:
        if e["dossier_id"] != dossier:
            continue
        ids.setdefault(e["event_id"], e)
        # the same id always carries the same content
        check_same = ids[e["event_id"]] == e
        if not check_same:
            FAILS.append(f"event id {e['event_id']} with two contents")
        seen[(e["type"], e["at"])] = seen.get((e["type"], e["at"]), 0) + 1
    return {k: v for k, v in seen.items()}, ids


def redis(*args):
    cmd = os.environ["REDIS_CLI"].split() + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True).stdout.strip()


def state_key(dossier):
    return f"{os.environ['REDIS_PREFIX']}:{{{UNIT}}}:br:{dossier}"


def snap(dossier, status, **fields):
    d = {"MaHoSo": dossier, "MaTTHC": "1.001612", "TrangThaiHoSo": str(status)}
    d.update(fields)
    return d


RECEIVED = dict(KenhThucHien="2", NgayNopHoSo="20260302080000", NgayTiepNhan="20260302091520",
                NgayHenTra="20260312170000")


def session():
    # no credentials: refused
    s, a = post(f"/DongBoHoSoMC?MaDinhDanhDV={UNIT}&isUpdating=False", [snap("S-1", 2, **RECEIVED)])
    check(s == 401 and a["error_code"] != "0", "a request without credentials is refused (401)")
    # the login call: wrong, then right
    s, a = post("/login", {"username": os.environ["USER"], "password": "wrong"})
    check(s == 401, "the login call refuses a wrong password")
    s, a = post("/login", {"username": os.environ["USER"], "password": os.environ["PASSWORD"]})
    check(s == 200 and a["error_code"] == 0 and len(a["session"]) == 64,
          "the login call returns a session")
    sess = a["session"]
    # (A) the gateway envelope with the session; one good item, one bad date
    body = {"session": sess, "madonvi": UNIT, "service": "DongBoHoSoMC", "isUpdating": "False",
            "data": [snap(f"{UNIT}-A1", 2, **RECEIVED),
                     snap(f"{UNIT}-BAD", 2, NgayTiepNhan="2026-13-45")]}
    s, a = post("/", body)
    check(s == 200 and a["error_code"] == "0" and len(a["errors"]) == 1
          and a["errors"][0]["MaHoSo"] == f"{UNIT}-BAD" and a["errors"][0]["reason"] == "bad_value",
          "gateway envelope: the good item taken, the bad date answered per item")
    body["session"] = "not-a-session"
    s, a = post("/", body)
    check(s == 401, "a session the bridge did not issue is refused")
    # (B) the bare array with the bearer token: the dossier moves on, another arrives
    bare = [snap(f"{UNIT}-A1", 4, **RECEIVED),
            snap(f"{UNIT}-A2", 2, KenhThucHien="1", NgayTiepNhan="20260303100000",
                 NgayHenTra="20260310170000", HoSoCoThanhPhanSoHoa="1")]
    path = f"/api/SynsTTHCC/DongBoHoSoMC?MaDinhDanhDV={UNIT}&isUpdating=True"
    s, a = post(path, bare, bearer())
    check(s == 200 and a["error_code"] == "0" and "errors" not in a, "bare array with the token")
    n_before = len(events())
    s, a = post(path, bare, bearer())
    check(s == 200 and a["error_code"] == "0", "a resend is answered like the first")
    check(len(events()) == n_before, "a resend adds no event")
    # a withdrawal: the snapshot (no date field) at the arrival time, then
    # the progress step with the real time corrects it
    s, a = post(f"/DongBoHoSoMC?MaDinhDanhDV={UNIT}&isUpdating=True",
                [snap(f"{UNIT}-A2", 7, KenhThucHien="1", NgayTiepNhan="20260303100000",
                      NgayHenTra="20260310170000")], bearer())
    s, a = post("/CapNhatTienDoHoSoMC",
                {"session": sess, "madonvi": UNIT, "service": "CapNhatTienDoHoSoMC",
                 "data": [{"MaHoSo": f"{UNIT}-A2", "NguoiXuLy": "Nguyễn Văn A",
                           "ThoiDiemXuLy": "20260304083000", "NoiDungXuLy": "Công dân rút hồ sơ",
                           "TrangThai": "7"}]})
    check(s == 200 and a["error_code"] == "0", "a progress step is taken")
    f, _ = facts(events(), f"{UNIT}-A2")
    withdrawn = sorted(at for (t, at) in f if t == "withdrawn")
    check(len(withdrawn) == 2 and withdrawn[0] == "2026-03-04T08:30:00+07:00",
          f"withdrawn at the arrival, then corrected to the step's time: {withdrawn}")
    # the services the bridge does not take, and the limits
    s, a = post("/", {"session": sess, "service": "TraCuuHoSo", "data": []})
    check(s == 400 and "TraCuuHoSo" in a["message"], "another service is named in the error")
    s, a = post("/DongBoHoSoMC", None, bearer(), raw=b"[" + b"1," * 40000 + b"1]")
    check(s == 413, "a body over bridge.body.max is refused (413)")
    s, a = post("/DongBoHoSoMC", None, bearer(), raw=b"{not json")
    check(s == 400 and a["error_code"] != "0", "a body that is not JSON is refused (400)")
    # what is on Kafka: each fact once per id, contract fields, the dead letter
    evs = events()
    f1, ids1 = facts(evs, f"{UNIT}-A1")
    check(sorted(t for t, _ in f1) == ["received", "submitted"],
          f"A1: submitted and received, nothing else: {sorted(f1)}")
    check(("received", "2026-03-02T09:15:20+07:00") in f1, "A1 received at NgayTiepNhan")
    recv = [e for e in evs if e["dossier_id"] == f"{UNIT}-A2" and e["type"] == "received"]
    check(len(recv) == 1 and recv[0]["digitized"] is True and recv[0]["due_at"] ==
          "2026-03-10T17:00:00+07:00", "A2 received with its due date and digitized")
    check(all(e["event_id"].startswith("br-") and e["unit"] == UNIT for e in evs),
          "ids are the bridge's, the unit the envelope's")
    dead = [json.loads(v) for _, v in topic("deadletter")]
    check(len(dead) == 1 and dead[0]["reason"] == "bad_value"
          and dead[0]["source_topic"] == "bridge/DongBoHoSoMC", "one dead letter, the bad date")
    check(redis("hexists", state_key(f"{UNIT}-A1"), "o") == "0",
          "no outbox left once Kafka has the events")


def concurrent():
    """16 threads at once, the same 40 dossiers sent by several of them in
    different states: every request answered 200, and each fact of each
    dossier on Kafka exactly once (one record, one id): two requests for one
    dossier take turns (striped locks), so the second sees what the first
    kept and adds nothing twice. Without the locks both would read the same
    state and produce the same facts."""
    import threading
    results = []

    def sender(k):
        for i in range(25):
            n = (k * 7 + i) % 40
            status = (2, 4, 9, 10)[(k + i) % 4]
            fields = dict(RECEIVED)
            if status >= 9:
                fields.update(NgayKetThucXuLy="20260305100000")
            if status == 10:
                fields.update(NgayTra="20260306093000", HinhThuc="0")
            s, a = post_quiet(f"/DongBoHoSoMC?MaDinhDanhDV={UNIT}&isUpdating=True",
                              [snap(f"{UNIT}-C{n}", status, **fields)])
            results.append(s)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(16)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log(f"400 requests from 16 threads in {time.time() - t0:.2f} s")
    check(results.count(200) == len(results) == 400, f"every request answered 200: {set(results)}")
    evs = events()
    bad = []
    for n in range(40):
        f, ids = facts(evs, f"{UNIT}-C{n}")
        types = sorted(t for t, _ in f)
        if len(ids) != len(types) or len(set(types)) != len(types) or any(
                c != 1 for c in f.values()):
            bad.append((n, f, len(ids)))
    check(not bad, f"each fact of the 40 dossiers on Kafka once: {bad[:3]}")


def post_quiet(path, body):
    req = urllib.request.Request(URL + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("Authorization", "Bearer " + TOKEN)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, None


def broker_down():
    s, a = post(f"/DongBoHoSoMC?MaDinhDanhDV={UNIT}&isUpdating=False",
                [snap(f"{UNIT}-K1", 2, **RECEIVED)], bearer())
    check(s == 503 and a["error_code"] != "0", "broker down: the request is answered 503")
    check(redis("hexists", state_key(f"{UNIT}-K1"), "o") == "1",
          "the change is kept with its outbox in Redis")
    # checked while the broker is down: once it is back, the outbox sweep
    # (every 2 s here) may clear the entry before any check could see it
    check(redis("sismember", outbox_index(), f"{UNIT}-K1") == "1",
          "the outbox is in the unit's index")


def outbox_index():
    return f"{os.environ['REDIS_PREFIX']}:{{{UNIT}}}:bro"


def broker_back():
    # no retry from the province: the bridge's outbox sweep produces it
    index = outbox_index()
    deadline = time.time() + 90
    while time.time() < deadline:
        f, ids = facts(events(), f"{UNIT}-K1")
        if len(ids) == 2 and redis("hexists", state_key(f"{UNIT}-K1"), "o") == "0":
            break
        time.sleep(1)
    check(sorted(t for t, _ in f) == ["received", "submitted"] and len(ids) == 2,
          f"the sweep put K1's two facts on Kafka, each under one id: {sorted(f)}, {len(ids)} ids")
    check(redis("hexists", state_key(f"{UNIT}-K1"), "o") == "0"
          and redis("sismember", index, f"{UNIT}-K1") == "0",
          "the outbox and its index entry are cleared")
    # the province's retry, later, adds nothing
    n_before = len(events())
    s, a = post(f"/DongBoHoSoMC?MaDinhDanhDV={UNIT}&isUpdating=False",
                [snap(f"{UNIT}-K1", 2, **RECEIVED)], bearer())
    check(s == 200 and a["error_code"] == "0" and len(events()) == n_before,
          "the province's retry is taken and adds nothing")


def after_kill():
    n_before = len(events())
    s, a = post(f"/api/SynsTTHCC/DongBoHoSoMC?MaDinhDanhDV={UNIT}&isUpdating=True",
                [snap(f"{UNIT}-A1", 4, **RECEIVED)], bearer())
    check(s == 200 and len(events()) == n_before,
          "after kill -9 and a restart, the kept state makes a resend add nothing")


def portal():
    plog = os.environ["PORTAL_LOG"]
    mode_file = plog + ".mode"

    def mode(m):
        with open(mode_file, "w") as f:
            f.write(m)

    def last_forwarded():
        with open(plog) as f:
            return json.loads(f.read().splitlines()[-1])

    mode("ok")
    s, a = post("/login", {"username": "tinh", "password": "portal-pw"})
    check(s == 200 and a.get("session") == "portal-session-1",
          "in the sync path the login is the portal's")
    body = {"session": "portal-session-1", "madonvi": UNIT, "service": "DongBoHoSoMC",
            "isUpdating": "False", "data": [snap(f"{UNIT}-P1", 2, **RECEIVED)]}
    s, a = post("/", body, {"dstcode": "000.00.00.G22"})
    check(s == 200 and a["message"] == "fake portal: Đồng bộ thành công",
          "the portal's answer goes back to the province")
    fwd = last_forwarded()
    check(json.loads(fwd["body"]) == body and fwd["path"] == "/" and
          {k.lower(): v for k, v in fwd["headers"].items()}.get("dstcode") == "000.00.00.G22"
          and "authorization" not in {k.lower() for k in fwd["headers"]},
          "the request reached the portal unchanged, with its dstcode header, without chiso's token")
    path = f"/DongBoHoSoMC?MaDinhDanhDV={UNIT}&isUpdating=True"
    s, a = post(path, [snap(f"{UNIT}-P2", 2, **RECEIVED)], bearer())
    fwd = last_forwarded()
    check(s == 200 and fwd["path"] == path, f"the query string is forwarded: {fwd['path']}")
    check("authorization" not in {k.lower() for k in fwd["headers"]},
          "chiso's own bearer token is not passed on to the portal")
    mode("fail")
    s, a = post(path, [snap(f"{UNIT}-P3", 2, **RECEIVED)], bearer())
    check(s == 500 and a["message"] == "fake portal: lỗi", "a failing portal's answer is returned")
    mode("stall")
    t0 = time.time()
    s, a = post(path, [snap(f"{UNIT}-P4", 2, **RECEIVED)], bearer())
    took = time.time() - t0
    check(s == 504 and "chiso đã ghi nhận" in a["message"] and took < 10,
          f"a stalled portal: 504 after the upstream timeout ({took:.1f} s)")
    mode("ok")
    evs = events()
    for d, acked in (("P1", True), ("P2", True), ("P3", False), ("P4", False)):
        f, _ = facts(evs, f"{UNIT}-{d}")
        want = ["received", "submitted"] + (["synced"] if acked else [])
        check(sorted(t for t, _ in f) == want,
              f"{d}: chiso has its copy whatever the portal did, synced only when the portal "
              f"acknowledged it: {sorted(t for t, _ in f)}")


def main():
    {"session": session, "concurrent": concurrent, "broker_down": broker_down, "broker_back": broker_back,
     "after_kill": after_kill, "portal": portal}[sys.argv[1]]()
    if FAILS:
        log(f"{len(FAILS)} checks failed: {FAILS}")
        sys.exit(1)


if __name__ == "__main__":
    main()
