"""The daemon sends the noisy-alert report on its schedule, once per period
even across a restart: a store that never sent is due at once; the send is
remembered in the store, so a restarted daemon does not send it again."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config  # noqa: E402
from receiver import HttpReceiver  # noqa: E402

recv = HttpReceiver().start()
rules = """rules:
  - name: disk_full
    metric: disk
    severity: {warning: {above: 90}}
"""
notifiers = """notifiers:
  weekly:
    type: webhook
    url: %s
""" % recv.url("/report")
cfg = config(rules, notifiers=notifiers,
             extra="report: {every: 1w, at: \"Mon 09:00\", since: 7d, notify: [weekly]}\n")
d = Daemon(".", cfg).start()
st, _ = d.ingest('{"metric":"disk","labels":{},"value":95}\n{"metric":"disk","labels":{},"value":10}\n', fmt="json")
check(st == 204, "ingest accepted")
got = recv.wait_for(1, timeout=30, path="/report")
check(len(got) == 1, "the first report arrives without waiting a week")
body = json.loads(got[0]["body"])
check("rules" in body and "since" in body and "until" in body,
      "the webhook receives the report's JSON shape")
rc = d.stop()
check(rc == 0, "clean stop")
d.start()
# Two evaluation ticks (1s each) and a commit: wait for the daemon's tick
# to have run by ingesting and waiting for the alert to show.
st, _ = d.ingest('{"metric":"disk","labels":{},"value":99}\n', fmt="json")
check(st == 204 and len(d.alerts()) == 1, "the restarted daemon evaluates")
d.wait_log(r"never-matches", timeout=3)
check(len(recv.on("/report")) == 1, "no second report in the same period after a restart")
check(d.stop() == 0, "clean stop again")
recv.stop()
