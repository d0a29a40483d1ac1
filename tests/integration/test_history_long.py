#!/usr/bin/env python3
# slow
"""`tocsin history` over a long history (300,000 events of 50 flapping
series) prints its aligned table without holding the rows: it runs within
a 64 MiB address space (the whole table held in memory took about 100 MiB),
prints one line per event as `--json` does, and its columns line up on
every line, the widest cells included."""
import json
import os
import resource
import subprocess
import sys
import time

TOCSIN = os.environ["TOCSIN"]
N = 300000


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        sys.exit(1)


with open("flap.yaml", "w") as f:
    f.write("rules:\n  - name: flap\n    metric: f\n    by: [host]\n"
            "    severity: {warning: {above: 0}}\n")
t0 = time.time() - 86400
with open("flap.jsonl", "w") as f:
    for i in range(N):
        # One host name much longer than the others, so that alignment
        # depends on measuring every row.
        host = "h%d" % (i % 50) if i % 50 else "a-much-longer-host-name"
        f.write('{"metric":"f","labels":{"host":"%s"},"value":%d,'
                '"ts":%.3f}\n' % (host, (i // 50) % 2, t0 + i * 0.1))
r = subprocess.run([TOCSIN, "eval", "-c", "flap.yaml", "--store", "s.db",
                    "flap.jsonl"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, text=True, timeout=300)
check(r.returncode == 0, "the store is filled (%s)" % r.stderr.strip())


def limit():
    resource.setrlimit(resource.RLIMIT_AS, (64 << 20, 64 << 20))


r = subprocess.run([TOCSIN, "history", "-c", "flap.yaml", "--store", "s.db",
                    "--since", "7d"], capture_output=True, text=True,
                   timeout=300, preexec_fn=limit)
check(r.returncode == 0, "history runs within 64 MiB of address space "
      "(exit %d, %s)" % (r.returncode, r.stderr[-200:]))
lines = r.stdout.splitlines()
j = subprocess.run([TOCSIN, "history", "-c", "flap.yaml", "--store", "s.db",
                    "--since", "7d", "--json"], capture_output=True,
                   text=True, timeout=300)
events = [json.loads(x) for x in j.stdout.splitlines()]
check(len(events) == N - 50 and len(lines) == len(events) + 1,
      "one table line per event, as --json lists them (%d, %d)"
      % (len(lines) - 1, len(events)))
header = lines[0]
starts = [header.index(h) for h in ("RULE", "EVENT", "SEVERITY", "VALUE",
                                    "LABELS")]
bad = [ln for ln in lines[1:]
       if any(ln[s - 2:s] != "  " or ln[s] == " " for s in starts)]
check(not bad, "every line's columns start under their headers (%s)"
      % bad[:2])
check(any("host=a-much-longer-host-name" in ln for ln in lines[1:3]),
      "the widest label cell is among them")
