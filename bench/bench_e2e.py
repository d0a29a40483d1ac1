#!/usr/bin/python3
"""bench_e2e.py - end-to-end figures of `tocsin run` beside Prometheus 2.42 +
Alertmanager 0.25: latency from an HTTP ingest of a breaching sample to the
webhook receiver holding the notification (fire, and resolve), p50/p99, idle
and under ~10k samples/s of background ingest that matches the rules;
sustained ingest throughput (samples/s acknowledged = evaluated and
committed); then Prometheus+Alertmanager at their fastest settings on the
same receiver: from flipping an exporter's value to the receiver (fire and
resolve), several trials, median, and the ratio.
Called by bench/run.sh (make bench). Method and figures: docs/benchmarks.md.
Usage: TOCSIN=./tocsin /usr/bin/python3 bench/bench_e2e.py [--alerts 100]
    [--trials 7] [--no-peers]
Prints one line per figure."""
import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

here = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("TOCSIN", os.path.join(here, "..", "tocsin"))
sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
sys.path.insert(0, os.path.join(here, "peers"))
from daemon_harness import Daemon  # noqa: E402
import receiver  # noqa: E402
from receiver import HttpReceiver  # noqa: E402
import peerlib  # noqa: E402

# The test receiver writes its answer's headers and body in two send()s;
# with Nagle on, the body waits for the client's delayed ACK (40 ms), and
# the next event of the same alert waits behind that answer (per-alert
# order). A real receiver answers in one write: turn Nagle off.
receiver._Handler.disable_nagle_algorithm = True

# cpu_high is the alert under test (the twin of
# peers/prometheus-rules.yml); lat_p90 gives the background load windowed
# quantile work: both rules match the background samples, neither fires.
RULES = """rules:
  - name: cpu_high
    metric: cpu
    by: [host]
    severity:
      critical: {above: 90}
  - name: lat_p90
    metric: lat
    by: [service]
    window: 1m
    aggregate: p90
    severity:
      warning: {above: 1000000}
"""


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


def wait_alert(rcv, before, label, value, status, deadline):
    """Wait until a request after index `before` carries an Alertmanager
    payload alert with labels[label] == value and the given status; returns
    its arrival time (monotonic) or None at the deadline."""
    seen = before
    with rcv._cv:
        while True:
            for r in rcv.requests[seen:]:
                if value not in r["body"]:
                    continue
                try:
                    alerts = json.loads(r["body"]).get("alerts", [])
                except ValueError:
                    continue
                for a in alerts:
                    if (a.get("labels", {}).get(label) == value
                            and a.get("status") == status):
                        return r["t"]
            seen = len(rcv.requests)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            rcv._cv.wait(min(left, 0.5))


def latency_run(d, rcv, n, tag):
    """n alerts, one at a time: breach, wait for firing; clear, wait for
    resolved. Returns (fire latencies, resolve latencies) in seconds."""
    fire, resolve = [], []
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=60)
    for i in range(n):
        host = "%s-%d" % (tag, i)
        for value, status, out in ((99, "firing", fire),
                                   (10, "resolved", resolve)):
            before = len(rcv.requests)
            t0 = time.monotonic()
            st = post(d.port, '{"metric":"cpu","labels":{"host":"%s"},'
                      '"value":%d}\n' % (host, value), conn)
            if st != 204:
                print("ingest answered %d" % st)
            got = wait_alert(rcv, before, "host", host, status, t0 + 30)
            if got is not None:
                out.append(got - t0)
    return fire, resolve


