"""The store cannot take the daemon's writes (another process holds its
write lock past the busy timeout): the ingest is answered 503, /healthz
says 503 too, and nothing of that batch is half-kept: once the lock is
gone, the client's retry fires and records the alerts (204), and /healthz
is 200 again. The log and tocsin_events_total show each firing once."""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config  # noqa: E402

d = Daemon(".", config(CPU_RULE)).start()
body = "".join('{"metric":"cpu","labels":{"host":"busy%d"},"value":99}\n' % i
               for i in range(20))
hold = sqlite3.connect(d.store, timeout=30, isolation_level=None)
hold.execute("BEGIN IMMEDIATE")
st, text = d.ingest(body, fmt="json")
print(st, text)
check(st == 503, "an ingest the store cannot commit is answered 503 (%d)"
      % st)
st, text = d.request("GET", "/healthz")
check(st == 503 and "commit" in text, "/healthz says the store fails (%d %s)"
      % (st, text.strip()))
hold.execute("ROLLBACK")
hold.close()

st, text = d.ingest(body, fmt="json")
check(st == 204, "the retry, with the lock gone, is answered 204 (%d)" % st)
hosts = {a["labels"]["host"] for a in d.alerts()}
check(hosts == {"busy%d" % i for i in range(20)},
      "the retry's 20 alerts are recorded (%d)" % len(hosts))
firing = [e for e in d.history() if e["event"] == "firing"]
check(len(firing) == 20, "one firing event each (%d)" % len(firing))
st, text = d.request("GET", "/healthz")
check(st == 200 and text.strip() == "ok", "/healthz is ok again")
logged = [l for l in d.log().splitlines()
          if " engine: cpu_high " in l and " firing -> critical" in l]
check(len(logged) == 20, "each firing is logged once (%d)"
      % len(logged))
named = {l.split(" engine: cpu_high ")[1].split()[0] for l in logged}
check(named == {"host=busy%d" % i for i in range(20)},
      "each log line names its alert's labels (%s)" % sorted(named)[:3])
counted = [l for l in d.metrics().splitlines()
           if l.startswith('tocsin_events_total{event="firing"}')]
check(counted == ['tocsin_events_total{event="firing"} 20'],
      "and counted once (%s)" % counted)
check(d.stop() == 0, "SIGTERM exits 0")
