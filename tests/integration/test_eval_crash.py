"""`tocsin eval --store` killed with SIGKILL after a commit, then the same
input fed again in full over the store: what was committed is late, so no
event is repeated (no second `firing` for an alert already firing) and the
run goes on from there. Each commit saves the sources' newest times with
its events."""
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import check  # noqa: E402

TOCSIN = os.environ["TOCSIN"]
with open("k.yaml", "w") as f:
    f.write("""rules:
  - name: r
    metric: m
    by: [host]
    severity:
      critical: {above: 90}
  - name: w
    metric: m
    by: [host]
    window: 5m
    aggregate: max
    severity:
      warning: {above: 90}
""")
T0 = 1767225600
lines = ["m;host=a %d %d" % (99 if i % 2 == 0 else 10, T0 + 60 * i)
         for i in range(12)]
with open("all.txt", "w") as f:
    f.write("\n".join(lines) + "\n")


def run(*args, stdin=None):
    return subprocess.run([TOCSIN, "eval", "-c", "k.yaml", "--format",
                           "graphite", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


whole = [l for l in run("all.txt").stdout.splitlines() if l]

# The first 6 lines through a pipe left open; once their events are
# printed (printed means committed), the process is killed.
p = subprocess.Popen([TOCSIN, "eval", "-c", "k.yaml", "--format", "graphite",
                      "--store", "k.db"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
p.stdin.write("\n".join(lines[:6]) + "\n")
p.stdin.flush()
n_first = sum(1 for l in whole
              if int(float(l.split('"ts":')[1].split(",")[0])) <= T0 + 300)
first = [p.stdout.readline().strip() for _ in range(n_first)]
p.kill()
p.wait()
check(first == whole[:n_first], "before the kill: the events of the first 6 "
      "samples (%d)" % n_first)

again = run("--store", "k.db", "all.txt")
rest = [l for l in again.stdout.splitlines() if l]
check(again.returncode == 0, "the full input again exits 0 (%s)" % again.stderr)
check(rest == whole[n_first:], "it prints only the events after the kill, as "
      "one uninterrupted run does (%d of %d)" % (len(rest), len(whole)))
check(" 5 late" in again.stderr, "the 5 samples committed before are late, "
      "the one at the same time is taken again (%s)" % again.stderr.strip())
db = sqlite3.connect("k.db")
hist = db.execute("SELECT rule, ts, event FROM events ORDER BY id").fetchall()
db.close()
check(len(hist) == len(whole) and len(set(hist)) == len(hist),
      "the history holds each event once (%d rows, %d events)"
      % (len(hist), len(whole)))
print("eval crash: all checks passed")
