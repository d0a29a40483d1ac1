#!/usr/bin/env python3
"""A silence added now applies to `tocsin eval --notify` of a replayed stream
whose samples carry past timestamps: the matching event is recorded as
silenced and not delivered; the other alert is delivered."""
import json
import os
import subprocess
import sys

TOCSIN = os.environ["TOCSIN"]
with open("c.yaml", "w") as f:
    f.write("""notifiers:
  audit: {type: log, path: n.jsonl}
defaults: {notify: [audit]}
rules:
  - name: api_p90_latency
    metric: lat
    by: [service]
    severity: {critical: {above: 500}}
""")
fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += 0 if cond else 1


r = subprocess.run([TOCSIN, "silence", "add", "-c", "c.yaml", "--store", "s.db",
                    "--match", "alertname=api_p90_latency,service=api", "--for", "2h"],
                   capture_output=True, text=True, timeout=60)
check(r.returncode == 0, "silence added (%s)" % r.stderr.strip())
stream = ('{"metric":"lat","labels":{"service":"api"},"value":600,"ts":1767225600}\n'
          '{"metric":"lat","labels":{"service":"web"},"value":600,"ts":1767225601}\n')
r = subprocess.run([TOCSIN, "eval", "-c", "c.yaml", "--store", "s.db", "--notify"],
                   input=stream, capture_output=True, text=True, timeout=60)
check(r.returncode == 0, "eval --notify exits 0 (%s)" % r.stderr.strip())
check("eval: notifications: 1 sent, 0 failed, 1 silenced" in r.stderr,
      "the summary counts this run's sent and silenced notifications (%s)"
      % r.stderr.strip())
lines = [json.loads(x) for x in open("n.jsonl")] if os.path.exists("n.jsonl") else []
services = [x["alerts"][0]["labels"]["service"] for x in lines]
check(services == ["web"], "only the unsilenced alert is delivered (%s)" % services)
r = subprocess.run([TOCSIN, "history", "-c", "c.yaml", "--store", "s.db", "--since", "3650d"],
                   capture_output=True, text=True, timeout=60)
rows = [l for l in r.stdout.splitlines() if "api_p90_latency" in l]
check(len(rows) == 2, "both events are in the history")
check(any("service=api" in l and "silenced" in l for l in rows) and
      not any("service=web" in l and "silenced" in l for l in rows),
      "the silenced event is marked, the other is not")
# history --json marks the silenced event; --since 0 is all of history.
r = subprocess.run([TOCSIN, "history", "-c", "c.yaml", "--store", "s.db", "--since", "0",
                    "--json"], capture_output=True, text=True, timeout=60)
evs = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
check(len(evs) == 2, "--since 0 is all of history (%d events)" % len(evs))
check([(e["labels"]["service"], e.get("silenced", False)) for e in evs] ==
      [("api", True), ("web", False)],
      "history --json marks the silenced event only: %s" % r.stdout)
# alerts --json: since is the firing event's ts (milliseconds).
r = subprocess.run([TOCSIN, "alerts", "-c", "c.yaml", "--store", "s.db", "--json"],
                   capture_output=True, text=True, timeout=60)
al = {a["labels"]["service"]: a for a in json.loads(r.stdout)}
check(all(al[e["labels"]["service"]]["since"] == e["ts"] for e in evs),
      "alerts --json since equals the firing event's ts: %s" % r.stdout)
# A silence by a user without $USER is by the login name; one set to start
# later (a date alone) and expired has both times at the expiry.
env = dict(os.environ)
env.pop("USER", None)
r = subprocess.run([TOCSIN, "silence", "add", "-c", "c.yaml", "--store", "s.db",
                    "--match", "alertname=x", "--start", "2030-01-01"],
                   capture_output=True, text=True, timeout=60, env=env)
check(r.returncode == 0, "--start takes a date (%s)" % r.stderr.strip())
r = subprocess.run([TOCSIN, "silence", "list", "-c", "c.yaml", "--store", "s.db",
                    "--json"], capture_output=True, text=True, timeout=60)
later = [x for x in json.loads(r.stdout) if x["matchers"] == "alertname=x"]
import pwd
check(len(later) == 1 and later[0]["created_by"] == pwd.getpwuid(os.getuid()).pw_name
      and later[0]["starts"] == 1893456000,
      "by the login name, from 2030-01-01: %s" % later)
r = subprocess.run([TOCSIN, "silence", "expire", "-c", "c.yaml", "--store", "s.db",
                    str(later[0]["id"])], capture_output=True, text=True, timeout=60)
r = subprocess.run([TOCSIN, "silence", "list", "-c", "c.yaml", "--store", "s.db",
                    "--json", "--all"], capture_output=True, text=True, timeout=60)
gone = [x for x in json.loads(r.stdout) if x["matchers"] == "alertname=x"]
check(len(gone) == 1 and gone[0]["starts"] == gone[0]["ends"],
      "a silence expired before it started has starts = ends: %s" % gone)
# A later run counts only its own outcomes.
r = subprocess.run([TOCSIN, "eval", "-c", "c.yaml", "--store", "s.db", "--notify"],
                   input="", capture_output=True, text=True, timeout=60)
check(r.returncode == 0 and
      "eval: notifications: 0 sent, 0 failed, 0 silenced" in r.stderr,
      "a run with nothing to do reports nothing (%s)" % r.stderr.strip())
print("%d failed" % fails)
sys.exit(1 if fails else 0)
