"""test_delivery_concurrency.py - deliveries run in parallel, a slow
receiver cannot hold up another, and every notification goes out exactly
once. 100 alerts notify two webhook receivers: "slow" holds each answer
until "fast" has received all 100 of its notifications and 32 slow requests
are open at once (or 60 s pass); "fast" answers at once. Checks: all 100
fast deliveries arrive while slow answers are held; exactly 32 requests are
open at once to the slow receiver at most (tocsin's per-receiver limit,
shared by its two transfer threads); each notification arrives once
(webhook-id unique) and every outbox row ends sent."""
import time
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, RULE_YAML, T0, check, eval_notify,  # noqa
                      outbox_rows, stream, write)

N = 100
LIMIT = 32  # DISPATCH_MAX_PER_RECEIVER in notifiers/dispatch.c

fast = HttpReceiver().start()
slow = HttpReceiver().start()
fast_done = threading.Event()
lock = threading.Lock()
cv = threading.Condition(lock)
state = {"open": 0, "max_open": 0, "held_until_fast": 0}
HOLD_UNTIL = time.monotonic() + 60  # one bound for all held answers

fast_pick = fast._record_and_pick
slow_pick = slow._record_and_pick


def fast_record(rec):
    resp = fast_pick(rec)
    if len(fast.requests) >= N:
        fast_done.set()
    return resp


def slow_record(rec):
    resp = slow_pick(rec)
    with cv:
        state["open"] += 1
        state["max_open"] = max(state["max_open"], state["open"])
        cv.notify_all()
    # Hold the answer until the other receiver got everything and every
    # slot of this one is taken (bounded).
    if fast_done.wait(max(0.0, HOLD_UNTIL - time.monotonic())):
        with lock:
            state["held_until_fast"] += 1
    with cv:
        while (state["max_open"] < LIMIT and
               time.monotonic() < HOLD_UNTIL):
            cv.wait(HOLD_UNTIL - time.monotonic())
        state["open"] -= 1
    return resp


fast._record_and_pick = fast_record
slow._record_and_pick = slow_record

write("cfg.yaml", """
notifiers:
  fast:
    type: webhook
    url: %s
  slow:
    type: webhook
    url: %s
    timeout: 120s
defaults:
  notify: [slow, fast]
""" % (fast.url("/hook"), slow.url("/hook")) + RULE_YAML)
stream([("s%03d" % i, 600, T0 + i * 0.01) for i in range(N)])
p = eval_notify(timeout=300)
check(p.returncode == 0, "eval --notify exits 0")
check(len(fast.requests) == N, "fast got %d notifications (want %d)"
      % (len(fast.requests), N))
check(len(slow.requests) == N, "slow got %d notifications (want %d)"
      % (len(slow.requests), N))
check(fast_done.is_set() and state["held_until_fast"] >= 1,
      "all fast deliveries arrived while slow answers were held "
      "(%d slow answers waited for them)" % state["held_until_fast"])
check(state["max_open"] == LIMIT,
      "slow receiver saw at most %d requests open at once, and that many "
      "(max %d)" % (LIMIT, state["max_open"]))
for name, r in (("fast", fast), ("slow", slow)):
    ids = [q["headers"].get("webhook-id") for q in r.requests]
    check(len(set(ids)) == N and None not in ids,
          "%s: each notification once (%d distinct webhook-ids)"
          % (name, len(set(ids))))
rows, _ = outbox_rows("store.db")
check(len(rows) == 2 * N and all(r["status"] == "sent" for r in rows),
      "all %d outbox rows sent" % (2 * N))
fast.stop()
slow.stop()
print("delivery concurrency: all checks passed")
