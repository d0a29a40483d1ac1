"""test_conform_routing.py - SPEC section 6 routing end to end through
`tocsin eval --notify` with log notifiers: first match wins, continue,
defaults.notify, the heard set (critical's receiver also hears the
deescalation and the resolution), send_resolved false, an events filter,
cooldown within an episode, only-recorded when nothing matches and there is
no default, and silences (recorded as silenced, shown by `tocsin history`,
nothing sent)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (RULE_YAML, T0, check, eval_notify, outbox_rows,  # noqa
                      run_tocsin, stream, write)

NAMES = ["crit", "hook", "audit", "nores", "evf", "cool", "never"]
EXTRA = {"nores": ", send_resolved: false",
         "evf": ", events: [firing, escalated]",
         "cool": ", cooldown: 10m"}


def got(name):
    if not os.path.exists(name + ".jsonl"):
        return []
    out = []
    for ln in open(name + ".jsonl"):
        j = json.loads(ln)
        check(j["receiver"] == name, "%s line names its receiver" % name)
        out.append((j["event"]["labels"]["service"], j["event"]["event"]))
    return out


# --- 1. routes, continue, defaults, heard set, filters --------------------
write("cfg.yaml", "defaults:\n  notify: [audit]\nnotifiers:\n" + "".join(
    "  %s: {type: log, path: %s.jsonl%s}\n" % (n, n, EXTRA.get(n, ""))
    for n in NAMES) + """
routes:
  - match: {severity: critical}
    notify: [crit]
    continue: true
  - match: {alertname: api_p90_latency, severity: "~warning|critical"}
    notify: [hook, nores, evf, cool]
  - match: {severity: warning}
    notify: [never]
""" + RULE_YAML.replace("warning: {above: 200}",
                        "info: {above: 150}\n      warning: {above: 200}"))
# api: warning, critical, warning, ok.  db: info (no route matches).
stream([("api", 300, T0), ("api", 600, T0 + 60), ("api", 300, T0 + 120),
        ("api", 100, T0 + 180), ("db", 160, T0 + 181)])
p = eval_notify()
check(p.returncode == 0, "eval --notify exits 0")
ev = [(e["labels"]["service"], e["event"], e["severity"])
      for e in map(json.loads, p.stdout.splitlines())]
check(ev == [("api", "firing", "warning"), ("api", "escalated", "critical"),
             ("api", "deescalated", "warning"), ("api", "resolved", "ok"),
             ("db", "firing", "info")], "engine events as planned: %s" % ev)
api_all = [("api", k) for k in ("firing", "escalated", "deescalated",
                                "resolved")]
check(got("crit") == api_all[1:],
      "critical route: escalated, then heard deescalated and resolved: %s"
      % got("crit"))
check(got("hook") == api_all,
      "second route (continue from the first): every event: %s"
      % got("hook"))
check(got("never") == [],
      "first match wins: the later warning route never fires")
check(got("nores") == api_all[:3],
      "send_resolved: false gets no resolved: %s" % got("nores"))
check(got("evf") == [("api", "firing"), ("api", "escalated")],
      "events: [firing, escalated] filters the rest: %s" % got("evf"))
check(got("cool") == [("api", "firing")],
      "cooldown 10m: one delivery per alert in the period: %s" % got("cool"))
check(("db", "firing") in got("audit"),
      "no route matches the info alert: defaults.notify gets it: %s"
      % got("audit"))
check(all(s != "api" or k == "resolved" for s, k in got("audit")),
      "defaults.notify gets none of the routed api alert's firing events")
rows, _ = outbox_rows("store.db")
cool = [r["status"] for r in rows if r["receiver"] == "cool"]
check(cool.count("skipped") >= 2 and cool.count("sent") == 1,
      "cooldown rows are recorded as skipped: %s" % cool)
check(", %d skipped (cooldown)" % cool.count("skipped") in p.stderr,
      "the eval summary counts them: %s"
      % [ln for ln in p.stderr.splitlines() if "notifications:" in ln])

# --- 2. no route and no default: only recorded --------------------------
write("cfg2.yaml", """
notifiers:
  a: {type: log, path: a.jsonl}
routes:
  - match: {service: nothing}
    notify: [a]
