# slow
"""Crash safety: with the webhook receiver answering 503, breaching samples
for N distinct alerts are ingested while the daemon is killed with SIGKILL
at random (seeded, bounded) moments and restarted; once the receiver
recovers, every alert's notification arrives (one idempotency key per
alert, however many attempts) and the history holds exactly one firing per
alert."""
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check, config,  # noqa: E402
                            wait_until, webhook_notifier)

N = 12
ROUNDS = 5
rng = random.Random(20261127)
rcv = HttpReceiver({"/hook": [{"status": 503}]}).start()
d = Daemon(".", config(CPU_RULE, webhook_notifier(rcv.url("/hook")),
                       "defaults:\n  notify: [hook]\n"))
t0 = time.time()


def sample(i):
    return ('{"metric":"cpu","labels":{"host":"h%02d"},"value":99,'
            '"ts":%.3f}\n' % (i, t0 + i))


acked = set()
for rnd in range(ROUNDS):
    d.start()
    stop_at = rng.uniform(0.05, 0.6)
    killer = threading.Timer(stop_at, d.kill9)
    killer.start()
    for i in rng.sample(range(N), N):
        try:
            st, _ = d.ingest(sample(i), fmt="json")
        except OSError:
            break  # killed mid-request: not acknowledged
        if st == 204:
            acked.add(i)
    killer.join()
    print("round %d: killed after %.2fs, %d alerts acknowledged so far"
          % (rnd, stop_at, len(acked)))

# Final run: everything ingested, then the receiver recovers.
d.start()
for i in range(N):
    st, _ = d.ingest(sample(i), fmt="json")
    check(st == 204, "alert h%02d ingested in the final run" % i)
with rcv._lock:
    rcv.script["/hook"] = [{"status": 200}]
    n_before = len(rcv.requests)  # later requests are answered 200


def per_fingerprint(since=0):
    got = {}
    with rcv._lock:
        reqs = list(rcv.requests)[since:]
    for r in reqs:
        try:
            body = json.loads(r["body"])
        except ValueError:
            continue
        for a in body.get("alerts", []):
            got.setdefault(a["fingerprint"], set()).add(
                r["headers"].get("webhook-id"))
    return got


def delivered_ok():
    got = per_fingerprint(n_before)
    return len(got) == N and got


ok = wait_until(delivered_ok, 120, 0.2)
check(bool(ok), "every one of the %d alerts was delivered (answered 200) "
      "at least once" % N)
got = per_fingerprint()
check(all(len(ids) == 1 and None not in ids for ids in (got or {}).values()),
      "each alert's deliveries share one webhook-id (idempotency key)")
check(d.stop() == 0, "SIGTERM exits 0 after the crashes")
hist = d.history()
firing = {}
for e in hist:
    if e["event"] == "firing":
        firing[e["labels"]["host"]] = firing.get(e["labels"]["host"], 0) + 1
check(len(firing) == N and all(v == 1 for v in firing.values()),
      "the history holds exactly one firing per alert (%s)" % firing)
rcv.stop()
