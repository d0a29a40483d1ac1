"""A steady target scraped every second, whose answers take 0 to 400 ms
(seeded, so every run sees the same delays), under a rule that counts its
samples over 5 s: the count never drops below 5, so the daemon sends one
`firing` and nothing else. Scrapes are stamped when they begin and read
when the answer comes; the evaluation timer (every second too) must not
judge the series past a scrape that is still on its way (a `resolved`
that scrape's sample fires again, stamped before it). The target is a real
HTTP server on 127.0.0.1; the events are read back from the store."""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config  # noqa: E402
from receiver import HttpReceiver  # noqa: E402

SCRAPES = 16
rnd = random.Random(20261128)
script = [{"status": 200, "body": "cadence_up 1\n",
           "delay": rnd.uniform(0, 0.4)} for _ in range(SCRAPES + 10)]
target = HttpReceiver({"/metrics": script}).start()
inputs = ("inputs:\n  - scrape: {url: \"%s\", interval: 1s, timeout: 900ms}\n"
          % target.url("/metrics"))
rules = """rules:
  - name: scrapes_seen
    metric: cadence_up
    window: 5s
    aggregate: count
    severity: {warning: {above: 4.5}}
"""
d = Daemon(".", config(rules, inputs=inputs)).start()
try:
    got = target.wait_for(SCRAPES, 60, path="/metrics")
    check(len(got) >= SCRAPES, "%d scrapes answered" % len(got))
finally:
    d.stop()
    target.stop()
events = d.history()
kinds = [(e["event"], e["ts"]) for e in events]
check(len(events) == 1 and events[0]["event"] == "firing",
      "one firing and nothing else over %d scrapes: %s" % (SCRAPES, kinds))
ts = [e["ts"] for e in events]
check(ts == sorted(ts), "events in time order: %s" % ts)
print("ok")
