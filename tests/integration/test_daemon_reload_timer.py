"""Reloads do not put off the evaluation timer: with SIGHUPs coming one
after another (each awaited in the log), a `for: 2s` still completes at a
timer tick, and so does a nodata deadline (SPEC 4: the timer is what makes
`for` and `nodata` fire when no sample arrives). Each reload used to set
the next tick a whole evaluation_interval ahead, so frequent reloads kept
both from ever firing. A real `tocsin run` on 127.0.0.1."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config  # noqa: E402

RULES = """rules:
  - name: hot
    metric: temp
    by: [host]
    severity:
      critical: {above: 90, for: 2s}
  - name: beat
    metric: beat
    nodata: {after: 2s}
    severity:
      warning: {above: 1000}
"""

d = Daemon(".", config(RULES)).start()
try:
    now = time.time()
    st, _ = d.ingest('{"metric":"temp","labels":{"host":"a"},"value":95,'
                     '"ts":%.3f}\n{"metric":"beat","value":1,"ts":%.3f}\n'
                     % (now, now), fmt="json")
    check(st == 204, "samples accepted")

    def fired():
        return sorted(a["rule"] for a in d.alerts() or [])

    reloads = 0
    deadline = time.monotonic() + 30  # a bound, not a synchronisation
    while fired() != ["beat", "hot"] and time.monotonic() < deadline:
        off = len(d.log())
        d.signal(signal.SIGHUP)
        check(d.wait_log(r"config reloaded", 20, off) is not None,
              "reload %d done" % (reloads + 1))
        reloads += 1
    check(fired() == ["beat", "hot"],
          "for and nodata fired while %d reloads came one after another "
          "(%s)" % (reloads, fired()))
finally:
    d.stop()
print("ok")
