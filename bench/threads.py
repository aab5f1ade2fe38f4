#!/usr/bin/env python3
"""bench/threads.py - where a pipeline's time goes while it drains, from the
kernel's own accounting.

Given the processes (ROLE=PID: classify=PID once per instance, redis=PID,
broker=PID, snapshot=PID), it reads every thread's /proc/PID/task/TID/
schedstat (nanoseconds on a core, nanoseconds runnable but waiting for one)
and /proc/stat (the machine's idle time) every 100 ms until it gets SIGTERM
or every classify instance is gone, then prints over that window:
  - the share of the machine's cores left idle;
  - per role, the time its threads ran and the time they waited for a core
    (waiting for a core means the cores were all taken);
  - per classify instance, its main thread: on a core, waiting for a core,
    and blocked (the rest of the window: waiting for Redis's replies, for
    records, for a transaction commit).
Nothing is sampled: the figures are the kernel's counters, read at 10 Hz
so that a thread that ends keeps its last reading.

Used by bench/run.sh --drain --threads (docs/benchmarks.md, 2026-12-07,
twelfth session).
"""
import argparse
import collections
import os
import signal
import sys
import time

ROLES = ("classify", "redis", "broker", "snapshot")


def schedstat(pid):
    """{tid: (ns on a core, ns waiting for a core)} of the process's threads."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, wait = f.read().split()[:2]
            out[int(tid)] = (int(run), int(wait))
        except (OSError, ValueError):
            pass
    return out


def cpu_idle():
    """(idle + iowait jiffies of all CPUs, number of CPUs) from /proc/stat."""
    ncpu, idle = 0, 0
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                v = [int(x) for x in line.split()[1:]]
                idle = v[3] + v[4]
            elif line.startswith("cpu"):
                ncpu += 1
    return idle, ncpu


def main():
    ap = argparse.ArgumentParser(
        description="Where a pipeline's time goes while it drains (the kernel's schedstat).")
    ap.add_argument("procs", nargs="+", metavar="ROLE=PID",
                    help="classify=PID (each instance), redis=PID, broker=PID, snapshot=PID")
    args = ap.parse_args()
    procs = []
    for p in args.procs:
        role, _, pid = p.partition("=")
        if role not in ROLES or not pid.isdigit():
            ap.error(f"not ROLE=PID with a role of {', '.join(ROLES)}: {p}")
        procs.append((role, int(pid)))
    classify = [pid for role, pid in procs if role == "classify"]
    if not classify:
        ap.error("at least one classify=PID")

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    hz = os.sysconf("SC_CLK_TCK")
    first = {pid: schedstat(pid) for _, pid in procs}
    last = {pid: dict(v) for pid, v in first.items()}
    idle0, ncpu = cpu_idle()
    t0 = t1 = time.monotonic()
    idle1 = idle0
    while not stop and any(os.path.exists(f"/proc/{pid}/task") for pid in classify):
        for _, pid in procs:
            last[pid].update(schedstat(pid))
        idle1, _ = cpu_idle()
        t1 = time.monotonic()
        time.sleep(0.1)
    window = t1 - t0
    if window <= 0:
        print("  time (kernel's accounting): the processes were gone at once")
        return 0

    def delta(pid, tid):
        a = first[pid].get(tid, (0, 0))
        b = last[pid][tid]
        return (b[0] - a[0]) / 1e9, (b[1] - a[1]) / 1e9

    by_role = collections.defaultdict(lambda: [0.0, 0.0])
    for role, pid in procs:
        for tid in last[pid]:
            run, wait = delta(pid, tid)
            by_role[role][0] += run
            by_role[role][1] += wait
    idle = (idle1 - idle0) / hz / (ncpu * window)
    print(f"  time over {window:.1f} s of the drain (the kernel's accounting): {ncpu} cores "
          f"{100 * idle:.0f}% idle; "
          + ", ".join(f"{role} ran {run:.1f} s and waited {wait:.1f} s for a core"
                      for role, (run, wait) in sorted(by_role.items())))
    for i, pid in enumerate(classify, 1):
        if pid not in last[pid]:
            continue
        run, wait = delta(pid, pid)
        blocked = max(window - run - wait, 0.0)
        print(f"  classify {i}, main thread: on a core {100 * run / window:.0f}%, waiting for one "
              f"{100 * wait / window:.0f}%, blocked {100 * blocked / window:.0f}% (Redis's "
              f"replies, records, commits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
