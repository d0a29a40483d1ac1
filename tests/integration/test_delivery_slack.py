"""test_delivery_slack.py - a Slack incoming-webhook receiver gets text plus
blocks with mrkdwn special characters escaped, and a 200 answer whose body
is not "ok" is not a delivery."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, T0, check, eval_notify, outbox_rows,  # noqa
                      write)

rcv = HttpReceiver({"/slack": [{"status": 200, "body": "ok"}],
                    "/notok": [{"status": 200, "body": "invalid_blocks"}]})
rcv.start()
write("cfg.yaml", """
notifiers:
  chat:
    type: slack
    url: %s
  broken:
    type: slack
    url: %s
routes:
  - match: {route: "~.*<.*"}
    notify: [chat]
  - match: {alertname: api_p90_latency}
    notify: [broken]
rules:
  - name: api_p90_latency
    metric: lat
    by: [service, route]
    severity:
      critical: {above: 500}
    annotations:
      summary: "p90 latency {{ value }} ms on {{ labels.route }}"
""" % (rcv.url("/slack"), rcv.url("/notok")))
with open("stream.jsonl", "w") as f:
    for svc, route, v, ts in [("api", "/a<b>&c", 600, T0),
                              ("api", "/a<b>&c", 100, T0 + 60),
                              ("web", "/plain", 600, T0)]:
        f.write(json.dumps({"metric": "lat", "labels": {"service": svc,
                            "route": route}, "value": v, "ts": ts}) + "\n")
p = eval_notify()
reqs = rcv.wait_for(2, path="/slack")
check(len(reqs) == 2, "slack got firing and resolved (%d)" % len(reqs))
b = json.loads(reqs[0]["body"])
check(isinstance(b.get("text"), str) and b["text"], "plain text fallback")
# Blocks at the top level, or inside one coloured attachment (colour by
# severity needs the attachment).
blocks = b.get("blocks") or \
    ((b.get("attachments") or [{}])[0].get("blocks") or [])
check(isinstance(blocks, list) and blocks, "blocks present")
blob = json.dumps(blocks) + b["text"]
check("&lt;b&gt;&amp;c" in blob, "label escaped as &lt; &gt; &amp;")
check("<b>" not in blob, "no raw <b> from a label in the message")
check("critical" in blob.lower() or "CRITICAL" in blob, "severity shown")
check("api_p90_latency" in blob, "rule shown")
r2 = json.loads(reqs[1]["body"])
check("resolved" in (r2["text"] + json.dumps(r2)).lower(),
      "resolved form says resolved")
check(len(rcv.on("/notok")) == 1, "200 with a body other than ok: one "
      "request, not retried")
rows, _ = outbox_rows("store.db")
st = {(r["receiver"], r["status"]) for r in rows}
check(("broken", "failed") in st, "the not-ok answer is a failed delivery")
check(("chat", "sent") in st, "the ok answer is sent")
rcv.stop()
print("slack: all checks passed")
