"""test_delivery_slow_receivers.py - receivers that stop answering cannot
starve another, however many notifications wait for them. 600 alerts
notify three webhook receivers: "slow1" and "slow2" hold every answer until
"fast" has received all 600 of its notifications (or 60 s pass); "fast"
answers at once. Each slow receiver fills its own share of the queue
(its transfers, and rendered notifications waiting for one of its
connections); what waits for them must not take the places of the fast
receiver's notifications. Checks: all 600 fast deliveries arrive while the
slow answers are held, and every notification is then delivered once."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, RULE_YAML, T0, check, eval_notify,  # noqa
                      outbox_rows, stream, write)

N = 600
fast = HttpReceiver().start()
slows = [HttpReceiver().start(), HttpReceiver().start()]
fast_done = threading.Event()
held = {"n": 0}
lock = threading.Lock()
HOLD_UNTIL = time.monotonic() + 60  # one bound for all held answers

fast_pick = fast._record_and_pick


def fast_record(rec):
    resp = fast_pick(rec)
    if len(fast.requests) >= N:
        fast_done.set()
    return resp


def holding(pick):
    def record(rec):
        resp = pick(rec)
        if fast_done.wait(max(0.0, HOLD_UNTIL - time.monotonic())):
            with lock:
                held["n"] += 1
        return resp
    return record


fast._record_and_pick = fast_record
for s in slows:
    s._record_and_pick = holding(s._record_and_pick)

write("cfg.yaml", """
notifiers:
  fast:
    type: webhook
    url: %s
  slow1:
    type: webhook
    url: %s
    timeout: 120s
  slow2:
    type: webhook
    url: %s
    timeout: 120s
defaults:
  notify: [slow1, slow2, fast]
""" % (fast.url("/hook"), slows[0].url("/hook"), slows[1].url("/hook"))
    + RULE_YAML)
stream([("s%03d" % i, 600, T0 + i * 0.01) for i in range(N)])
p = eval_notify(timeout=300)
check(p.returncode == 0, "eval --notify exits 0")
check(fast_done.is_set() and held["n"] >= 2,
      "all %d fast deliveries arrived while slow answers were held (%d "
      "slow answers waited for them)" % (N, held["n"]))
for name, r in (("fast", fast), ("slow1", slows[0]), ("slow2", slows[1])):
    ids = [q["headers"].get("webhook-id") for q in r.requests]
    check(len(set(ids)) == N and None not in ids,
          "%s: each notification once (%d distinct webhook-ids of %d)"
          % (name, len(set(ids)), len(ids)))
rows, _ = outbox_rows("store.db")
check(len(rows) == 3 * N and all(r["status"] == "sent" for r in rows),
      "all %d outbox rows sent" % (3 * N))
for r in [fast] + slows:
    r.stop()
print("slow receivers: all checks passed")
