"""The scraper's HTTP as Prometheus speaks it, against a real HTTP target:
a redirect is followed (Prometheus' follow_redirects), every request says
X-Prometheus-Scrape-Timeout-Seconds (blackbox_exporter sizes its probe by
it), samples without a timestamp take the time the scrape began, not the
time a slow page ended, and two probes of one exporter that differ only in
their query (?target=) are two targets in /metrics, with a credential in
the query never shown there nor in the log."""
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config, wait_until  # noqa: E402

seen = []  # (path, headers, wall time the request arrived)
lock = threading.Lock()


class Target(BaseHTTPRequestHandler):
    def do_GET(self):
        with lock:
            seen.append((self.path, dict(self.headers), time.time()))
        if self.path.startswith("/moved"):
            self.send_response(301)
            self.send_header("Location", "/probe" + self.path[len("/moved"):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/slow"):
            time.sleep(1.5)  # the page is slow; its samples are of the start
        body = b"probe_success 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Target)
threading.Thread(target=srv.serve_forever, daemon=True).start()
base = "http://127.0.0.1:%d" % srv.server_address[1]
rules = """rules:
  - name: probe_ok
    metric: probe_success
    by: [instance]
    severity:
      info: {above: 0}
"""
inputs = ("inputs:\n"
          "  - scrape: {url: \"%s/moved?target=a&token=zzsecret\", interval: 1s,"
          " timeout: 1s, labels: {instance: a}}\n"
          "  - scrape: {url: \"%s/probe?target=b\", interval: 1s, timeout: 1s,"
          " labels: {instance: b}}\n"
          "  - scrape: {url: \"%s/slow?target=c\", interval: 10s, timeout: 5s,"
          " labels: {instance: c}}\n" % (base, base, base))
d = Daemon(".", config(rules, inputs=inputs)).start()
try:
    def firing():
        return sorted(a["labels"]["instance"] for a in d.alerts() or [])

    got = wait_until(lambda: firing() == ["a", "b", "c"], 30)
    check(got, "the redirected, the plain and the slow probe all fire (%s)"
          % firing())
    with lock:
        reqs = list(seen)
    moved = [r for r in reqs if r[0].startswith("/moved")]
    followed = [r for r in reqs if r[0].startswith("/probe?target=a")]
    check(moved and followed, "the 301 was followed to its Location")
    check(all(r[1].get("X-Prometheus-Scrape-Timeout-Seconds") == "1"
              for r in moved + followed),
          "each request says X-Prometheus-Scrape-Timeout-Seconds: 1 (%s)"
          % [r[1].get("X-Prometheus-Scrape-Timeout-Seconds") for r in moved])
    slow = [r for r in reqs if r[0].startswith("/slow")]
    ev = [e for e in d.history() if e["labels"].get("instance") == "c"]
    check(slow and ev and ev[0]["ts"] < slow[0][2] + 1.0,
          "the slow page's samples have the time its scrape began (%s, "
          "request at %s, page sent 1.5 s later)"
          % (ev[0]["ts"] if ev else None, slow[0][2] if slow else None))

    m = d.metrics()
    targets = sorted({l.split('target="')[1].split('"')[0]
                      for l in m.splitlines()
                      if l.startswith("tocsin_scrapes_total{")})
    check(targets == [base + "/moved?target=a&token=REDACTED",
                      base + "/probe?target=b", base + "/slow?target=c"],
          "one target label per probe, the token redacted (%s)" % targets)
    check("zzsecret" not in m and "zzsecret" not in d.log(),
          "the token is neither in /metrics nor in the log")
    check(d.stop() == 0, "SIGTERM exits 0")
finally:
    srv.shutdown()
print("scrape http: all checks passed")
