"""/metrics counts notifications held back by a notifier's cooldown as
tocsin_notifications_total{outcome="skipped"}, in step with the outbox, and
only this process's: a restart starts the counter at 0."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check, config,  # noqa: E402
                            wait_until, webhook_notifier)
from receiver import outbox_rows  # noqa: E402

rcv = HttpReceiver().start()
d = Daemon(".", config(CPU_RULE, webhook_notifier(rcv.url(), extra="    cooldown: 1h\n"),
                       "defaults:\n  notify: [hook]\n")).start()
now = time.time()
body = "".join('{"metric":"cpu","labels":{"host":"a"},"value":%d,"ts":%.3f}\n'
               % (v, now + i) for i, v in enumerate((99, 10, 99, 10, 99)))
st, _ = d.ingest(body, fmt="json")
check(st == 204, "ingest: the alert fires, resolves and fires again")
rows, _ = outbox_rows(d.store)
skipped = len([r for r in rows if r["status"] == "skipped"])
check(skipped >= 2, "the cooldown held back notifications (%s)"
      % [r["status"] for r in rows])


def counted():
    m = re.search(r'^tocsin_notifications_total\{notifier="hook",'
                  r'outcome="skipped"\} (\d+)$', d.metrics(), re.M)
    return m and int(m.group(1))


check(wait_until(lambda: counted() == skipped, 20) is True,
      "/metrics counts them as skipped (%s, outbox %d)" % (counted(), skipped))
check(d.stop() == 0, "SIGTERM exits 0")
# Counters count what this process did: after a restart they start at 0,
# also for the rows the last run queued a moment ago.
d.start()
check(counted() == 0, "after a restart the skipped counter starts at 0 (%s)"
      % counted())
check(d.stop() == 0, "the restarted daemon stops")
rcv.stop()
print("ok")
