"""Ingest counters count committed samples: a batch the store cannot commit
(another process holds its write lock) is answered 503 and not counted,
so the client's retry, committed, is counted once."""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config  # noqa: E402

d = Daemon(".", config(CPU_RULE)).start()


line = '{"metric":"cpu","labels":{"host":"m"},"value":99}\n'
check(d.ingest(line, fmt="json")[0] == 204 and d.ingested("http") == 1,
      "a committed sample is counted (%d)" % d.ingested("http"))
con = sqlite3.connect(d.store, isolation_level=None, timeout=30)
con.execute("BEGIN EXCLUSIVE")
try:
    st, body = d.ingest(line.replace('"m"', '"n"'), fmt="json")
finally:
    con.execute("COMMIT")
    con.close()
check(st == 503, "the store is locked: 503 (%d %s)" % (st, body.strip()))
check(d.ingested("http") == 1, "and the refused sample is not counted (%d)"
      % d.ingested("http"))
check(d.ingest(line.replace('"m"', '"n"'), fmt="json")[0] == 204,
      "the retry is committed")
check(d.ingested("http") == 2, "and counted once (%d)" % d.ingested("http"))
check(d.stop() == 0, "SIGTERM exits 0")
print("ingest count committed: all checks passed")