def _background(port, rate, stop, counter):
    """Separate process (so that it does not share the receiver's GIL):
    ~rate samples/s in 100 ms batches, half `cpu` below its threshold (500
    hosts), half `lat` for the windowed p90 rule (200 services)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    per = max(2, rate // 10)
    seq = 0
    while not stop.is_set():
        t0 = time.monotonic()
        now = time.time()
        lines = []
        for j in range(per // 2):
            k = seq + j
            lines.append('{"metric":"cpu","labels":{"host":"bg-%d"},'
                         '"value":%d,"ts":%.3f}\n' % (k % 500, k % 80, now))
            lines.append('{"metric":"lat","labels":{"service":"svc-%d"},'
                         '"value":%d,"ts":%.3f}\n' % (k % 200, k % 997, now))
        seq += per // 2
        post(port, "".join(lines), conn)
        with counter.get_lock():
            counter.value += len(lines)
        left = 0.1 - (time.monotonic() - t0)
        if left > 0:
            stop.wait(left)


def throughput(d, total, per_batch=5000, clients=4):
    """Sustained ingest: client processes in parallel (building bodies in
    Python costs about as much as tocsin's ingest, so not threads), each
    with its own series, batches of per_batch samples alternating the cpu
    and lat rules. Returns (samples/s, samples, seconds)."""
    nb = max(1, total // (per_batch * clients))
    t0 = time.monotonic()
    ps = [multiprocessing.Process(target=_tp_proc,
                                  args=(d.port, k, nb, per_batch),
                                  daemon=True)
          for k in range(clients)]
    for p in ps:
        p.start()
    for p in ps:
        p.join(600)
    dt = time.monotonic() - t0
    n = nb * clients * per_batch
    return n / dt, n, dt


def _tp_proc(port, k, nbatches, per_batch):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    bodies = []
    for b in range(2):  # two prebuilt bodies, alternated with fresh ts
        bodies.append([('{"metric":"cpu","labels":{"host":"tp%d-%d"},'
                        '"value":%d,"ts":' % (k, j % 1000, j % 80))
                       if j % 2 else
                       ('{"metric":"lat","labels":{"service":"tp%d-%d"},'
                        '"value":%d,"ts":' % (k, j % 100, j % 997))
                       for j in range(per_batch)])
    for n in range(nbatches):
        ts = "%.3f}\n" % time.time()
        body = ts.join(bodies[n % 2]) + ts
        st = post(port, body, conn)
        if st != 204:
            print("throughput: ingest answered %d" % st)
            return


def metric_sum(d, name):
    """Sum of a counter's series in the daemon's /metrics."""
    total = 0.0
    for line in d.metrics().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.split()[-1])
    return total


def tocsin_part(a, work):
    rcv = HttpReceiver().start()
    d = Daemon(work, peerlib.daemon_config(RULES, rcv.url())).start()
    res = {}
    try:
        fire, resolve = latency_run(d, rcv, a.alerts, "idle")
        res["idle"] = (fire, resolve)
        print("e2e tocsin idle p50 %.1f ms p99 %.1f ms (fire; resolve p50 "
              "%.1f ms p99 %.1f ms; %d alerts, HTTP ingest -> webhook "
              "receiver)" % (pct(fire, .5) * 1e3, pct(fire, .99) * 1e3,
                             pct(resolve, .5) * 1e3, pct(resolve, .99) * 1e3,
                             len(fire)), flush=True)

        stop = multiprocessing.Event()
        count = multiprocessing.Value("q", 0)
        bg = multiprocessing.Process(target=_background,
                                     args=(d.port, a.load, stop, count),
                                     daemon=True)
        t0 = time.monotonic()
        bg.start()
        fire, resolve = latency_run(d, rcv, a.alerts, "load")
        stop.set()
        bg.join(60)
        rate = count.value / (time.monotonic() - t0)
        res["load"] = (fire, resolve)
        print("e2e tocsin loaded p50 %.1f ms p99 %.1f ms (fire; resolve p50 "
              "%.1f ms p99 %.1f ms; %d alerts; background %.0f samples/s "
              "matching both rules)"
              % (pct(fire, .5) * 1e3, pct(fire, .99) * 1e3,
                 pct(resolve, .5) * 1e3, pct(resolve, .99) * 1e3, len(fire),
                 rate), flush=True)

        m0 = metric_sum(d, "tocsin_samples_ingested_total")
        l0 = metric_sum(d, "tocsin_samples_late_total")
        rate, n, dt = throughput(d, a.throughput_samples)
        got = metric_sum(d, "tocsin_samples_ingested_total") - m0
        late = metric_sum(d, "tocsin_samples_late_total") - l0
        print("ingest tocsin sustained %.0f samples/s acknowledged (%d "
              "samples in %.2f s, 4 client processes, 5000 per request, "
              "cpu + windowed p90 rules; daemon counted %d ingested, %d "
              "late)" % (rate, n, dt, got, late), flush=True)
    finally:
        rc = d.stop()
        rcv.stop()
    if rc != 0:
        print("tocsin daemon exit status %d (log %s)" % (rc, d.logpath))
    return res, rc


class Exporter:
    """The metric Prometheus scrapes: cpu{trial="..."} per trial, values
    flipped by set()."""

    def __init__(self):
        self.values = {}
        self.lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with outer.lock:
                    body = "# TYPE cpu gauge\n" + "".join(
                        'cpu{trial="%s"} %g\n' % kv
                        for kv in outer.values.items())
                b = body.encode()
                self.send_response(200)
                self.send_header("Content-Type",
                                 "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def set(self, trial, v):
        with self.lock:
            self.values[trial] = v

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def peers_part(a, work):
    """Prometheus (scrape + evaluate every 1s) -> Alertmanager (group_wait
    0s, group_interval 1s) -> the same Python receiver."""
    for b in (peerlib.PROMETHEUS, peerlib.ALERTMANAGER):
        if not os.access(b, os.X_OK):
            print("e2e prometheus+alertmanager: skipped (no %s)" % b)
            return None
    rcv = HttpReceiver().start()
    exp = Exporter()
    am = prom = None
    fire, resolve = [], []
    try:
        am = peerlib.Alertmanager(work, rcv.url()).start()
        exp.set("warmup", 0)
        prom = peerlib.Prometheus(work, "127.0.0.1:%d" % exp.port,
                                  "127.0.0.1:%d" % am.port).start()
        # Wait (bounded) until Prometheus has scraped the exporter.
        q = "/api/v1/query?query=cpu"
        if not peerlib.wait_until(
                lambda: b'"warmup"' in peerlib.http_get(prom.port, q)[1],
                30, 0.1):
            print("e2e prometheus+alertmanager: prometheus never scraped")
            return None
        for k in range(a.trials):
            trial = "t%d" % k
            for value, status, out in ((99, "firing", fire),
                                       (10, "resolved", resolve)):
                before = len(rcv.requests)
                t0 = time.monotonic()
                exp.set(trial, value)
                got = wait_alert(rcv, before, "trial", trial, status,
                                 t0 + 60)
                if got is None:
                    print("e2e prometheus+alertmanager: trial %s got no %s"
                          % (trial, status))
                else:
                    out.append(got - t0)
    finally:
        for p in (prom, am):
            if p:
                p.stop()
        exp.stop()
        rcv.stop()
    print("e2e prometheus+alertmanager median fire %.0f ms resolve %.0f ms "
          "(min %.0f/%.0f, max %.0f/%.0f ms; %d trials; scrape and "
          "evaluation 1s, group_wait 0s, group_interval 1s)"
          % (pct(fire, .5) * 1e3, pct(resolve, .5) * 1e3,
             min(fire or [0]) * 1e3, min(resolve or [0]) * 1e3,
             max(fire or [0]) * 1e3, max(resolve or [0]) * 1e3, len(fire)),
          flush=True)
    return fire, resolve


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=100)
    ap.add_argument("--load", type=int, default=10000)
    ap.add_argument("--throughput-samples", type=int, default=2000000)
    ap.add_argument("--trials", type=int, default=7)
    ap.add_argument("--no-peers", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tocsin-bench-e2e.")
    status = 0
    print("e2e machine: %d cores, load average %.2f at start (other "
          "processes compete for the cores)" % (os.cpu_count(),
                                                os.getloadavg()[0]),
          flush=True)
    try:
        res, rc = tocsin_part(a, work)
        status = 1 if rc != 0 else 0
        if not a.no_peers:
            peer = peers_part(a, work)
            if peer and peer[0] and res["idle"][0]:
                f_t, r_t = pct(res["idle"][0], .5), pct(res["idle"][1], .5)
                f_p, r_p = pct(peer[0], .5), pct(peer[1], .5)
                print("e2e ratio prometheus+alertmanager / tocsin (median, "
                      "idle): fire %.0fx, resolve %.0fx"
                      % (f_p / f_t, r_p / r_t))
    finally:
        peerlib.cleanup_all()
        if status == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("work dir kept: %s" % work)
    sys.exit(status)


if __name__ == "__main__":
    main()
