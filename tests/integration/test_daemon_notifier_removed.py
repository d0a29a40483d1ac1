"""Notifications pending for a notifier the config no longer has (renamed or
removed while they waited) fail at once, without a try: each is counted in
tocsin_notifications_total and kept in the outbox as failed, and the log
says so in one line for the receiver, not one line per notification."""
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config, wait_until  # noqa: E402

N = 30
d = Daemon(".", config(CPU_RULE))
# Fill the store's outbox through a config that has the notifier.
with open("old.yaml", "w") as f:
    f.write("store: %s\nnotifiers:\n  gone:\n    type: log\n"
            "defaults:\n  notify: [gone]\n%s" % (d.store, CPU_RULE))
stream = "".join('{"metric":"cpu","labels":{"host":"h%d"},"value":99,'
                 '"ts":1767225600}\n' % i for i in range(N))
r = subprocess.run([os.environ["TOCSIN"], "eval", "-c", "old.yaml",
                    "--store", d.store],
                   input=stream, capture_output=True, text=True, timeout=60)
check(r.returncode == 0, "eval records %d notifications for `gone`" % N)


def outbox():
    db = sqlite3.connect(d.store)
    try:
        return dict(db.execute("SELECT status, count(*) FROM outbox "
                               "WHERE receiver = 'gone' GROUP BY status"))
    finally:
        db.close()


check(outbox() == {0: N}, "they are pending (%s)" % outbox())

d.start()


def failed():
    for line in d.metrics().splitlines():
        if (line.startswith("tocsin_notifications_total{")
                and 'notifier="gone"' in line and 'outcome="failed"' in line):
            return int(line.split()[-1]) == N and line
    return False


check(bool(wait_until(failed, 20)),
      "each is counted as failed in /metrics (%s)" % failed())
check(d.stop() == 0, "SIGTERM exits 0")
check(outbox() == {2: N}, "each is kept in the outbox as failed (%s)"
      % outbox())
lines = [ln for ln in d.log().splitlines() if "notifier[gone]" in ln]
check(len(lines) == 1 and "no such notifier in the config" in lines[0],
      "one log line says why, for all %d (%s)" % (N, lines))
