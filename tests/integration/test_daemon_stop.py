"""Graceful stop: SIGTERM drains and exits 0 and saves every series' window,
so a restarted daemon continuing the stream gives no repeated firing and
no event a single uninterrupted run would not give. An ingest in progress
at SIGTERM gets its answer (204 once committed, or 503), never a closed
connection."""
import http.client
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config  # noqa: E402

rules = """rules:
  - name: load_avg
    metric: load
    by: [host]
    window: 10m
    aggregate: avg
    severity:
      warning: {above: 50}
"""
# checkpoints far apart: only the clean stop can have saved the window
cfg = config(rules).replace("checkpoint_interval: 2s",
                            "checkpoint_interval: 1h")
d = Daemon(".", cfg).start()
t0 = time.time() - 60
part1 = "".join('{"metric":"load","labels":{"host":"h"},"value":100,'
                '"ts":%.3f}\n' % (t0 + i) for i in range(4))
st, _ = d.ingest(part1, fmt="json")
check(st == 204, "part 1 ingested")
check([a["rule"] for a in d.alerts()] == ["load_avg"], "the alert fires")
rc = d.stop()
check(rc == 0, "SIGTERM exits 0 (got %s)" % rc)
check("stopped" in d.log(), "the daemon logs its clean stop")

d.start()
# avg with the saved window: (4*100 + 10) / 5 = 82 > 50, still firing.
# Without the window it would be 10 and resolve.
st, _ = d.ingest('{"metric":"load","labels":{"host":"h"},"value":10,'
                 '"ts":%.3f}\n' % (t0 + 10), fmt="json")
check(st == 204, "part 2 ingested after restart")
check([a["rule"] for a in d.alerts()] == ["load_avg"],
      "the alert is still firing after the restart")
rc = d.stop()
check(rc == 0, "second SIGTERM exits 0")
events = [(e["event"], e["severity"]) for e in d.history()]
check(events == [("firing", "warning")],
      "history holds exactly one firing and nothing else (%s)" % events)

# A large ingest is in progress (sent whole, being evaluated) when SIGTERM
# comes: its client still reads an answer.
d.start()
big = "".join('{"metric":"load","labels":{"host":"b%06d"},"value":99,'
              '"ts":%.3f}\n' % (i, t0 + 20) for i in range(60000))
conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=60)
conn.request("POST", "/api/v1/ingest?format=json", body=big.encode())
d.signal(signal.SIGTERM)
try:
    resp = conn.getresponse()
    answer = resp.status
    resp.read()
except (http.client.HTTPException, OSError) as ex:
    answer = repr(ex)
check(answer in (204, 503), "the in-flight ingest is answered (%s)" % answer)
check(d.proc.wait(timeout=60) == 0, "and the daemon exits 0")
if answer == 204:
    d.start()
    n = len([a for a in d.alerts() if a["labels"]["host"].startswith("b")])
    check(n == 60000, "all 60000 acknowledged alerts are in the store (%d)"
          % n)
    d.stop()
