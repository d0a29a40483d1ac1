"""A `log` notifier that cannot take a line now (a FIFO nobody reads)
holds up nothing: the webhook receiver of the same alerts gets every
notification at once, SIGTERM still stops the daemon with 0, and the log
lines are retried like any delivery, so a reader that comes later gets
every one of them (none is lost). Real FIFO, real HTTP receiver on
127.0.0.1."""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check,  # noqa
                            config, webhook_notifier)

fifo = os.path.abspath("audit.fifo")
os.mkfifo(fifo)
rcv = HttpReceiver().start()
notifiers = webhook_notifier(rcv.url()) + (
    "  audit:\n    type: log\n    path: %s\n    retry_backoff: 100ms\n"
    "    max_retry_time: 1h\n" % fifo)
d = Daemon(".", config(CPU_RULE, notifiers,
                       "defaults:\n  notify: [audit, hook]\n")).start()
lines = "".join(json.dumps({"metric": "cpu", "labels": {"host": "h%d" % i},
                            "value": 95}) + "\n" for i in range(5))
st, _ = d.ingest(lines)
check(st == 204, "ingest answers 204")
got = rcv.wait_for(5, timeout=20)
check(len(got) == 5, "the webhook gets its 5 notifications while the log "
      "FIFO has no reader (%d)" % len(got))
# A reader comes: the retried lines arrive, each alert's once or more.
fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
buf, hosts = b"", set()
deadline = time.monotonic() + 30
while len(hosts) < 5 and time.monotonic() < deadline:
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        chunk = b""
    buf += chunk
    *done, buf = buf.split(b"\n")
    for ln in done:
        hosts.add(json.loads(ln)["alerts"][0]["labels"]["host"])
    if not chunk:
        time.sleep(0.05)  # polling a FIFO, bounded by the deadline
check(hosts == {"h%d" % i for i in range(5)},
      "every log line arrives once a reader opens the FIFO (%s)"
      % sorted(hosts))
os.close(fd)
# No reader again, a new alert's line pending: SIGTERM still stops it.
st, _ = d.ingest(json.dumps({"metric": "cpu", "labels": {"host": "late"},
                             "value": 95}) + "\n")
check(st == 204 and len(rcv.wait_for(6, timeout=20)) == 6,
      "a later alert reaches the webhook too")
check(d.stop() == 0, "SIGTERM exits 0 with a log line waiting")
rcv.stop()
print("ok")
