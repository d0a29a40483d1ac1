#!/usr/bin/python3
"""bench_e2e.py - end-to-end figures of `tocsin run`: latency from an HTTP
ingest of a breaching sample to the webhook receiver getting the
notification (p50/p99), idle and under ~10k samples/s of background load,
and sustained ingest throughput (samples/s acknowledged = committed).
Usage: TOCSIN=./tocsin /usr/bin/python3 bench/bench_e2e.py [--alerts 100]
Prints one line per figure."""
import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
from daemon_harness import CPU_RULE, Daemon, config, webhook_notifier  # noqa: E402
from receiver import HttpReceiver  # noqa: E402


def post(port, body, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/api/v1/ingest?format=json", body=body.encode())
    r = c.getresponse()
    r.read()
    return r.status


def pct(v, p):
    v = sorted(v)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def latency_run(d, rcv, n, tag):
    lat = []
    for i in range(n):
        host = "%s-%d" % (tag, i)
        before = len(rcv.requests)
        t0 = time.monotonic()
        post(d.port, '{"metric":"cpu","labels":{"host":"%s"},"value":99}\n'
             % host)
        deadline = t0 + 30
        got = None
        while got is None and time.monotonic() < deadline:
            with rcv._cv:
                for r in rcv.requests[before:]:
                    if host in r["body"]:
                        got = r["t"]
                        break
                if got is None:
                    rcv._cv.wait(0.5)
        if got is not None:
            lat.append(got - t0)
    return lat


def background(port, stop, rate, counter):
    """~rate samples/s of non-alerting data, in 100 ms batches."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    per = max(1, rate // 10)
    seq = 0
    while not stop.is_set():
        t0 = time.monotonic()
        now = time.time()
        body = "".join('{"metric":"bg","labels":{"k":"%d"},"value":%d,'
                       '"ts":%.3f}\n' % (j % 500, seq + j, now)
                       for j in range(per))
        seq += per
        post(port, body, conn)
        counter[0] += per
        left = 0.1 - (time.monotonic() - t0)
        if left > 0:
            stop.wait(left)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=100)
    ap.add_argument("--load", type=int, default=10000)
    ap.add_argument("--throughput-samples", type=int, default=400000)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tocsin-bench.")
    rcv = HttpReceiver().start()
    d = Daemon(work, config(CPU_RULE, webhook_notifier(rcv.url()),
                            "defaults:\n  notify: [hook]\n")).start()

    lat = latency_run(d, rcv, a.alerts, "idle")
    print("e2e latency idle:   p50 %.1f ms  p99 %.1f ms  (%d alerts)"
          % (pct(lat, .5) * 1e3, pct(lat, .99) * 1e3, len(lat)))

    stop = threading.Event()
    count = [0]
    bg = threading.Thread(target=background, args=(d.port, stop, a.load,
                                                   count))
    t0 = time.monotonic()
    bg.start()
    lat = latency_run(d, rcv, a.alerts, "load")
    stop.set()
    bg.join()
    rate = count[0] / (time.monotonic() - t0)
    print("e2e latency loaded: p50 %.1f ms  p99 %.1f ms  (%d alerts, "
          "background %.0f samples/s)" % (pct(lat, .5) * 1e3,
                                          pct(lat, .99) * 1e3, len(lat),
                                          rate))

    # Sustained ingest: 4 clients, 5000-sample batches.
    per_batch = 5000
    batches = max(4, a.throughput_samples // per_batch)
    done = [0]
    lock = threading.Lock()

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=120)
        n = 0
        while True:
            with lock:
                if done[0] >= batches:
                    return
                done[0] += 1
            now = time.time()
            body = "".join('{"metric":"tp","labels":{"c":"%d","s":"%d"},'
                           '"value":%d,"ts":%.3f}\n'
                           % (k, j % 1000, j, now + n * 1e-3)
                           for j in range(per_batch))
            n += 1
            post(d.port, body, conn)

    t0 = time.monotonic()
    th = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    dt = time.monotonic() - t0
    print("sustained ingest:   %.0f samples/s acknowledged (%d samples, "
          "4 clients, %d per request)" % (batches * per_batch / dt,
                                          batches * per_batch, per_batch))
    rc = d.stop()
    rcv.stop()
    print("daemon exit status: %d; work dir %s" % (rc, work))


if __name__ == "__main__":
    main()
