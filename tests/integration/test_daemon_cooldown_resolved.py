"""A webhook with a cooldown (an autoscaler's) is never left believing an
alert fires after it resolved: the "resolved" the cooldown held back is
sent when the period ends, from the daemon's timer, with its own
webhook-id. (That one dropped when the alert fires again inside the
period is checked in tests/check_router.c.)"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check, config,  # noqa: E402
                            webhook_notifier)

rcv = HttpReceiver().start()
d = Daemon(".", config(CPU_RULE, webhook_notifier(rcv.url(), extra="    cooldown: 3s\n"),
                       "defaults:\n  notify: [hook]\n")).start()


def statuses(reqs):
    out = []
    for r in reqs:
        b = json.loads(r["body"])
        out.append((b["alerts"][0]["labels"]["host"], b["status"]))
    return out


def ingest(*points):
    now = time.time()
    body = "".join('{"metric":"cpu","labels":{"host":"%s"},"value":%d,'
                   '"ts":%.3f}\n' % (h, v, now + i * 0.001)
                   for i, (h, v) in enumerate(points))
    st, _ = d.ingest(body, fmt="json")
    check(st == 204, "ingest answered 204")


# a: fires and resolves at once; the resolved waits for the period.
ingest(("a", 99), ("a", 10))
got = rcv.wait_for(1)
check(statuses(got) == [("a", "firing")], "the firing is sent: %s"
      % statuses(got))
got = rcv.wait_for(2, timeout=30)
check(statuses(got) == [("a", "firing"), ("a", "resolved")],
      "the held-back resolved follows when the cooldown ends: %s"
      % statuses(got))
ids = [r["headers"].get("webhook-id") for r in got]
check(None not in ids and len(set(ids)) == 2,
      "with its own webhook-id: %s" % ids)
check(got[1]["t"] - got[0]["t"] >= 2.9,
      "not before the period ends (%.2f s after the firing)"
      % (got[1]["t"] - got[0]["t"]))
check(d.stop() == 0, "SIGTERM exits 0")
rcv.stop()
print("daemon cooldown resolved: all checks passed")
