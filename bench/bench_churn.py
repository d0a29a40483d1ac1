#!/usr/bin/python3
"""bench_churn.py - the daemon's memory under label churn: `tocsin run` with
one rule by `pod` gets ROUNDS rounds of PER samples of new pods (never
seen again), one round every GAP seconds, first with `series_idle` shorter
than the gap (idle series are forgotten), then with `series_idle: 0s`
(never). Prints the series alive (tocsin_series) and the RSS after each
round, and the store's size at the end.
Called by bench/run.sh (make bench). Method and figures: docs/benchmarks.md.
Usage: TOCSIN=./tocsin /usr/bin/python3 bench/bench_churn.py [--rounds 6]
    [--per 40000] [--gap 14] [--idle 10s]"""
import argparse
import os
import re
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("TOCSIN", os.path.join(here, "..", "tocsin"))
# The daemon runs in a temporary folder: the binary's path must not be
# relative.
os.environ["TOCSIN"] = os.path.abspath(os.environ["TOCSIN"])
sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
from daemon_harness import Daemon  # noqa: E402

RULE = """rules:
  - name: lat
    metric: lat
    by: [pod]
    window: 5s
    aggregate: p90
    severity:
      critical: {above: 500}
"""


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def series(d):
    return int(re.search(r"^tocsin_series (\d+)$", d.metrics(), re.M)
               .group(1))


def run(a, idle, work):
    cfg = ("store: @STORE@\nlisten: 127.0.0.1:0\nseries_idle: %s\n" % idle
           + RULE)
    d = Daemon(work, cfg, name="churn").start()
    try:
        for r in range(a.rounds):
            now = time.time()
            for s in range(0, a.per, 5000):
                body = "".join(
                    '{"metric":"lat","labels":{"pod":"r%d-p%06d"},'
                    '"value":%d,"ts":%.3f}\n' % (r, i, 100 + i % 7, now)
                    for i in range(s, min(a.per, s + 5000)))
                st, _ = d.ingest(body, fmt="json")
                if st != 204:
                    print("churn: ingest answered %d" % st)
                    return 1
            print("churn series_idle %s round %d: %d series alive, RSS "
                  "%.1f MiB" % (idle, r + 1, series(d), rss_mib(d.proc.pid)),
                  flush=True)
            time.sleep(a.gap)
    finally:
        rc = d.stop()
    size = os.path.getsize(d.store) / 1e6
    print("churn series_idle %s: %d new series in %d rounds, store %.1f MB "
          "after the stop (exit %d)" % (idle, a.rounds * a.per, a.rounds,
                                        size, rc))
    return 0 if rc == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--per", type=int, default=40000)
    ap.add_argument("--gap", type=float, default=14)
    ap.add_argument("--idle", default="10s")
    a = ap.parse_args()
    status = 0
    for idle in (a.idle, "0s"):
        with tempfile.TemporaryDirectory(prefix="tocsin-churn.") as work:
            status |= run(a, idle, work)
    return status


if __name__ == "__main__":
    sys.exit(main())
