"""A `log` notifier whose path cannot take a line now (a FIFO nobody reads)
holds up nothing: its lines wait for their own writer thread, the webhook
receiver of the same alerts gets every notification at once, and SIGTERM
still stops the daemon with 0. A reader that comes later gets every line,
whole and in order. Real FIFO, real HTTP receiver on 127.0.0.1."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check,  # noqa
                            config, webhook_notifier)

fifo = os.path.abspath("audit.fifo")
os.mkfifo(fifo)
rcv = HttpReceiver().start()
notifiers = webhook_notifier(rcv.url()) + (
    "  audit:\n    type: log\n    path: %s\n" % fifo)
d = Daemon(".", config(CPU_RULE, notifiers,
                       "defaults:\n  notify: [audit, hook]\n")).start()
# Big lines too (over a pipe's 64 KiB): they must arrive whole.
big = "x" * 20000  # the line holds it four times: about 80 KB
lines = "".join(json.dumps({"metric": "cpu", "labels": {"host": "h%d" % i,
                                                        "pad": big},
                            "value": 95}) + "\n" for i in range(5))
st, _ = d.ingest(lines)
check(st == 204, "ingest answers 204")
got = rcv.wait_for(5, timeout=20)
check(len(got) == 5, "the webhook gets its 5 notifications while the log "
      "FIFO has no reader (%d)" % len(got))
fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
buf, hosts = b"", []
deadline = time.monotonic() + 30
while len(hosts) < 5 and time.monotonic() < deadline:
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        chunk = b""
    buf += chunk
    *done, buf = buf.split(b"\n")
    for ln in done:
        hosts.append(json.loads(ln)["alerts"][0]["labels"]["host"])
    if not chunk:
        time.sleep(0.05)  # polling a FIFO, bounded by the deadline
check(sorted(hosts) == ["h%d" % i for i in range(5)],
      "every log line arrives whole once a reader opens the FIFO (%s)"
      % hosts)
os.close(fd)
# No reader again, a new alert's line waiting: SIGTERM still stops it.
st, _ = d.ingest(json.dumps({"metric": "cpu", "labels": {"host": "late"},
                             "value": 95}) + "\n")
check(st == 204 and len(rcv.wait_for(6, timeout=20)) == 6,
      "a later alert reaches the webhook too")
check(d.stop() == 0, "SIGTERM exits 0 with a log line waiting")
rcv.stop()
print("ok")
