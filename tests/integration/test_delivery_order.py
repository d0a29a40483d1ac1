"""test_delivery_order.py - deliveries to one receiver for one alert keep the
order of its events even when the first attempt fails: for each of three
alerts, firing arrives before resolved while the receiver answers 500 to the
very first request. Different alerts proceed in parallel."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, RULE_YAML, T0, check, eval_notify,  # noqa
                      outbox_rows, stream, write)

rcv = HttpReceiver({"/hook": [{"status": 500, "body": "first fails"},
                              {"status": 503}, {"status": 200, "body": "ok"}]})
rcv.start()
write("cfg.yaml", """
notifiers:
  hook:
    type: webhook
    url: %s
    retry_backoff: 100ms
    max_retry_time: 30s
routes:
  - match: {alertname: api_p90_latency}
    notify: [hook]
""" % rcv.url("/hook") + RULE_YAML)
svcs = ["a", "b", "c"]
pts = [(s, 600, T0 + i) for i, s in enumerate(svcs)]
pts += [(s, 100, T0 + 60 + i) for i, s in enumerate(svcs)]
stream(pts)
p = eval_notify()
check(p.returncode == 0, "eval --notify exits 0")
reqs = rcv.on("/hook")
check(len(reqs) == 8, "6 notifications + 2 retries = 8 requests (got %d)" %
      len(reqs))
first = json.loads(reqs[0]["body"])
check(first["status"] == "firing", "the first request (answered 500) is "
      "a firing")
failed_svc = first["alerts"][0]["labels"]["service"]
seq = {}
for r in reqs:
    b = json.loads(r["body"])
    seq.setdefault(b["alerts"][0]["labels"]["service"], []).append(
        b["status"])
for s in svcs:
    st = seq.get(s, [])
    last_firing = max(i for i, x in enumerate(st) if x == "firing")
    first_resolved = min(i for i, x in enumerate(st) if x == "resolved")
    check(last_firing < first_resolved,
          "alert %s: every firing attempt before its resolved %s" % (s, st))
st = seq[failed_svc]
check(st.count("firing") >= 2 and st[-1] == "resolved",
      "alert %s whose firing failed was retried before anything else of it: "
      "%s" % (failed_svc, st))
rows, _ = outbox_rows("store.db")
check(all(r["status"] == "sent" for r in rows) and len(rows) == 6,
      "all 6 rows sent")
rcv.stop()
print("per-alert order: all checks passed")
