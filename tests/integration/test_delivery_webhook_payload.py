"""test_delivery_webhook_payload.py - a webhook receiver gets an Alertmanager
v4 payload signed per Standard Webhooks (verified here the way the official
python library does), through `tocsin eval --notify`."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, RULE_YAML, T0, check, eval_notify,  # noqa
                      outbox_rows, standard_webhooks_verify, stream, write)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

rcv = HttpReceiver().start()
write("cfg.yaml", """
notifiers:
  hook:
    type: webhook
    url: %s
    secret: %s
    headers: {X-Team: web, X-Empty: ""}
routes:
  - match: {alertname: api_p90_latency}
    notify: [hook]
""" % (rcv.url("/hook"), SECRET) + RULE_YAML)
stream([("api", 600, T0), ("api", 100, T0 + 60)])
p = eval_notify()
check(p.returncode == 0, "eval --notify exits 0")
reqs = rcv.wait_for(2, path="/hook")
check(len(reqs) == 2, "two requests (firing, resolved): got %d" % len(reqs))

first = json.loads(reqs[0]["body"])
for k in ("receiver", "status", "alerts", "groupLabels", "commonLabels",
          "commonAnnotations", "externalURL", "version", "groupKey",
          "truncatedAlerts"):
    check(k in first, "Alertmanager v4 field %s present" % k)
check(first["version"] == "4", "version is \"4\"")
check(first["status"] == "firing", "first payload status firing")
check(first["receiver"] == "hook", "receiver is the notifier name")
a = first["alerts"][0]
for k in ("status", "labels", "annotations", "startsAt", "endsAt",
          "generatorURL", "fingerprint"):
    check(k in a, "alert field %s present" % k)
check(a["labels"].get("alertname") == "api_p90_latency", "alertname label")
check(a["labels"].get("service") == "api", "service label")
check(len(a["fingerprint"]) == 16, "16-hex fingerprint")
check(a["startsAt"].startswith("2026-01-01T00:00:00"), "startsAt RFC 3339 "
      "of the event: %s" % a["startsAt"])
second = json.loads(reqs[1]["body"])
check(second["status"] == "resolved", "second payload status resolved")
check(second["alerts"][0]["endsAt"].startswith("2026-01-01T00:01:00"),
      "resolved endsAt is the resolve time: %s" % second["alerts"][0]["endsAt"])

for i, r in enumerate(reqs):
    h = r["headers"]
    check(h.get("content-type", "").startswith("application/json"),
          "request %d is JSON" % i)
    for k in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        check(k in h, "request %d has %s" % (i, k))
    check("." not in h["webhook-id"], "webhook-id has no '.'")
    check(h.get("x-team") == "web", "request %d has the custom header" % i)
    check(h.get("user-agent", "").startswith("tocsin/"),
          "request %d has tocsin's User-Agent: %r" % (i, h.get("user-agent")))
    check(h.get("x-empty") == "",
          "request %d has the custom header with an empty value: %r"
          % (i, h.get("x-empty")))
    check(standard_webhooks_verify(SECRET, h, r["body"]),
          "request %d signature verifies (v1, HMAC-SHA256 id.ts.body)" % i)
    # A tampered body must not verify: the check above can fail.
    check(not standard_webhooks_verify(SECRET, h, r["body"] + " "),
          "request %d tampered body does not verify" % i)
check(reqs[0]["headers"]["webhook-id"] != reqs[1]["headers"]["webhook-id"],
      "each notification has its own webhook-id")
rows, _ = outbox_rows("store.db")
check([r["status"] for r in rows] == ["sent", "sent"], "both rows sent")
check([r["key"] for r in rows] ==
      [x["headers"]["webhook-id"] for x in reqs],
      "webhook-id is the outbox idempotency key")

# A long label (9 kB) repeated in an annotation, into a templated body and
# into the Alertmanager payload (which carries annotations twice): both
# are sent whole, not failed for size.
big = HttpReceiver().start()
write("big.yaml", """
notifiers:
  tmpl:
    type: webhook
    url: %s
    body: {summary: "{{ annotations.summary }}", note: "{{ labels.note }}"}
  am:
    type: webhook
    url: %s
defaults:
  notify: [tmpl, am]
rules:
  - name: big
    metric: m
    by: [note]
    severity: {critical: {above: 1}}
    annotations:
      summary: "{{ labels.note }} {{ labels.note }} {{ labels.note }} {{ labels.note }} {{ labels.note }} {{ labels.note }} {{ labels.note }} {{ labels.note }}"
""" % (big.url("/tmpl"), big.url("/am")))
note = "n" * 9000
with open("big.jsonl", "w") as f:
    f.write(json.dumps({"metric": "m", "labels": {"note": note}, "value": 5,
                        "ts": T0}) + "\n")
p = eval_notify(cfg="big.yaml", store="big.db", streams=("big.jsonl",))
got = big.wait_for(2)
tb = [json.loads(r["body"]) for r in got if r["path"] == "/tmpl"]
ab = [json.loads(r["body"]) for r in got if r["path"] == "/am"]
check(len(tb) == 1 and tb[0]["note"] == note and
      len(tb[0]["summary"]) == 8 * 9000 + 7,
      "a 72 kB templated string is sent whole")
check(len(ab) == 1 and
      len(ab[0]["alerts"][0]["annotations"]["summary"]) == 8 * 9000 + 7,
      "the Alertmanager payload carries the long annotation")
big.stop()
rcv.stop()
print("webhook payload and signature: all checks passed")
