"""test_conform_alertmanager.py - tocsin's default webhook payload and log
line carry every key of the real Prometheus Alertmanager 0.25 webhook payload
with the same JSON types and value formats. The reference payloads (firing
and resolved) are captured at test time from /usr/bin/prometheus-alertmanager
posting to a local receiver; skipped (exit 0, with a message) only when that
binary is absent. tocsin sends one alert per message, so its group is the
alert: the reference Alertmanager groups by the labels that name the alert
(alertname, the rule's `by` label and its own label; not severity), and
groupKey and groupLabels must then be the same."""
import datetime
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, RULE_YAML, T0, check, eval_notify,  # noqa
                      free_port, stream, write)

AM = "/usr/bin/prometheus-alertmanager"
# The service label: characters Go's JSON encoder escapes (<, >, &) and
# one it writes as it is (a UTF-8 letter), to compare bytes too.
SVC = "api<\u00e9>&co"
if not os.path.exists(AM):
    print("SKIP: %s not installed (apt-get install prometheus-alertmanager)"
          % AM)
    sys.exit(0)

# --- 1. the reference: what the real Alertmanager sends -------------------
am_rcv = HttpReceiver().start()
am_port = free_port()
os.makedirs("amdata", exist_ok=True)
write("am.yml", """
route:
  receiver: hook
  group_by: [alertname, service, team]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
""" % am_rcv.url("/hook"))
am_log = open("am.log", "w")
am = subprocess.Popen([AM, "--config.file=am.yml", "--storage.path=amdata",
                       "--web.listen-address=127.0.0.1:%d" % am_port,
                       "--cluster.listen-address=", "--log.level=warn"],
                      stdout=subprocess.DEVNULL, stderr=am_log)
