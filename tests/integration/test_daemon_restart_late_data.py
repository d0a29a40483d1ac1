"""Data that comes late, steadily (an agent 100 s behind), across a
restart of `tocsin run` (SIGTERM, then kill -9 after a checkpoint): the
restarted daemon's timer judges the series where the one before would
have, 100 s behind the wall clock, not at the wall clock. So a `for: 60s`
that has held 6 s of sample time does not complete at the first tick after
the restart, and a count over 60 s keeps its samples (no resolved). The
events are read back from the store; the ticks are awaited on /metrics
(one evaluation per tick)."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config, wait_until  # noqa: E402

RULES = """rules:
  - name: slow
    metric: late_m
    severity:
      warning: {above: 5, for: 60s}
  - name: busy
    metric: late_m
    window: 60s
    aggregate: count
    severity:
      warning: {above: 25}
"""


def evaluations(d):
    m = re.search(r"^tocsin_evaluation_duration_seconds_count (\d+)",
                  d.metrics(), re.M)
    return int(m.group(1)) if m else 0


def events(d):
    return [(e["rule"], e["event"]) for e in d.history()]


d = Daemon(".", config(RULES)).start()
now = time.time()
# 30 samples 0.2 s apart, the newest 100 s old when it arrives.
body = "".join('{"metric":"late_m","value":10,"ts":%.3f}\n'
               % (now - 105.8 + i * 0.2) for i in range(30))
check(d.ingest(body, fmt="json")[0] == 204, "30 late samples accepted")
for how in ("SIGTERM", "kill -9"):
    if how == "SIGTERM":
        d.stop()
    else:
        # After a checkpoint (checkpoint_interval: 2s) has saved them.
        n0 = evaluations(d)
        check(wait_until(lambda: evaluations(d) >= n0 + 3, timeout=20),
              "three evaluation passes before the kill (a checkpoint)")
        d.kill9()
    d.start()
    n0 = evaluations(d)
    check(wait_until(lambda: evaluations(d) >= n0 + 3, timeout=20),
          "three timer passes after the restart (%s)" % how)
    got = events(d)
    check(got == [("busy", "firing")],
          "after %s: only busy's firing, no early slow firing and no "
          "resolved: %s" % (how, got))
d.stop()
print("ok")
