"""tocsin and a real Prometheus server (Debian's prometheus) scrape each
other. NaN and infinite values are valid Prometheus text: the daemon
scrapes Prometheus's own /metrics (NaN quantiles of summaries with no
observations) without rejecting a line, and an HTTP push of Prometheus text
with NaN/Inf values is answered 204, the values counted in
tocsin_samples_skipped_total, not evaluated. Prometheus scrapes the
daemon's /metrics: the target is up and its counters are queryable."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config, wait_until  # noqa: E402
from receiver import free_port  # noqa: E402


def metric(page, name, labels):
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)),
                  page, re.M)
    return float(m.group(1)) if m else None


exe = shutil.which("prometheus")
check(exe is not None, "prometheus is installed")
port = free_port()
with open("prometheus.yml", "w") as f:
    f.write("global: {scrape_interval: 1h}\nscrape_configs: []\n")
prom = subprocess.Popen(
    [exe, "--config.file=prometheus.yml",
     "--storage.tsdb.path=" + os.path.abspath("promdata"),
     "--web.listen-address=127.0.0.1:%d" % port],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    def page():
        try:
            return urllib.request.urlopen(
                "http://127.0.0.1:%d/metrics" % port, timeout=2).read()
        except OSError:
            return None

    text = wait_until(page, 30)
    check(bool(text), "prometheus answers on 127.0.0.1:%d" % port)
    nonfinite = [l for l in text.decode().splitlines()
                 if not l.startswith("#") and
                 re.search(r" (NaN|[+-]Inf)( \d+)?$", l)]
    check(len(nonfinite) > 0,
          "prometheus's own page has NaN/Inf sample values (%d)"
          % len(nonfinite))

    rules = """rules:
  - name: prom_up
    metric: prometheus_build_info
    by: [job]
    severity:
      info: {above: 0}
"""
    inputs = ("inputs:\n"
              "  - scrape: {url: \"http://127.0.0.1:%d/metrics\", "
              "interval: 1s, timeout: 1s, labels: {job: prom}}\n" % port)
    d = Daemon(".", config(rules, inputs=inputs)).start()

    def scraped_twice():
        m = d.metrics()
        ok = [l for l in m.splitlines()
              if l.startswith("tocsin_scrapes_total") and str(port) in l
              and 'result="ok"' in l]
        return ok and float(ok[0].split()[-1]) >= 2 and m

    m = wait_until(scraped_twice, 30)
    check(bool(m), "the daemon scraped prometheus at least twice")
    ing = metric(m, "tocsin_samples_ingested_total", 'input="scrape"')
    rej = metric(m, "tocsin_samples_rejected_total", 'input="scrape"')
    skp = metric(m, "tocsin_samples_skipped_total", 'input="scrape"')
    check(ing is not None and ing > 100,
          "prometheus's samples are ingested (%s)" % ing)
    check(rej == 0, "no line of a real Prometheus page is rejected (%s)" % rej)
    check(skp is not None and skp > 0,
          "its NaN/Inf values are counted as skipped (%s)" % skp)
    check("line(s) rejected" not in d.log(),
          "no rejected-lines warning in the log")
    check(bool(wait_until(lambda: [a for a in (d.alerts() or [])
                                   if a["rule"] == "prom_up"], 20)),
          "a rule on a scraped prometheus metric fires")

    # HTTP push: NaN/Inf lines are valid; a malformed line still is not.
    before = metric(d.metrics(), "tocsin_samples_skipped_total",
                    'input="http"')
    st, body = d.request("POST", "/api/v1/ingest?format=prom",
                         b'q{quantile="0.5"} NaN\nq_sum 0\n'
                         b'g +Inf\ng -Inf 1767225600000\n')[:2]
    check(st == 204, "a push with NaN/Inf values is answered 204 (%s %r)"
          % (st, body))
    m = d.metrics()
    check(metric(m, "tocsin_samples_skipped_total", 'input="http"')
          == before + 3, "three NaN/Inf values counted as skipped")
    st, body = d.request("POST", "/api/v1/ingest?format=prom",
                         b"g NaN\ng NaN x\n")[:2]
    check(st == 400 and '"line":2' in body and '"line":1' not in body,
          "a NaN line with a bad timestamp is still rejected (%s %r)"
          % (st, body))
    # Prometheus scrapes the daemon: reload it with the daemon as a target.
    with open("prometheus.yml", "w") as f:
        f.write("global: {scrape_interval: 1s}\nscrape_configs:\n"
                "  - job_name: tocsin\n"
                "    static_configs: [{targets: ['127.0.0.1:%d']}]\n"
                % d.port)
    prom.send_signal(signal.SIGHUP)

    def api(path):
        try:
            return json.loads(urllib.request.urlopen(
                "http://127.0.0.1:%d/api/v1/%s" % (port, path),
                timeout=2).read())
        except (OSError, ValueError):
            return None

    def target_up():
        t = api("targets")
        act = t["data"]["activeTargets"] if t else []
        return [x for x in act if x["labels"].get("job") == "tocsin"
                and x["health"] == "up"]

    check(bool(wait_until(target_up, 30)),
          "prometheus scrapes the daemon's /metrics: target up")

    def queried():
        q = api("query?query=" + urllib.parse.quote(
            'tocsin_samples_ingested_total{input="scrape",job="tocsin"}'))
        res = q["data"]["result"] if q else []
        return res and float(res[0]["value"][1]) > 0 and res

    check(bool(wait_until(queried, 30)),
          "tocsin's counters are queryable in prometheus")
    check(d.stop() == 0, "SIGTERM exits 0")
finally:
    prom.terminate()
    prom.wait(20)