base = "http://127.0.0.1:%d" % am_port
try:
    deadline = time.monotonic() + 30
    ready = False
    while time.monotonic() < deadline and not ready:
        try:
            urllib.request.urlopen(base + "/-/ready", timeout=1)
            ready = True
        except Exception:
            if am.poll() is not None:
                break
            time.sleep(0.1)  # polling for readiness, bounded by deadline
    check(ready, "alertmanager is ready on 127.0.0.1:%d" % am_port)

    def post(alerts):
        req = urllib.request.Request(
            base + "/api/v2/alerts", data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        return urllib.request.urlopen(req, timeout=10).status

    now = datetime.datetime.now(datetime.timezone.utc)
    alert = {"labels": {"alertname": "api_p90_latency", "service": SVC,
                        "severity": "critical", "team": "web"},
             "annotations": {"summary": "p90 latency 600 ms on " + SVC},
             "startsAt": now.isoformat()}
    check(post([alert]) == 200, "alertmanager accepted the firing alert")
    got = am_rcv.wait_for(1, timeout=30)
    check(len(got) >= 1, "alertmanager delivered the firing notification")
    alert["endsAt"] = (now + datetime.timedelta(seconds=1)).isoformat()
    check(post([alert]) == 200, "alertmanager accepted the resolution")
    deadline = time.monotonic() + 30
    am_resolved = None
    while am_resolved is None and time.monotonic() < deadline:
        for r in am_rcv.wait_for(len(am_rcv.requests) + 1, timeout=2):
            b = json.loads(r["body"])
            if b.get("status") == "resolved":
                am_resolved = b
    am_firing_raw = got[0]["body"]
    am_firing = json.loads(am_firing_raw)
    check(am_resolved is not None,
          "alertmanager delivered the resolved notification")
finally:
    am.terminate()
    try:
        am.wait(timeout=10)
    except subprocess.TimeoutExpired:
        am.kill()
        am.wait()
    am_rcv.stop()
print("reference firing:   " + json.dumps(am_firing))
print("reference resolved: " + json.dumps(am_resolved))

# --- 2. what tocsin sends for the equivalent event -----------------------
rcv = HttpReceiver().start()
write("cfg.yaml", """
notifiers:
  hook: {type: webhook, url: %s}
  audit: {type: log, path: audit.jsonl}
routes:
  - match: {alertname: api_p90_latency}
    notify: [hook, audit]
""" % rcv.url("/hook") + RULE_YAML)
stream([(SVC, 600, T0 + 0.25), (SVC, 100, T0 + 60)])
p = eval_notify()
check(p.returncode == 0, "tocsin eval --notify exits 0")
reqs = rcv.wait_for(2, path="/hook")
check(len(reqs) == 2, "tocsin sent firing and resolved: got %d" % len(reqs))
rcv.stop()
ours = [json.loads(r["body"]) for r in reqs]
logs = [json.loads(x) for x in open("audit.jsonl").read().splitlines()]
check(len(logs) == 2, "log notifier wrote two lines")

# --- 3. compare -----------------------------------------------------------
JTYPE = {dict: "object", list: "array", str: "string", bool: "bool",
         int: "number", float: "number", type(None): "null"}


def shape_diff(ref, got, path="$"):
    """Every key of ref is in got with the same JSON type (recursively;
    arrays compared by their first element). Returns a list of problems."""
    probs = []
    if JTYPE[type(ref)] != JTYPE[type(got)]:
        return ["%s: type %s, Alertmanager has %s" %
                (path, JTYPE[type(got)], JTYPE[type(ref)])]
    if isinstance(ref, dict):
        # labels/annotations maps hold data, not schema: compare only
        # their type there.
        if path.endswith(("labels", "Labels", "annotations", "Annotations")):
            return probs
        for k in ref:
            if k not in got:
                probs.append("%s.%s missing" % (path, k))
            else:
                probs += shape_diff(ref[k], got[k], path + "." + k)
    elif isinstance(ref, list) and ref and got:
        probs += shape_diff(ref[0], got[0], path + "[0]")
    return probs


GO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$")
for name, ref, mine in (("firing", am_firing, ours[0]),
                        ("resolved", am_resolved, ours[1]),
                        ("log firing", am_firing, logs[0]),
                        ("log resolved", am_resolved, logs[1])):
    probs = shape_diff(ref, mine)
    check(not probs, "%s: every Alertmanager key present with its type %s"
          % (name, probs))
    check(mine["version"] == ref["version"] == "4", name + ": version \"4\"")
    check(mine["status"] == ref["status"], name + ": status " + ref["status"])
    a, ra = mine["alerts"][0], ref["alerts"][0]
    check(a["status"] == ra["status"], name + ": alert status")
    check(len(a["fingerprint"]) == len(ra["fingerprint"]) == 16 and
          re.fullmatch(r"[0-9a-f]{16}", a["fingerprint"]) is not None,
          name + ": fingerprint is 16 lowercase hex like Alertmanager's")
    for k in ("startsAt", "endsAt"):
        check(GO_TIME.match(ra[k]) is not None,
              "%s: reference %s %s is Go RFC3339Nano UTC" % (name, k, ra[k]))
        check(GO_TIME.match(a[k]) is not None,
              "%s: tocsin %s %s is Go RFC3339Nano UTC" % (name, k, a[k]))
    if ref["status"] == "firing":
        check(a["endsAt"] == ra["endsAt"] == "0001-01-01T00:00:00Z",
              name + ": firing endsAt is Go's zero time")
    check(ra["labels"]["severity"] == a["labels"]["severity"] == "critical",
          name + ": severity label is the alert's (critical, also resolved)")
    check(list(a["labels"]) == sorted(a["labels"]) and
          list(ra["labels"]) == sorted(ra["labels"]),
          name + ": label keys sorted as Go's encoder writes them")
    check(a["labels"] == ra["labels"], name + ": same labels %s vs %s" %
          (a["labels"], ra["labels"]))
    check(mine["groupKey"] == ref["groupKey"],
          name + ": groupKey %s" % ref["groupKey"])
    check(mine["groupLabels"] == ref["groupLabels"], name + ": groupLabels")
    check(mine["commonLabels"] == ref["commonLabels"], name + ": commonLabels")
    check(mine["truncatedAlerts"] == ref["truncatedAlerts"] == 0,
          name + ": truncatedAlerts 0")
    check(mine["receiver"] in ("hook", "audit"), name + ": receiver name")
check(ours[0]["alerts"][0]["startsAt"] == "2026-01-01T00:00:00.25Z",
      "startsAt keeps the fraction without trailing zeros: %s"
      % ours[0]["alerts"][0]["startsAt"])
check(ours[1]["alerts"][0]["endsAt"] == "2026-01-01T00:01:00Z",
      "whole-second endsAt has no fraction: %s" % ours[1]["alerts"][0]["endsAt"])
check(ours[1]["alerts"][0]["startsAt"] == ours[0]["alerts"][0]["startsAt"],
      "resolved keeps the firing startsAt")
check(ours[0]["alerts"][0]["fingerprint"] ==
      ours[1]["alerts"][0]["fingerprint"], "fingerprint stable across events")

# Bytes, not only values: a receiver that compares bodies or verifies a
# signature over them sees Alertmanager's escapes and final newline.
def raw_member(body, key):
    """The raw text of every "key":"..." string member of a JSON body."""
    text = body.decode() if isinstance(body, bytes) else body
    return re.findall(r'"%s":"(?:[^"\\]|\\.)*"' % re.escape(key), text)


ours_raw = reqs[0]["body"]
for key in ("service", "summary", "groupKey"):
    mine_m, ref_m = raw_member(ours_raw, key), raw_member(am_firing_raw, key)
    check(mine_m and mine_m == ref_m,
          "raw %s members as Alertmanager writes them: %s vs %s"
          % (key, mine_m, ref_m))
check("\\u003c\u00e9\\u003e\\u0026" in raw_member(ours_raw, "service")[0],
      "<, > and & escaped as Go does, UTF-8 kept")
for name, body in (("tocsin", ours_raw), ("alertmanager", am_firing_raw)):
    b = body if isinstance(body, bytes) else body.encode()
    check(b.endswith(b"}\n"), name + " body ends with a newline after }")
print("alertmanager conformance: all checks passed")
