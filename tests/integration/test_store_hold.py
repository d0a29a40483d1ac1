"""One evaluating process per store: while `tocsin run` holds a store, a
second `tocsin run` and a `tocsin eval --store` on it exit 1 with a message
naming the holder's pid (two would both evaluate, repeating firings, and
both deliver the outbox); they wait 15 s first, so a restart that does not
wait for the old process to exit still works, and SIGTERM ends the wait
with 0. The views and silences keep
working beside the holder. After a clean stop, and after kill -9, the store
is free again at once."""
import os
import re
import signal
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


want = re.compile(r"store \S+ is in use by another tocsin \(pid %d, "
                  r"waited 15s\)" % d.proc.pid)
# Both wait for the store (15 s) before they give up: run them together.
second = subprocess.Popen([TOCSIN, "run", "-c", d.cfg], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
# The same store reached through a symlink is the same store.
os.symlink(d.store, "link.db")
linked = subprocess.Popen([TOCSIN, "eval", "-c", d.cfg, "--store", "link.db"],
                          text=True, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
r = run(["eval", "-c", d.cfg, "--store", d.store],
        '{"metric":"cpu","labels":{"host":"b"},"value":95}\n')
check(r.returncode == 1 and want.search(r.stderr) and r.stdout == "",
      "`tocsin eval --store` on it exits 1 naming the pid and evaluates "
      "nothing (%d, %s)" % (r.returncode, r.stderr.strip()[-200:]))
lout, lerr = linked.communicate(
    '{"metric":"cpu","labels":{"host":"c"},"value":95}\n', timeout=60)
check(linked.returncode == 1 and "in use by another tocsin" in lerr
      and lout == "", "`tocsin eval --store` through a symlink to it exits 1 "
      "too (%d, %s)" % (linked.returncode, lerr.strip()[-200:]))
out, err = second.communicate(timeout=60)
check(second.returncode == 1 and want.search(err),
      "a second `tocsin run` on the store exits 1 naming the pid (%d, %s)"
      % (second.returncode, err.strip()[-200:]))
# The same config twice (same address too): the address is what is in
# the way, said at once, without waiting for the store.
with open(d.cfg) as f:
    same = f.read().replace("listen: 127.0.0.1:0", "listen: 127.0.0.1:%d"
                            % d.port)
with open("same.yaml", "w") as f:
    f.write(same)
r = run(["run", "-c", "same.yaml"])
check(r.returncode == 1 and "cannot listen on 127.0.0.1:%d" % d.port
      in r.stderr and "in use by another tocsin" not in r.stderr,
      "a second daemon with the same address is told the address is taken "
      "(%d, %s)" % (r.returncode, r.stderr.strip()[-200:]))
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
# SIGTERM while a second `tocsin run` waits for the store stops it at
# once, with 0, as SIGTERM stops a running daemon (SPEC section 11).
waiter = subprocess.Popen([TOCSIN, "run", "-c", d.cfg], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
seen = []
for line in waiter.stderr:  # ends at the latest when it gives up (15 s)
    seen.append(line)
    if "waiting up to 15s" in line:
        waiter.send_signal(signal.SIGTERM)
        break
rest = waiter.communicate(timeout=60)[1]
check(any("waiting up to 15s" in x for x in seen) and waiter.returncode == 0
      and "stopped waiting" in rest,
      "SIGTERM while waiting for the store exits 0 (%d, %s)"
      % (waiter.returncode, ("".join(seen) + rest).strip()[-300:]))
check(d.stop() == 0, "SIGTERM exits 0")

r = run(["eval", "-c", d.cfg, "--store", d.store],
        '{"metric":"cpu","labels":{"host":"b"},"value":95}\n')
check(r.returncode == 0 and '"host":"b"' in r.stdout,
      "after the stop `tocsin eval --store` runs (%s)" % r.stderr.strip())
d.start()
d.kill9()
d.start()
check(d.healthy(), "after kill -9 a new `tocsin run` takes the store at once")

# A restart that does not wait for the old process to exit: the new one
# waits for the store instead of failing.
old = d.proc
old.send_signal(signal.SIGTERM)
d.start()
check(old.wait(30) == 0 and d.healthy(),
      "a `tocsin run` started while the old one stops takes the store once "
      "it is free")
check(d.stop() == 0, "and stops with 0")

# A lock file that cannot be made (here a folder is in its place; a
# read-only folder does the same) is said as such, at once: nothing holds
# the store, so there is nothing to wait for.
os.mkdir("odd.db.lock")
with open("odd.yaml", "w") as f:
    f.write("store: odd.db\nlisten: 127.0.0.1:0\nrules: []\n")
for args in (["run", "-c", "odd.yaml"],
             ["eval", "-c", "odd.yaml", "--store", "odd.db"]):
    r = run(args)
    check(r.returncode == 1 and "cannot create" in r.stderr
          and "odd.db.lock" in r.stderr and "in use" not in r.stderr
          and "waiting" not in r.stderr,
          "%s: an unmakeable lock file is said as such (%s)"
          % (args[0], r.stderr.strip()))
