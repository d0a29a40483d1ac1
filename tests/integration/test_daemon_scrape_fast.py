"""A scrape interval under a second is kept: a target scraped every 100ms
is fetched ten times well within the 5 seconds that a scraper sleeping a
whole second between turns (the old loop) would have needed for ten. The
target is a real HTTP server on 127.0.0.1."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config  # noqa: E402
from receiver import HttpReceiver  # noqa: E402

target = HttpReceiver({"/metrics": [{"status": 200, "body": "fast_up 1\n"}]})
target.start()
inputs = ("inputs:\n  - scrape: {url: \"%s\", interval: 100ms, "
          "timeout: 100ms}\n" % target.url("/metrics"))
d = Daemon(".", config("rules: []\n", inputs=inputs)).start()
try:
    got = target.wait_for(10, 5, path="/metrics")
    check(len(got) >= 10,
          "interval 100ms: %d scrapes in 5 s (at least 10)" % len(got))
finally:
    d.stop()
    target.stop()
print("ok")
