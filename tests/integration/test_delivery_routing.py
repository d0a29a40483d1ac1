"""test_delivery_routing.py - routing end to end through `tocsin eval
--notify`: defaults.notify takes what no route matches, a route on severity
picks the webhook, and a receiver that heard an alert hears its later events
until it resolves (log notifier file + real webhook receiver)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, RULE_YAML, T0, check, eval_notify,  # noqa
                      outbox_rows, stream, write)

rcv = HttpReceiver().start()
write("cfg.yaml", """
defaults:
  notify: [audit]
notifiers:
  audit:
    type: log
    path: audit.jsonl
  hook:
    type: webhook
    url: %s
routes:
  - match: {severity: critical}
    notify: [hook]
""" % rcv.url("/hook") + RULE_YAML)
# api: warning, critical, warning, ok; web: warning only.
stream([("api", 300, T0), ("api", 600, T0 + 60), ("web", 300, T0 + 61),
        ("api", 300, T0 + 120), ("api", 100, T0 + 180)])
p = eval_notify()
check(p.returncode == 0, "eval --notify exits 0")
events = [json.loads(ln) for ln in p.stdout.splitlines() if ln.strip()]
check([e["event"] for e in events] ==
      ["firing", "escalated", "firing", "deescalated", "resolved"],
      "the engine emitted the expected events")

lines = [json.loads(ln) for ln in open("audit.jsonl") if ln.strip()]
check(len(lines) == 5, "audit (defaults.notify + heard) logged 5 "
      "notifications (got %d)" % len(lines))
check(all(ln.get("receiver") == "audit" for ln in lines),
      "each log line names its receiver")
hook = [json.loads(r["body"]) for r in rcv.on("/hook")]
statuses = [(h["alerts"][0]["labels"]["service"], h["status"]) for h in hook]
check(len(hook) == 3, "hook got escalated, deescalated, resolved of api "
      "(got %s)" % statuses)
check(all(s == "api" for s, _ in statuses), "hook never heard of web")
check([s for _, s in statuses] == ["firing", "firing", "resolved"],
      "hook: critical, then warning (heard), then resolved (heard)")
rows, _ = outbox_rows("store.db")
check(all(r["status"] == "sent" for r in rows) and len(rows) == 8,
      "8 outbox rows, all sent (%d)" % len(rows))
rcv.stop()
print("routing: all checks passed")
