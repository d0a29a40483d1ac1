"""SIGTERM while a delivery waits for a receiver slower than the stop's
grace (5 s): the daemon exits 0 without waiting for it, says so in its log,
and leaves the notification pending; the next start delivers it again with
the same webhook-id (at least once, never lost)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check, config,  # noqa: E402
                            webhook_notifier)
from receiver import outbox_rows  # noqa: E402

rcv = HttpReceiver({"/hook": [{"status": 200, "body": "ok", "delay": 8},
                              {"status": 200, "body": "ok"}]}).start()
d = Daemon(".", config(CPU_RULE, webhook_notifier(rcv.url()),
                       "defaults:\n  notify: [hook]\n"))
d.start()
st, _ = d.ingest('{"metric":"cpu","labels":{"host":"a"},"value":99}\n',
                 fmt="json")
check(st == 204, "ingest")
check(len(rcv.wait_for(1, 30)) == 1, "the slow receiver got the request")
check(d.stop(timeout=30) == 0, "SIGTERM exits 0 without the answer")
check(bool(d.wait_log(r"stopping with 1 delivery still waiting for an "
                      r"answer after 5s: it stays pending", timeout=5)),
      "the log says the delivery was left pending")
rows, _ = outbox_rows(d.store)
check([r["status"] for r in rows] == ["pending"],
      "the notification is still pending (%s)" % [r["status"] for r in rows])
d.start()
got = rcv.wait_for(2, 30)
check(len(got) == 2, "the next start delivers it again")
if len(got) == 2:
    ids = [{k.lower(): v for k, v in r["headers"].items()}.get("webhook-id")
           for r in got]
    check(ids[0] is not None and ids[0] == ids[1],
          "with the same webhook-id (%s)" % ids)
check(d.stop() == 0, "the second stop exits 0")
rcv.stop()
print("ok")
