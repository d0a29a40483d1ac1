"""test_delivery_resume_budget.py - a notification left pending by an
interrupted `tocsin eval --notify --store` is retried by the next run over
the same store, not failed at its first attempt there: the retry budget
runs from the process's own first attempt, not from the event's time (a
replay's rows carry event times, here months past), while the attempts
keep counting across runs and the webhook-id stays the same. Each run's
summary counts its own outcomes."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, RULE_YAML, T0, check, outbox_rows,  # noqa
                      stream, write)

TOCSIN = os.environ["TOCSIN"]
rcv = HttpReceiver({"/hook": [{"status": 503, "body": "down"}]}).start()
write("cfg.yaml", """notifiers:
  hook:
    type: webhook
    url: %s
    retry_backoff: 100ms
    max_retry_time: 1h
defaults:
  notify: [hook]
""" % rcv.url("/hook") + RULE_YAML)
stream([("api", 600, T0)])

# Run 1: the receiver answers 503; interrupted after its first attempts.
p = subprocess.Popen([TOCSIN, "eval", "--notify", "-c", "cfg.yaml",
                      "--store", "store.db", "stream.jsonl"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                     text=True)
deadline = time.monotonic() + 30
while len(rcv.on("/hook")) < 2 and time.monotonic() < deadline:
    time.sleep(0.05)
p.send_signal(signal.SIGINT)
_, err1 = p.communicate(timeout=30)
first = rcv.on("/hook")
check(len(first) >= 2, "run 1 tried the receiver (%d requests)" % len(first))
rows, _ = outbox_rows("store.db")
check(len(rows) == 1 and rows[0]["status"] == "pending",
      "run 1 left the notification pending (%s)" % rows)
attempts1 = rows[0]["attempts"] if rows else 0

# Run 2 over the same store, no new samples: one more 503, then 200.
with rcv._lock:
    rcv.script["/hook"] = [{"status": 503, "body": "still down"},
                           {"status": 200, "body": "ok"}]
write("empty.jsonl", "")
p = subprocess.run([TOCSIN, "eval", "--notify", "-c", "cfg.yaml",
                    "--store", "store.db", "empty.jsonl"],
                   capture_output=True, text=True, timeout=120)
print(p.stderr)
check(p.returncode == 0, "run 2 exits 0 (%d)" % p.returncode)
check("giving up" not in p.stderr, "run 2 does not give up at its first "
      "attempt although the event is months old")
rows, _ = outbox_rows("store.db")
check(rows and rows[0]["status"] == "sent",
      "the notification is sent by run 2 (%s)" % rows)
check(rows and rows[0]["attempts"] == attempts1 + 2,
      "attempts count across runs: %d then %s" %
      (attempts1, rows[0]["attempts"] if rows else None))
reqs = rcv.on("/hook")
check(len({r["headers"]["webhook-id"] for r in reqs}) == 1,
      "one webhook-id over both runs (%d requests)" % len(reqs))
check("notifications: 1 sent, 0 failed, 0 silenced" in p.stderr,
      "run 2's summary counts the row it sent")
# Run 3 has nothing to do: its summary counts this run, not the store.
p = subprocess.run([TOCSIN, "eval", "--notify", "-c", "cfg.yaml",
                    "--store", "store.db", "empty.jsonl"],
                   capture_output=True, text=True, timeout=120)
check(p.returncode == 0 and
      "notifications: 0 sent, 0 failed, 0 silenced" in p.stderr,
      "a run that sent nothing says so (%s)" % p.stderr.strip())
rcv.stop()
print("resumed retry budget: all checks passed")
