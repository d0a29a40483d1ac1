"""A 429 with Retry-After holds its receiver whole: no request to it starts
before the Retry-After has passed, also among those already rendered and
handed to the transfer threads (up to 32 run at once per receiver and more
wait there). 60 alerts to one slow receiver: its first answer is 429 with
Retry-After: 5 after 0.5 s, the others 200 after 1.5 s; every request that
reaches it after the 429 was answered comes at least ~5 s later. Real HTTP
receiver on 127.0.0.1, `tocsin eval --notify`."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, RULE_YAML, T0, check, eval_notify,  # noqa
                      stream, write)

rcv = HttpReceiver({"/hook": [
    {"status": 429, "headers": {"Retry-After": "5"}, "delay": 0.5},
    {"status": 200, "body": "ok", "delay": 1.5}]}).start()
write("cfg.yaml", """notifiers:
  hook:
    type: webhook
    url: %s
    timeout: 10s
    retry_backoff: 50ms
defaults:
  notify: [hook]
""" % rcv.url("/hook") + RULE_YAML)
stream([("s%02d" % i, 600, T0 + i) for i in range(60)])
p = eval_notify()
check(p.returncode == 0, "eval --notify delivers all (exit %d)" % p.returncode)
reqs = sorted(rcv.on("/hook"), key=lambda r: r["t"])
check(len(reqs) == 61, "60 deliveries and the one retried: %d" % len(reqs))
answered = reqs[0]["t"] + 0.5
after = [r["t"] - answered for r in reqs if r["t"] > answered + 0.05]
check(after and min(after) >= 4.5,
      "no request starts within the 5 s Retry-After of the 429 (first one "
      "%.2f s after it; %d came after it)"
      % (min(after) if after else -1, len(after)))
rcv.stop()
print("ok")
