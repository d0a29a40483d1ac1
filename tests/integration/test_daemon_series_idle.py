"""Label churn does not grow the daemon without bound: with `series_idle`,
an ok series without samples that long is forgotten, in memory (the
tocsin_series gauge) and in the store (its row goes, so a restart does not
bring it back); firing series stay, and a forgotten series' next sample
starts it afresh (it fires as a new one would)."""
import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config, wait_until  # noqa: E402

RULE = """rules:
  - name: cpu_high
    metric: cpu
    by: [host]
    window: 1s
    aggregate: max
    severity:
      critical: {above: 90}
"""
d = Daemon(".", config(RULE, extra="series_idle: 2s\n")).start()


def gauge():
    m = re.search(r"^tocsin_series (\d+)$", d.metrics(), re.M)
    return m and int(m.group(1))


def rows():
    db = sqlite3.connect(d.store, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM series WHERE rule = "
                          "'cpu_high'").fetchone()[0]
    finally:
        db.close()


now = time.time()
body = "".join('{"metric":"cpu","labels":{"host":"h%03d"},"value":%d,'
               '"ts":%.3f}\n' % (i, 99 if i < 2 else 10, now)
               for i in range(200))
st, _ = d.ingest(body, fmt="json")
check(st == 204, "200 series ingested, 2 of them firing")
check(gauge() == 200, "tocsin_series counts 200 (%s)" % gauge())
# A clean stop saves every series' window: 200 rows. The restart restores
# them, and their idle time counts from then.
check(d.stop() == 0, "SIGTERM exits 0")
check(rows() == 200, "the stop saved the 200 series (%d rows)" % rows())
d.start()
check(wait_until(lambda: gauge() == 2, 20) is True,
      "the 198 ok series are forgotten after 2 s without samples "
      "(tocsin_series %s)" % gauge())
check(wait_until(lambda: rows() == 2, 20) is True,
      "and their store rows are gone (%d rows)" % rows())
firing = sorted(a["labels"]["host"] for a in d.alerts())
check(firing == ["h000", "h001"], "the firing ones stay (%s)" % firing)
check(d.stop() == 0, "SIGTERM exits 0")

d.start()
check(gauge() == 2, "a restart does not bring the forgotten back (%s)"
      % gauge())
st, _ = d.ingest('{"metric":"cpu","labels":{"host":"h100"},"value":95}\n',
                 fmt="json")
check(st == 204, "a sample of a forgotten series")
hosts = sorted(a["labels"]["host"] for a in d.alerts())
check(hosts == ["h000", "h001", "h100"],
      "starts it afresh: it fires (%s)" % hosts)
fired = [e for e in d.history()
         if e["labels"]["host"] == "h100" and e["event"] == "firing"]
check(len(fired) == 1, "one firing event recorded for it (%d)" % len(fired))
check(d.stop() == 0, "the restarted daemon stops")
print("ok")
