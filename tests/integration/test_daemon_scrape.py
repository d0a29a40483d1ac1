"""The daemon scrapes a real exporter (Debian's prometheus-node-exporter,
started on a free loopback port): the target's labels and its `instance`
(host:port) are added to every sample, a rule on node_time_seconds fires,
`up` is 1 for the exporter and 0 for a dead target and for one that answers
200 with an HTML page of which no line is a sample (a target-down rule fires
for those two only), and a failing target is counted in /metrics without
stopping the daemon."""
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config, wait_until  # noqa: E402
from receiver import free_port  # noqa: E402


class LoginPage(BaseHTTPRequestHandler):
    """What a proxy in front of a moved exporter answers: 200 and HTML."""

    def do_GET(self):
        body = b"<html>\n<body>Please log in</body>\n</html>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


html = ThreadingHTTPServer(("127.0.0.1", 0), LoginPage)
threading.Thread(target=html.serve_forever, daemon=True).start()
html_port = html.server_address[1]

exe = shutil.which("prometheus-node-exporter")
check(exe is not None, "prometheus-node-exporter is installed")
port = free_port()
exporter = subprocess.Popen(
    [exe, "--web.listen-address=127.0.0.1:%d" % port,
     "--collector.disable-defaults", "--collector.time",
     "--collector.loadavg"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    import urllib.request

    def up():
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                   timeout=2).read()
            return True
        except OSError:
            return False

    check(wait_until(up, 20), "node exporter answers on 127.0.0.1:%d" % port)
    dead = free_port()
    rules = """rules:
  - name: clock_present
    metric: node_time_seconds
    by: [job, instance]
    severity:
      warning: {above: 1000000}
  - name: target_down
    metric: up
    by: [instance]
    severity:
      critical: {below: 1}
  - name: target_up
    metric: up
    by: [instance, job]
    severity:
      info: {above: 0}
"""
    inputs = ("inputs:\n"
              "  - scrape: {url: \"http://127.0.0.1:%d/metrics\", "
              "interval: 1s, timeout: 1s, labels: {job: node}}\n"
              "  - scrape: {url: \"http://127.0.0.1:%d/metrics\", "
              "interval: 1s, timeout: 1s}\n"
              "  - scrape: {url: \"http://127.0.0.1:%d/metrics\", "
              "interval: 1s, timeout: 1s}\n" % (port, dead, html_port))
    d = Daemon(".", config(rules, inputs=inputs)).start()

    def fired():
        a = d.alerts() or []
        return [x for x in a if x["rule"] == "clock_present"]

    got = wait_until(fired, 30)
    check(bool(got), "a rule on node_time_seconds fires from the scrape")
    check(got and got[0]["labels"].get("job") == "node",
          "the target's labels are on the samples (%s)"
          % (got[0]["labels"] if got else None))
    check(got and got[0]["labels"].get("instance") == "127.0.0.1:%d" % port,
          "the target's host:port is the samples' instance (%s)"
          % (got[0]["labels"] if got else None))

    def rule_alerts(rule):
        return [x for x in (d.alerts() or []) if x["rule"] == rule]

    want_down = sorted(["127.0.0.1:%d" % dead, "127.0.0.1:%d" % html_port])
    down = wait_until(lambda: [a for a in [rule_alerts("target_down")]
                               if len(a) >= 2], 30)
    down = down[0] if down else rule_alerts("target_down")
    check(sorted(a["labels"].get("instance") for a in down) == want_down,
          "up is 0 for the dead target and the HTML page only: target_down "
          "fires for them (%s)" % down)
    check("no line of the page could be read" in d.log(),
          "the HTML page's up 0 is explained in the log")
    live = wait_until(lambda: rule_alerts("target_up"), 30)
    check([(a["labels"].get("instance"), a["labels"].get("job"))
           for a in live or []] == [("127.0.0.1:%d" % port, "node")],
          "up is 1 for the exporter, with the target's labels (%s)" % live)

    def counted():
        m = d.metrics()
        failed = [l for l in m.splitlines() if str(dead) in l
                  and 'result="failed"' in l]
        return failed and not failed[0].endswith(" 0") and m

    m = wait_until(counted, 20)
    ok_line = [l for l in m.splitlines()
               if l.startswith("tocsin_scrapes_total") and str(port) in l
               and 'result="ok"' in l]
    bad_line = [l for l in m.splitlines()
                if l.startswith("tocsin_scrapes_total") and str(dead) in l
                and 'result="failed"' in l]
    check(ok_line and not ok_line[0].endswith(" 0"),
          "successful scrapes are counted (%s)" % ok_line)
    check(bad_line and not bad_line[0].endswith(" 0"),
          "failed scrapes of a dead target are counted (%s)" % bad_line)
    check('tocsin_samples_ingested_total{input="scrape"} 0' not in m,
          "scraped samples are counted as ingested")
    check(d.healthy(), "the daemon keeps running with a dead target")

    # A target that stays down is logged once, not at every interval, and
    # once when it is back.
    def failed_runs():
        for l in d.metrics().splitlines():
            if (l.startswith("tocsin_scrapes_total") and str(dead) in l and
                    'result="failed"' in l):
                return int(float(l.split()[-1]))
        return 0

    check(wait_until(lambda: failed_runs() >= 3, 30),
          "the dead target failed three scrapes")
    warns = [l for l in d.log().splitlines()
             if " warn scrape" in l and ":%d/" % dead in l]
    check(len(warns) == 1, "a target that stays down is logged once: %s"
          % warns)
    warns = [l for l in d.log().splitlines()
             if " warn scrape" in l and ":%d/" % html_port in l]
    check(len(warns) == 1 and "no line of the page" in warns[0],
          "so is a page that stays unreadable: %s" % warns)
    back = ThreadingHTTPServer(("127.0.0.1", dead), LoginPage)
    threading.Thread(target=back.serve_forever, daemon=True).start()
    try:
        check(wait_until(lambda: "up again after" in d.log(), 30),
              "and once when it answers again")
    finally:
        back.shutdown()
    check(d.stop() == 0, "SIGTERM exits 0 while scraping")
finally:
    html.shutdown()
    exporter.terminate()
    exporter.wait(10)
