"""A scrape target that stamps its samples (Prometheus' /federate does)
shows the same sample on every scrape until the reading changes: the daemon
counts it once, as Prometheus does, and a new stamp counts again. A page
without stamps is counted on every scrape (arrival time), as before. A
reload that adds a target keeps what the kept target's last page showed, so
its stamped sample is not counted again. The target is a real HTTP server on
127.0.0.1 whose page the test changes."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config, wait_until  # noqa: E402
from receiver import HttpReceiver  # noqa: E402

stamp = int((time.time() - 5) * 1000)


def page(ms):
    return ("# TYPE fed_hits gauge\n"
            'fed_hits{job="api",instance="a"} 7 %d\n'
            "# TYPE plain_hits gauge\n"
            'plain_hits{job="api"} 7\n' % ms)


target = HttpReceiver({"/metrics": [{"status": 200, "body": page(stamp)}]})
target.start()
rules = """rules:
  - name: stamped_count
    metric: fed_hits
    window: 10m
    aggregate: count
    severity:
      warning: {above: 1}
  - name: plain_count
    metric: plain_hits
    window: 10m
    aggregate: count
    severity:
      warning: {above: 2}
"""
inputs = ("inputs:\n  - scrape: {url: \"%s\", interval: 1s, timeout: 1s}\n"
          % target.url("/metrics"))
d = Daemon(".", config(rules, inputs=inputs)).start()
try:
    def firing(rule):
        return [a for a in (d.alerts() or []) if a["rule"] == rule]

    check(bool(wait_until(lambda: firing("plain_count"), 30)),
          "an unstamped sample counts on every scrape (3 scrapes fire)")
    n = len(target.wait_for(4, 30, path="/metrics"))
    check(n >= 4, "the page was scraped %d times" % n)
    check(d.alerts() is not None and not firing("stamped_count"),
          "the stamped sample shown %d times counts once (%s)"
          % (n, firing("stamped_count")))
    m = d.metrics()
    skipped = [l for l in m.splitlines()
               if l.startswith('tocsin_samples_skipped_total{input="scrape"}')]
    check(skipped and int(skipped[0].split()[-1]) >= 2,
          "the repeats are counted as skipped (%s)" % skipped)

    # A reload that adds a target starts a new scraper; the kept target's
    # memory of its last page goes with it.
    other = target.url("/other")
    target.script["/other"] = [{"status": 200, "body": "other_up 1\n"}]
    d.write_config(config(rules, inputs=inputs + (
        "  - scrape: {url: \"%s\", interval: 1s, timeout: 1s}\n" % other)))
    def scrapes_ok():
        for line in d.metrics().splitlines():
            if (line.startswith("tocsin_scrapes_total{")
                    and target.url("/metrics") in line
                    and 'result="ok"' in line):
                return int(line.split()[-1])
        return -1

    ok_before = scrapes_ok()
    off = len(d.log())
    d.signal(signal.SIGHUP)
    check(d.wait_log(r"config reloaded", 20, off) is not None,
          "the config with a second target is reloaded")
    before = len(target.wait_for(1, 5, path="/metrics"))
    after = len(target.wait_for(before + 2, 30, path="/metrics"))
    check(after >= before + 2, "the kept target is scraped twice more after "
          "the reload (%d, %d)" % (before, after))
    check(bool(target.wait_for(1, 30, path="/other")),
          "the added target is scraped")
    ok_after = scrapes_ok()
    check(ok_before >= 3 and ok_after >= ok_before + 2,
          "the kept target's scrape counter goes on across the reload "
          "(%d, then %d)" % (ok_before, ok_after))
    check(d.alerts() is not None and not firing("stamped_count"),
          "the stamped sample still counts once across the reload (%s)"
          % firing("stamped_count"))

    # A new reading of the stamped series: counted, the window holds two.
    target.script["/metrics"] = [{"status": 200,
                                  "body": page(stamp + 1000)}]
    check(bool(wait_until(lambda: firing("stamped_count"), 30)),
          "a new stamp is a new sample (count 2 fires)")
    check(d.stop() == 0, "SIGTERM exits 0")
finally:
    target.stop()
