"""kill -9 after the log notifier's notifications count as sent: every one
of them is in its file (SPEC 5: every committed notification is delivered
at least once). A line to a regular file is written before its delivery
counts as done, also while another log notifier's FIFO has no reader."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config, wait_until  # noqa: E402
from receiver import outbox_rows  # noqa: E402

# A second log notifier writes to a FIFO nobody reads: its lines wait for
# ever in the writer thread, and must not hold the file's lines back.
os.mkfifo("tap.fifo")
d = Daemon(".", config(CPU_RULE, "notifiers:\n  audit: {type: log, path: "
                       "audit.jsonl}\n  tap: {type: log, path: tap.fifo}\n",
                       "defaults:\n  notify: [audit, tap]\n"))
d.start()
st, _ = d.ingest("".join('{"metric":"cpu","labels":{"host":"h%03d"},'
                         '"value":99}\n' % i for i in range(300)), fmt="json")
check(st == 204, "300 alerts fire")


def sent():
    return len([r for r in outbox_rows(d.store)[0]
                if r["status"] == "sent" and r["receiver"] == "audit"])


check(wait_until(lambda: sent() > 0, 30) is True, "deliveries are recorded")
d.kill9()
n = sent()
with open("audit.jsonl") as f:
    lines = f.read().splitlines()
hosts = {h for h in ("h%03d" % i for i in range(300))
         if any('"host":"%s"' % h in ln for ln in lines)}
check(len(hosts) >= n, "every notification recorded as sent (%d) is in the "
      "file (%d alerts there)" % (n, len(hosts)))
d.start()
check(wait_until(lambda: sent() == 300, 30) is True,
      "after the restart the rest are delivered (%d of 300)" % sent())
d.stop()
with open("audit.jsonl") as f:
    lines = f.read().splitlines()
hosts = {h for h in ("h%03d" % i for i in range(300))
         if any('"host":"%s"' % h in ln for ln in lines)}
check(len(hosts) == 300, "every alert's line is in the file (%d)" % len(hosts))
print("ok")
