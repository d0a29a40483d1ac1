"""Two inputs scrape one URL with different labels (their counts are summed
in tocsin_scrapes_total, one series per URL): a reload that adds an
unrelated input keeps each one's own count, so the sum never exceeds the
pages the target actually served (each new target used to take the first
old target of its URL's count: the sum jumped, then fell at the next
reload, a counter reset to Prometheus). The target is a real HTTP server
on 127.0.0.1 that counts the requests it answers."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config  # noqa: E402
from receiver import HttpReceiver  # noqa: E402

target = HttpReceiver({"/metrics": [{"status": 200, "body": "twin_up 1\n"}],
                       "/other": [{"status": 200, "body": "other_up 1\n"}]})
target.start()
url = target.url("/metrics")
inputs = ("inputs:\n"
          "  - scrape: {url: \"%s\", interval: 200ms, labels: {env: a}}\n"
          "  - scrape: {url: \"%s\", interval: 30s, labels: {env: b}}\n"
          % (url, url))


def scrapes_ok(d):
    for line in d.metrics().splitlines():
        if (line.startswith("tocsin_scrapes_total{") and url in line
                and 'result="ok"' in line):
            return int(line.split()[-1])
    return -1


def served():
    return len([r for r in target.requests if r["path"] == "/metrics"])


d = Daemon(".", config("rules: []\n", inputs=inputs)).start()
try:
    n = len(target.wait_for(10, 30, path="/metrics"))
    check(n >= 10, "the URL was scraped %d times" % n)
    before = scrapes_ok(d)
    check(0 < before <= served(), "count %d, served %d" % (before, served()))
    d.write_config(config("rules: []\n", inputs=inputs + (
        "  - scrape: {url: \"%s\", interval: 1s}\n" % target.url("/other"))))
    off = len(d.log())
    d.signal(signal.SIGHUP)
    check(d.wait_log(r"config reloaded", 20, off) is not None,
          "the config with a third input is reloaded")
    for _ in range(3):
        got = scrapes_ok(d)
        check(before <= got <= served(),
              "after the reload the count %d is between %d and the %d pages "
              "served" % (got, before, served()))
        target.wait_for(served() + 2, 10, path="/metrics")
finally:
    d.stop()
    target.stop()
print("ok")