""" + RULE_YAML)
stream([("api", 300, T0), ("api", 100, T0 + 60)], "s2.jsonl")
p = eval_notify(cfg="cfg2.yaml", store="s2.db", streams=("s2.jsonl",))
check(p.returncode == 0, "eval (no match, no default) exits 0")
check(not os.path.exists("a.jsonl"), "nothing was sent")
rows, _ = outbox_rows("s2.db")
check(rows == [], "no outbox rows: %s" % rows)
h = run_tocsin(["history", "--json", "--since", "100000d", "-c", "cfg2.yaml",
                "--store", "s2.db"])
check(h.returncode == 0 and len(h.stdout.splitlines()) == 2,
      "both events recorded in history: %r" % h.stdout)

# --- 3. silences -----------------------------------------------------------
write("cfg3.yaml", """
notifiers:
  a: {type: log, path: s3.jsonl}
routes:
  - match: {alertname: api_p90_latency}
    notify: [a]
""" + RULE_YAML)
add = run_tocsin(["silence", "add", "-c", "cfg3.yaml", "--store", "s3.db",
                  "--match", "alertname=api_p90_latency,service=web",
                  "--start", str(T0 - 3600), "--for", "2h",
                  "--comment", "deploy"])
check(add.returncode == 0 and add.stdout.strip().isdigit(),
      "silence add prints the new id: %r %r" % (add.stdout, add.stderr))
lst = json.loads(run_tocsin(["silence", "list", "--all", "--json", "-c",
                             "cfg3.yaml", "--store", "s3.db"]).stdout)
check(len(lst) == 1 and lst[0]["starts"] == T0 - 3600 and
      lst[0]["ends"] == T0 + 3600 and lst[0]["comment"] == "deploy",
      "silence list shows --start and --for: %s" % lst)
stream([("api", 300, T0), ("web", 300, T0 + 1), ("api", 100, T0 + 60),
        ("web", 100, T0 + 61)], "s3.jsonl.in")
p = eval_notify(cfg="cfg3.yaml", store="s3.db", streams=("s3.jsonl.in",))
check(p.returncode == 0, "eval with a silence exits 0")
sent = [(j["event"]["labels"]["service"], j["event"]["event"])
        for j in map(json.loads, open("s3.jsonl"))]
check(sent == [("api", "firing"), ("api", "resolved")],
      "the silenced web alert was not notified: %s" % sent)
rows, _ = outbox_rows("s3.db")
check(sorted(r["status"] for r in rows if r["fingerprint"] !=
             rows[0]["fingerprint"]) == ["silenced", "silenced"],
      "web's notifications are recorded as silenced")
import sqlite3  # noqa: E402
con = sqlite3.connect("s3.db")
flags = [(json.loads(j)["labels"]["service"], bool(f)) for j, f in
         con.execute("SELECT json, silenced FROM events ORDER BY id")]
con.close()
check(flags == [("api", False), ("web", True), ("api", False), ("web", True)],
      "the store marks web's events silenced: %s" % flags)
t = run_tocsin(["history", "--since", "100000d", "-c", "cfg3.yaml",
                "--store", "s3.db"])
web = [ln for ln in t.stdout.splitlines() if "service=web" in ln]
check(len(web) == 2 and all(ln.rstrip().endswith("silenced") for ln in web),
      "history table shows silenced on web's rows:\n" + t.stdout)

# --- 4. the same transition twice in one millisecond ----------------------
# firing, resolved, firing of one alert at one time (samples without a
# timestamp share their arrival time): three events, three notifications,
# so the receiver's last word is "firing", as the alert is.
write("cfg4.yaml", "notifiers:\n  a: {type: log, path: same_ms.jsonl}\n"
      "defaults:\n  notify: [a]\n" + RULE_YAML)
stream([("api", 900, T0), ("api", 10, T0), ("api", 900, T0)], "s4.jsonl")
p = eval_notify("cfg4.yaml", "s4.db", ["s4.jsonl"])
evs = [json.loads(ln)["event"] for ln in p.stdout.splitlines()]
check(evs == ["firing", "resolved", "firing"], "three events: %s" % evs)
sent = [json.loads(ln)["event"]["event"] for ln in open("same_ms.jsonl")]
check(sent == ["firing", "resolved", "firing"],
      "each of the three is notified, in order: %s" % sent)
rows, _ = outbox_rows("s4.db")
check(len({r["key"] for r in rows}) == 3, "three distinct webhook-ids")
print("routing conformance: all checks passed")
