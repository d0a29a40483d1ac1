"""An agent whose clock runs ahead: the daemon records its event at the
event's own ts (two hours from now) but queues the notification at wall-clock
time. The report counts an event's notifications in the event's period
(SPEC 9: time is the events' own ts), so a period that starts after the
queueing time still shows the notification as sent."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check, config,  # noqa: E402
                            wait_until, webhook_notifier)
from receiver import outbox_rows, run_tocsin  # noqa: E402

rcv = HttpReceiver().start()
d = Daemon(".", config(CPU_RULE, webhook_notifier(rcv.url()),
                       "defaults:\n  notify: [hook]\n")).start()
now = int(time.time())
st, _ = d.ingest('{"metric":"cpu","labels":{"host":"ahead"},"value":99,'
                 '"ts":%d}\n' % (now + 7200), fmt="json")
check(st == 204, "ingest of a sample stamped two hours ahead")
check(wait_until(lambda: [r["status"] for r in outbox_rows(d.store)[0]]
                 == ["sent"], 30) is True, "its notification is sent")
rows, _ = outbox_rows(d.store)
check(rows[0]["created"] < now + 3600,
      "it was queued at wall-clock time, before the report's period")
check(d.stop() == 0, "the daemon stops")
p = run_tocsin(["report", "--store", d.store, "--since", str(now + 3600),
                "--until", str(now + 10000), "--format", "json"])
check(p.returncode == 0, "report exits 0 (%s)" % p.stderr.strip())
rules = json.loads(p.stdout)["rules"]
check(len(rules) == 1 and rules[0]["fired"] == 1 and
      rules[0]["notifications"] == {"sent": 1, "failed": 0, "silenced": 0},
      "the event's period shows it fired and its notification was sent (%s)"
      % [(r["fired"], r["notifications"]) for r in rules])
rcv.stop()
print("ok")
