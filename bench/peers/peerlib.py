#!/usr/bin/python3
"""peerlib.py - shared machinery of the peer benchmarks: starts nginx,
Alertmanager 0.25 and Prometheus 2.42 (Debian packages) from the configs in
this folder on free 127.0.0.1 ports in temp dirs, counts deliveries in
nginx's access log, samples peak RSS (VmHWM), and runs the measured steps.
Imported by bench/bench_e2e.py; called as a command by bench/bench_notify.sh
(`peerlib.py SUBCOMMAND --help`). Every wait is bounded; every process it
starts is stopped by its owner's stop() or by cleanup_all() at exit."""
import argparse
import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
ALERTMANAGER = os.environ.get("ALERTMANAGER",
                              "/usr/bin/prometheus-alertmanager")
PROMETHEUS = os.environ.get("PROMETHEUS", "/usr/bin/prometheus")

_procs = []


def cleanup_all():
    """Kill every process this module started that is still running."""
    for p in _procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass


atexit.register(cleanup_all)
for _sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(_sig, lambda *_: sys.exit(1))


def spawn(argv, log_path, cwd=None):
    logf = open(log_path, "ab")
    p = subprocess.Popen(argv, stdout=logf, stderr=logf, cwd=cwd)
    logf.close()
    _procs.append(p)
    return p


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(fn, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def http_get(port, path, timeout=2.0):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body
    except OSError:
        return None, b""


def render(name, out_path, **subst):
    with open(os.path.join(HERE, name)) as f:
        text = f.read()
    for k, v in subst.items():
        text = text.replace("@%s@" % k, str(v))
    with open(out_path, "w") as f:
        f.write(text)
    return out_path


def proc_status(pid, field):
    """A kB field of /proc/PID/status (VmRSS, VmHWM) in bytes, or 0."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def mib(b):
    return b / 1048576.0


class RssSampler:
    """Samples VmHWM of a pid every 50 ms on a thread; .peak is the highest
    seen (VmHWM is itself a high-water mark, so sampling only guards against
    the process exiting before we look)."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            v = proc_status(self.pid, "VmHWM")
            if v > self.peak:
                self.peak = v
            self._stop.wait(0.05)

    def stop(self):
        v = proc_status(self.pid, "VmHWM")
        if v > self.peak:
            self.peak = v
        self._stop.set()
        self._t.join()
        return self.peak


class Nginx:
    """nginx-light answering 200 on /hook, one access-log line per request."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "nginx")
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self.port = free_port()
        self.access = os.path.join(self.dir, "access.log")
        self.proc = None
        self._off = 0  # bytes of the access log counted so far
        self._n = 0

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def start(self):
        conf = render("nginx.conf.in", os.path.join(self.dir, "nginx.conf"),
                      DIR=self.dir, PORT=self.port)
        self.proc = spawn([NGINX, "-c", conf, "-p", self.dir, "-g",
                           "daemon off;"], os.path.join(self.dir, "out.log"))
        if not wait_until(lambda: http_get(self.port, "/nginx_status")[0]
                          == 200, 10):
            raise RuntimeError("nginx did not start")
        return self

    def count(self):
        """Requests logged on /hook so far (newlines in the access log).
        Reads only what was appended since the last call: the log grows over
        the runs, and re-reading it whole would take CPU from the process
        being measured. Notes nginx's time stamp of the line that reaches
        the count wait_count() waits for."""
        try:
            with open(self.access, "rb") as f:
                if os.fstat(f.fileno()).st_size < self._off:
                    self._off, self._n = 0, 0  # truncated
                f.seek(self._off)
                data = f.read()
        except FileNotFoundError:
            return 0
        lines = data.count(b"\n")
        want = getattr(self, "_want", 0)
        if self._n < want <= self._n + lines:
            line = data.split(b"\n")[want - self._n - 1]
            self._stamp = float(line.split()[0])  # $msec, first field
        self._off += len(data)
        self._n += lines
        return self._n

    def wait_count(self, n, timeout):
        """Wait until at least n lines are logged; returns nginx's own wall
        clock time stamp ($msec) of the n-th line, or None on timeout. The
        end of a run is the receiver's stamp, not the moment a poll saw it,
        so the log is read only every 50 ms: the measuring takes almost no
        CPU from the processes measured, and the poll's period does not
        add to the time."""
        self._want, self._stamp = n, None
        got = wait_until(lambda: self.count() >= n, timeout, 0.05)
        return self._stamp if got else None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Alertmanager:
    def __init__(self, workdir, url):
        self.dir = tempfile.mkdtemp(prefix="am.", dir=workdir)
        self.url = url
        self.port = free_port()
        self.proc = None

    def start(self):
        conf = render("alertmanager.yml.in",
                      os.path.join(self.dir, "alertmanager.yml"),
                      URL=self.url)
        self.proc = spawn([ALERTMANAGER, "--config.file=" + conf,
                           "--storage.path=" + os.path.join(self.dir, "data"),
                           "--web.listen-address=127.0.0.1:%d" % self.port,
                           "--cluster.listen-address=",
                           "--log.level=warn"],
                          os.path.join(self.dir, "am.log"))
        if not wait_until(lambda: http_get(self.port, "/-/ready")[0] == 200,
                          30):
            raise RuntimeError("alertmanager did not become ready")
        return self

    def post_alerts(self, alerts, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=60)
        c.request("POST", "/api/v2/alerts", body=json.dumps(alerts).encode(),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError("alertmanager answered %d" % r.status)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Prometheus:
    def __init__(self, workdir, exporter, am):
        self.dir = tempfile.mkdtemp(prefix="prom.", dir=workdir)
        self.exporter = exporter
        self.am = am
        self.port = free_port()
        self.proc = None

    def start(self):
        conf = render("prometheus.yml.in",
                      os.path.join(self.dir, "prometheus.yml"),
                      EXPORTER=self.exporter, AM=self.am,
                      RULES=os.path.join(HERE, "prometheus-rules.yml"))
        self.proc = spawn([PROMETHEUS, "--config.file=" + conf,
                           "--storage.tsdb.path=" + os.path.join(self.dir,
                                                                 "data"),
                           "--web.listen-address=127.0.0.1:%d" % self.port,
                           "--log.level=warn"],
                          os.path.join(self.dir, "prom.log"))
        if not wait_until(lambda: http_get(self.port, "/-/ready")[0] == 200,
                          60):
            raise RuntimeError("prometheus did not become ready")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def am_alerts(n, start, batch_tag):
    """n distinct alerts (unique label `id`), ending an hour from now."""
    now = time.time()
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 1))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))
    return [{"labels": {"alertname": "bench", "severity": "critical",
                        "service": "s%06d" % i, "run": batch_tag},
             "annotations": {"summary": "bench alert %d" % i},
             "startsAt": iso, "endsAt": end}
            for i in range(start, start + n)]


# ---- subcommands used by bench/bench_notify.sh ----------------------------

def _nginx_from(a):
    ng = Nginx.__new__(Nginx)
    ng.access = a.access_log
    ng._off, ng._n = 0, 0
    return ng


def repeat(a, run, head, method):
    """Run one measurement a.repeat times; print the median run (by rate)
    as one figure line with the range. run(a) returns (ok, rate, rss,
    detail)."""
    res = [run(a) for _ in range(a.repeat)]
    ok = all(r[0] for r in res)
    rates = sorted(r[1] for r in res)
    med = sorted(res, key=lambda r: r[1])[len(res) // 2]
    print("%s %d alerts: %.0f/s, peak RSS %.1f MiB (median of %d runs, "
          "range %.0f-%.0f/s; %s; median run: %s)"
          % (head, a.n, med[1], mib(med[2]), len(res), rates[0], rates[-1],
             method, med[3]), flush=True)
    return 0 if ok else 1


def fresh_copy(src, dst):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(dst + suffix):
            os.unlink(dst + suffix)
    for suffix in ("", "-wal"):
        if os.path.exists(src + suffix):
            shutil.copyfile(src + suffix, dst + suffix)


def cmd_timed(a):
    return repeat(a, _run_timed, "notify tocsin",
                  "tocsin eval --notify draining a filled outbox")


def _run_timed(a):
    """Run a command (tocsin eval --notify) that delivers a.n requests to
    nginx: time from spawn to the n-th access-log line; peak RSS from
    the rusage wait4() returns for that child."""
    fresh_copy(a.fresh_from, a.fresh_to)
    ng = _nginx_from(a)
    base = ng.count()
    t0, w0 = time.monotonic(), time.time()
    p = subprocess.Popen(a.argv, stdout=subprocess.DEVNULL,
                         stderr=open(a.stderr, "wb"))
    _procs.append(p)
    seen = ng.wait_count(base + a.n, a.timeout)
    deadline = time.monotonic() + a.timeout
    while True:
        pid, wst, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            pid, wst, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.005)
    p.returncode = rc = os.waitstatus_to_exitcode(wst)
    t_exit = time.monotonic()
    rss = ru.ru_maxrss * 1024
    got = ng.count() - base
    el = seen - w0 if seen else t_exit - t0
    return (got >= a.n and rc == 0, got / el if el > 0 else 0, rss,
            "%d delivered in %.2f s, exit after %.2f s, status %d"
            % (got, el, t_exit - t0, rc))


def daemon_config(rule, url):
    """The integration harness's config with the daemon's default timers
    (evaluation_interval 10s, checkpoint_interval 1m) and retry backoff
    instead of its fast test ones, so that timer work does not compete with delivery."""
    from daemon_harness import config, webhook_notifier
    cfg = config(rule, webhook_notifier(url),
                 "defaults:\n  notify: [hook]\n")
    return (cfg.replace("evaluation_interval: 1s\ncheckpoint_interval: 2s\n",
                        "").replace("    retry_backoff: 100ms\n", ""))


def cmd_daemon_notify(a):
    return repeat(a, _run_daemon_notify, "notify tocsin-daemon",
                  "tocsin run fed over HTTP in batches of 1,000")


def _run_daemon_notify(a):
    """tocsin run fed over HTTP: a.n breaching samples of distinct series in
    batches of 1,000; time from the first POST to the n-th nginx line."""
    from daemon_harness import Daemon
    ng = _nginx_from(a)
    work = tempfile.mkdtemp(prefix="daemon.", dir=a.dir)
    rule = ("rules:\n  - name: bench\n    metric: lat\n    by: [service]\n"
            "    severity:\n      critical: {above: 500}\n")
    d = Daemon(work, daemon_config(rule, a.url))
    d.start()
    _procs.append(d.proc)
    samp = RssSampler(d.proc.pid)
    base = ng.count()
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=120)
    now = w0 = time.time()
    t0 = time.monotonic()
    for s in range(0, a.n, 1000):
        body = "".join('{"metric":"lat","labels":{"service":"s%06d"},'
                       '"value":600,"ts":%.3f}\n' % (i, now)
                       for i in range(s, min(a.n, s + 1000)))
        conn.request("POST", "/api/v1/ingest?format=json", body=body.encode())
        r = conn.getresponse()
        r.read()
        if r.status != 204:
            print("daemon ingest answered %d" % r.status)
            d.stop()
            return (False, 0, 0, "ingest failed")
    t_posted = time.monotonic()
    seen = ng.wait_count(base + a.n, a.timeout)
    peak = samp.stop()
    got = ng.count() - base
    el = seen - w0 if seen else time.monotonic() - t0
    d.stop()
    return (got >= a.n, got / el if el > 0 else 0, peak,
            "%d delivered in %.2f s, ingest acknowledged after %.2f s"
            % (got, el, t_posted - t0))


def cmd_am_notify(a):
    return repeat(a, _run_am_notify, "notify alertmanager",
                  "Alertmanager 0.25, /api/v2/alerts in batches of 1,000, "
                  "group_by ['...'], group_wait 0s")


def _run_am_notify(a):
    """Alertmanager: a.n alerts posted in batches of 1,000, one group each;
    time from the first POST to the n-th nginx line; peak RSS (VmHWM)."""
    ng = _nginx_from(a)
    am = Alertmanager(a.dir, a.url).start()
    samp = RssSampler(am.proc.pid)
    idle = proc_status(am.proc.pid, "VmRSS")
    base = ng.count()
    tag = "r%d" % os.getpid()
    batches = [am_alerts(min(1000, a.n - s), s, tag)
               for s in range(0, a.n, 1000)]
    conn = http.client.HTTPConnection("127.0.0.1", am.port, timeout=120)
    t0, w0 = time.monotonic(), time.time()
    for b in batches:
        am.post_alerts(b, conn)
    t_posted = time.monotonic()
    seen = ng.wait_count(base + a.n, a.timeout)
    peak = samp.stop()
    got = ng.count() - base
    el = seen - w0 if seen else time.monotonic() - t0
    am.stop()
    return (got >= a.n, got / el if el > 0 else 0, peak,
            "%d delivered in %.2f s, posted in %.2f s, RSS at start %.1f MiB"
            % (got, el, t_posted - t0, mib(idle)))


def _settled_rss(d, timeout):
    """RSS of a started daemon once it has not grown for 2 s (bounded)."""
    last, since = 0, time.monotonic()
    deadline = since + timeout
    while time.monotonic() < deadline:
        v = proc_status(d.proc.pid, "VmRSS")
        if v > last * 1.01:
            last, since = v, time.monotonic()
        elif time.monotonic() - since >= 2.0:
            break
        time.sleep(0.1)
    return (proc_status(d.proc.pid, "VmRSS"), proc_status(d.proc.pid,
                                                          "VmHWM"))


def _metric(d, name):
    for line in d.metrics().splitlines():
        if line.startswith(name):
            return float(line.split()[-1])
    return -1


def cmd_queued_rss(a):
    """tocsin run over a store holding a.n firing alerts and their a.n
    pending outbox rows, the receiver down (a closed port): RSS once the
    dispatcher has loaded and tried them. Baseline: the same store with the
    rows marked sent, so the difference is what the queue itself costs."""
    import sqlite3
    from daemon_harness import Daemon
    rule = ("rules:\n  - name: bench\n    metric: lat\n    by: [service]\n"
            "    severity:\n      critical: {above: 500}\n")
    down = "http://127.0.0.1:%d/hook" % free_port()
    cfg = daemon_config(rule, down)
    con = sqlite3.connect(a.store)
    avg = con.execute("SELECT avg(length(payload)) FROM outbox").fetchone()[0]
    con.close()
    out = {}
    for case in ("queued", "sent"):
        work = tempfile.mkdtemp(prefix=case + ".", dir=a.dir)
        d = Daemon(work, cfg)
        shutil.copyfile(a.store, d.store)
        if case == "sent":
            con = sqlite3.connect(d.store)
            con.execute("UPDATE outbox SET status = 1")
            con.commit()
            con.close()
        d.start(timeout=120)
        _procs.append(d.proc)
        rss, hwm = _settled_rss(d, a.timeout)
        pend = _metric(d, "tocsin_outbox_pending")
        d.stop()
        out[case] = (rss, hwm, pend)
    rss, hwm, pend = out["queued"]
    print("memory tocsin with %d notifications queued: RSS %.1f MiB, peak "
          "%.1f MiB (tocsin run, receiver down, outbox_pending %.0f; the "
          "same %d firing alerts with nothing queued: RSS %.1f MiB; "
          "payload %.0f bytes/row)"
          % (a.n, mib(rss), mib(hwm), pend, a.n, mib(out["sent"][0]),
             avg or 0))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("timed")
    p.add_argument("--access-log", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--stderr", default="/dev/null")
    p.add_argument("--fresh-from", required=True,
                   help="filled store copied to --fresh-to before each run")
    p.add_argument("--fresh-to", required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("argv", nargs="+")
    p.set_defaults(fn=cmd_timed)
    for name, fn in (("am-notify", cmd_am_notify),
                     ("daemon-notify", cmd_daemon_notify)):
        p = sub.add_parser(name)
        p.add_argument("--dir", required=True)
        p.add_argument("--access-log", required=True)
        p.add_argument("--url", required=True)
        p.add_argument("--n", type=int, required=True)
        p.add_argument("--timeout", type=float, default=300)
        p.add_argument("--repeat", type=int, default=3)
        p.set_defaults(fn=fn)
    p = sub.add_parser("queued-rss")
    p.add_argument("--dir", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(fn=cmd_queued_rss)
    a = ap.parse_args()
    sys.exit(a.fn(a))


if __name__ == "__main__":
    main()
