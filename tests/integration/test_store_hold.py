"""One evaluating process per store: while `tocsin run` holds a store, a
second `tocsin run` and a `tocsin eval --store` on it exit 1 with a message
naming the holder's pid (two would both evaluate, repeating firings, and
both deliver the outbox); the views and silences keep working beside it.
After a clean stop, and after kill -9, the store is free again at once."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config  # noqa: E402

TOCSIN = os.environ["TOCSIN"]
d = Daemon(".", config(CPU_RULE)).start()
st, _ = d.ingest('{"metric":"cpu","labels":{"host":"a"},"value":95}\n',
                 fmt="json")
check(st == 204, "the daemon takes an alert")


def run(args, stdin=""):
    return subprocess.run([TOCSIN] + args, input=stdin, capture_output=True,
                          text=True, timeout=60)


want = re.compile(r"store \S+ is in use by another tocsin \(pid %d\)"
                  % d.proc.pid)
r = run(["run", "-c", d.cfg])
check(r.returncode == 1 and want.search(r.stderr),
      "a second `tocsin run` on the store exits 1 naming the pid (%d, %s)"
      % (r.returncode, r.stderr.strip()[-200:]))
r = run(["eval", "-c", d.cfg, "--store", d.store],
        '{"metric":"cpu","labels":{"host":"b"},"value":95}\n')
check(r.returncode == 1 and want.search(r.stderr) and r.stdout == "",
      "`tocsin eval --store` on it exits 1 and evaluates nothing (%d, %s)"
      % (r.returncode, r.stderr.strip()[-200:]))
r = run(["eval", "-c", d.cfg],
        '{"metric":"cpu","labels":{"host":"b"},"value":95}\n')
check(r.returncode == 0 and '"host":"b"' in r.stdout,
      "`tocsin eval` with its in-memory store is not held back")
r = run(["alerts", "--store", d.store, "--json"])
check(r.returncode == 0 and '"host":"a"' in r.stdout,
      "`tocsin alerts` reads the held store")
r = run(["silence", "add", "--store", d.store, "--match", "host=c",
         "--for", "1h"])
check(r.returncode == 0, "`tocsin silence add` writes to it (%s)"
      % r.stderr.strip())
check(d.stop() == 0, "SIGTERM exits 0")

r = run(["eval", "-c", d.cfg, "--store", d.store],
        '{"metric":"cpu","labels":{"host":"b"},"value":95}\n')
check(r.returncode == 0 and '"host":"b"' in r.stdout,
      "after the stop `tocsin eval --store` runs (%s)" % r.stderr.strip())
d.start()
d.kill9()
d.start()
check(d.healthy(), "after kill -9 a new `tocsin run` takes the store at once")
check(d.stop() == 0, "and stops with 0")
