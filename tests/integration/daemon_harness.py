"""daemon_harness.py - start and drive a real `tocsin run` for the daemon's
integration tests (tests/integration/test_daemon_*.py): a temp config and
store, listen on 127.0.0.1:0 (the port is read from the daemon's own
"listening on" log line), bounded waits for /healthz and log lines, HTTP
helpers, and clean or brutal stops."""
import atexit
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import HttpReceiver, check, run_tocsin  # noqa: E402,F401


def wait_until(fn, timeout=20.0, interval=0.05):
    """Poll fn() until it returns a true value or timeout passes; returns
    the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


_started = []


@atexit.register
def _kill_leftovers():
    """A test that ends early (a failed check exits, an exception) must not
    leave its daemon running."""
    for p in _started:
        if p.poll() is None:
            p.kill()
            p.wait()


class Daemon:
    def __init__(self, workdir, config, name="daemon"):
        self.dir = os.path.abspath(workdir)
        self.cfg = os.path.join(self.dir, name + ".yaml")
        self.store = os.path.join(self.dir, name + ".db")
        self.logpath = os.path.join(self.dir, name + ".log")
        self.proc = None
        self.port = None
        self.write_config(config)

    def write_config(self, config):
        text = config.replace("@STORE@", self.store).replace("@DIR@",
                                                             self.dir)
        with open(self.cfg + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.cfg + ".tmp", self.cfg)

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=20.0, start=0):
        """Wait for a log line matching pattern after offset start; returns
        the match or None."""
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log()[start:]), timeout)

    def start(self, timeout=20.0, stdin=None):
        offset = len(self.log())
        self.logf = open(self.logpath, "a")
        self.proc = subprocess.Popen(
            [os.environ["TOCSIN"], "run", "-c", self.cfg], stdin=stdin,
            stdout=self.logf, stderr=self.logf, cwd=self.dir)
        _started.append(self.proc)
        m = self.wait_log(r"tocsin: listening on 127\.0\.0\.1:(\d+)",
                          timeout, offset)
        if not m:
            print(self.log()[-3000:])
            raise RuntimeError("daemon did not start listening")
        self.port = int(m.group(1))
        ok = wait_until(lambda: self.healthy(), timeout)
        if not ok:
            raise RuntimeError("daemon /healthz never answered 200")
        return self

    def healthy(self):
        try:
            st, _ = self.request("GET", "/healthz", timeout=2)
            return st == 200
        except OSError:
            return False

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        try:
            if isinstance(body, str):
                body = body.encode()
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            c.close()

    def ingest(self, text, fmt=None, ctype=None):
        path = "/api/v1/ingest" + ("?format=" + fmt if fmt else "")
        h = {"Content-Type": ctype} if ctype else {}
        return self.request("POST", path, text, h)

    def alerts(self):
        st, body = self.request("GET", "/api/v1/alerts")
        return json.loads(body) if st == 200 else None

    def metrics(self):
        return self.request("GET", "/metrics")[1]

    def ingested(self, source):
        """tocsin_samples_ingested_total of input source, or -1."""
        m = re.search(r'^tocsin_samples_ingested_total\{input="%s"\} (\d+)'
                      % source, self.metrics(), re.M)
        return int(m.group(1)) if m else -1

    def alert_hosts(self):
        """The `host` labels of the alerts firing now (CPU_RULE's)."""
        return {a["labels"].get("host") for a in (self.alerts() or [])}

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30.0):
        """SIGTERM and wait; returns the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            print("daemon did not stop within %gs" % timeout)
        self.logf.close()
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.logf.close()

    def history(self):
        p = run_tocsin(["history", "--json", "--since", "3650d", "--store",
                        self.store])
        return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def config(rules, notifiers="", routes="", inputs="", extra=""):
    """A config with a store in the work dir and listen on a free port."""
    return ("store: @STORE@\nlisten: 127.0.0.1:0\n"
            "evaluation_interval: 1s\ncheckpoint_interval: 2s\n"
            + extra + notifiers + routes + inputs + rules)


def webhook_notifier(url, name="hook", extra=""):
    return ("notifiers:\n  %s:\n    type: webhook\n    url: %s\n"
            "    retry_backoff: 100ms\n%s" % (name, url, extra))


def cpu_lines(path, *hosts, mode="a"):
    """Append (or with mode "w", write) one unstamped JSON line of metric
    cpu at 99 per host to path: CPU_RULE fires for each host."""
    with open(path, mode) as f:
        for h in hosts:
            f.write('{"metric":"cpu","labels":{"host":"%s"},"value":99}\n'
                    % h)


def fill_disk(folder):
    """Write a filler file in folder until its disk is full. Returns the
    filler's path and the errno that stopped it (ENOSPC)."""
    filler = os.path.join(folder, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as x:
            return filler, x.errno


CPU_RULE = """rules:
  - name: cpu_high
    metric: cpu
    by: [host]
    severity:
      critical: {above: 90}
"""
