#!/usr/bin/python3
# test_store_cli.py - `tocsin alerts`, `history` and `silence` against a real
# store: tocsin creates the schema, Python's sqlite3 fills in alerts and
# events, and the commands' table/JSON output and exit codes are checked.
# Also: missing, newer-schema, corrupt and read-only stores.
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

TOCSIN = os.environ["TOCSIN"]
failures = []


def run(*args, expect=None):
    p = subprocess.run([TOCSIN, *args], capture_output=True, text=True,
                       timeout=60)
    if expect is not None and p.returncode != expect:
        fail(f"tocsin {' '.join(args)}: exit {p.returncode}, want {expect}; "
             f"stderr: {p.stderr.strip()}")
    return p


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def check(cond, msg):
    if cond:
        print("ok:", msg)
    else:
        fail(msg)


now = time.time()
db = os.path.abspath("s.db")

# --- a missing store is an error for readers, and is not created ---
p = run("alerts", "--store", "missing.db", expect=1)
check("missing.db does not exist" in p.stderr,
      "alerts on a missing store says it does not exist")
check(not os.path.exists("missing.db"), "a reader does not create the store")
run("history", "--store", "missing.db", expect=1)

# --- an empty store ---
p = run("silence", "add", "--store", db, "--match",
        "alertname=api_p90_latency,service=api", "--for", "2h",
        "--comment", "deploy", "--by", "ana", expect=0)
check(p.stdout.strip() == "1", "silence add prints the new id")
# Several --match options all hold: one silence of every matcher, never
# only the last (which would silence more than asked).
mdb = os.path.abspath("match.db")
run("silence", "add", "--store", mdb, "--match", "alertname=x",
    "--match", '{service=~"api|web"}', "--for", "1h", expect=0)
p = run("silence", "list", "--store", mdb, "--json", expect=0)
check([s["matchers"] for s in json.loads(p.stdout)]
      == ['alertname=x,service=~"api|web"'],
      "repeated --match options are ANDed (%s)" % p.stdout.strip())
p = run("alerts", "--store", db, expect=0)
check(p.stdout.strip() == "no alerts firing", "empty alerts table message")
p = run("alerts", "--store", db, "--json", expect=0)
check(json.loads(p.stdout) == [], "empty alerts JSON is []")

# --- fixture rows in the schema tocsin created ---
con = sqlite3.connect(db)
con.execute("INSERT INTO alerts(fingerprint, rule, labels_json, severity, "
            "since, value, updated, reason) VALUES (?,?,?,?,?,?,?,?)",
            ("aaaa000000000001", "disk_free",
             json.dumps({"host": "db1", "alertname": "disk_free"}),
             "warning", now - 600, None, now - 600, "nodata"))
con.execute("INSERT INTO alerts(fingerprint, rule, labels_json, severity, "
            "since, value, updated, reason) VALUES (?,?,?,?,?,?,?,?)",
            ("bbbb000000000002", "api_p90_latency",
             json.dumps({"service": "api", "team": "web",
                         "alertname": "api_p90_latency"}),
             "critical", now - 300, 512.5, now - 60, "threshold"))


def event(ts, rule, ev, sev, prev, value, labels, silenced=0):
    line = json.dumps({"ts": round(ts, 3), "rule": rule, "labels": labels,
                       "event": ev, "severity": sev, "previous": prev,
                       "value": value, "reason": "threshold",
                       "fingerprint": "f-" + rule, "annotations": {}},
                      separators=(",", ":"))
    con.execute("INSERT INTO events(ts, rule, fingerprint, event, severity, "
                "previous, json, silenced) VALUES (?,?,?,?,?,?,?,?)",
                (ts, rule, "f-" + rule, ev, sev, prev, line, silenced))
    return line


api = {"service": "api", "team": "web", "alertname": "api_p90_latency"}
old = event(now - 3 * 86400, "api_p90_latency", "firing", "warning", "ok",
            250.0, api)
e2 = event(now - 120, "api_p90_latency", "escalated", "critical", "warning",
           512.5, api, silenced=1)
e1 = event(now - 300, "api_p90_latency", "firing", "warning", "ok", 210.0,
           api)
e3 = event(now - 60, "disk_free", "firing", "warning", "ok", None,
           {"host": "db1", "alertname": "disk_free"})
con.commit()
con.close()

# --- alerts ---
p = run("alerts", "--store", db, expect=0)
lines = p.stdout.splitlines()
check(len(lines) == 3, "alerts table: header + 2 rows")
check(lines and lines[0].split() == ["SEVERITY", "ALERT", "LABELS", "SINCE",
                                     "VALUE", "FINGERPRINT"],
      "alerts table header")
if len(lines) == 3:
    crit, warn = lines[1].split(), lines[2].split()
    check(crit[0] == "critical" and crit[1] == "api_p90_latency",
          "critical alert listed first")
    check(crit[2] == "service=api,team=web",
          "labels shown as k=v without alertname")
    check(crit[3].endswith("Z") and "T" in crit[3], "since in RFC 3339 UTC")
    check(crit[4] == "512.5" and warn[4] == "-", "value, '-' when none")
    check(crit[5] == "bbbb000000000002", "fingerprint column")
    check(lines[0].index("LABELS") == lines[1].index("service=api"),
          "columns are aligned")

p = run("alerts", "--store", db, "--json", expect=0)
arr = json.loads(p.stdout)
check([a["fingerprint"] for a in arr] ==
      ["bbbb000000000002", "aaaa000000000001"], "alerts JSON order")
check(arr[0]["labels"] == api and arr[0]["value"] == 512.5 and
      arr[0]["severity"] == "critical" and arr[0]["rule"] == "api_p90_latency"
      and arr[0]["reason"] == "threshold"
      and abs(arr[0]["since"] - (now - 300)) < 0.01,
      "alerts JSON fields")
check(arr[1]["value"] is None and arr[1]["reason"] == "nodata",
      "alerts JSON value null for nodata")

# --- history ---
# The silenced event says so at the end of its line.
e2s = e2[:-1] + ',"silenced":true}'
p = run("history", "--store", db, "--json", expect=0)
check(p.stdout.splitlines() == [e1, e2s, e3],
      "history --json: stored lines exactly, oldest first, last 24h")
p = run("history", "--store", db, "--json", "--since", "7d", expect=0)
check(p.stdout.splitlines() == [old, e1, e2s, e3], "history --since 7d")
p = run("history", "--store", db, "--json", "--rule", "disk_free", expect=0)
check(p.stdout.splitlines() == [e3], "history --rule filters")
p = run("history", "--store", db, expect=0)
lines = p.stdout.splitlines()
check(len(lines) == 4 and lines[0].split() ==
      ["TIME", "RULE", "EVENT", "SEVERITY", "VALUE", "LABELS", "SILENCED"],
      "history table header + 3 rows")
check(any("warning -> critical" in ln and "silenced" in ln and
          "512.5" in ln for ln in lines), "escalation row marked silenced")
check(any("disk_free" in ln and "host=db1" in ln for ln in lines),
      "history labels column")
p = run("history", "--store", db, "--since", "2000-01-01T00:00:00Z",
        "--rule", "nope", expect=0)
check(p.stdout.startswith("no events since 2000-01-01T00:00:00"),
      "empty history message")
run("history", "--store", db, "--since", "yesterday-ish", expect=2)

# --- silences ---
p = run("silence", "add", "--store", db, "--match", "host=~db[0-9]+",
        "--for", "30m", expect=0)
check(p.stdout.strip() == "2", "second silence id")
p = run("silence", "list", "--store", db, expect=0)
lines = p.stdout.splitlines()
check(len(lines) == 3 and lines[0].split() ==
      ["ID", "MATCHERS", "STARTS", "ENDS", "COMMENT"], "silence list table")
check(any("alertname=api_p90_latency,service=api" in ln and "deploy" in ln
          for ln in lines), "silence list shows matchers and comment")
p = run("silence", "expire", "1", "--store", db, expect=0)
p = run("silence", "expire", "1", "--store", db, expect=1)
check("no active silence with id 1" in p.stderr,
      "expiring an expired silence fails")
run("silence", "expire", "999", "--store", db, expect=1)
run("silence", "expire", "abc", "--store", db, expect=2)
run("silence", "expire", "--store", db, expect=2)
p = run("silence", "list", "--store", db, "--json", expect=0)
arr = json.loads(p.stdout)
check([s["id"] for s in arr] == [2], "list shows active silences only")
p = run("silence", "list", "--store", db, "--json", "--all", expect=0)
arr = json.loads(p.stdout)
check([s["id"] for s in arr] == [1, 2] and arr[0]["active"] is False and
      arr[0]["created_by"] == "ana" and
      abs(arr[1]["ends"] - arr[1]["starts"] - 1800) < 0.01,
      "list --all includes the expired one")
p = run("silence", "add", "--store", db, "--match", "service", expect=2)
check("bad --match" in p.stderr, "invalid matcher is a usage error")
p = run("silence", "add", "--store", db, "--match", "alertname=~.*", expect=2)
check("match every alert" in p.stderr,
      "a silence whose matchers all match an empty value is refused")
run("silence", "add", "--store", db, "--match", "a=b", "--for", "-1h",
    expect=2)
run("silence", "add", "--store", db, expect=2)
run("silence", "frobnicate", "--store", db, expect=2)
run("silence", "list", "--store", db, "--match", "a=b", expect=2)
run("alerts", "--store", db, "--bogus", expect=2)
p = run("alerts", "--help", expect=0)
check("usage: tocsin alerts" in p.stdout, "alerts --help")
run("history", "--help", expect=0)
run("silence", "--help", expect=0)

# --- a store from a newer tocsin is refused ---
newer = os.path.abspath("newer.db")
shutil.copy(db, newer)
con = sqlite3.connect(newer)
con.execute("PRAGMA user_version = 42")
con.commit()
con.close()
for args in (["alerts"], ["history"], ["silence", "list"],
             ["silence", "add", "--match", "a=b"]):
    p = run(*args, "--store", newer, expect=1)
    check("was written by a newer tocsin (schema 42" in p.stderr,
          f"{args[0]} refuses a newer schema")

# --- a negative schema is no tocsin's: refused, never migrated ---
neg = os.path.abspath("neg.db")
shutil.copy(db, neg)
con = sqlite3.connect(neg)
con.execute("PRAGMA user_version = -1")
con.commit()
con.close()
for args in (["alerts"], ["silence", "add", "--match", "a=b"]):
    p = run(*args, "--store", neg, expect=1)
    check("has schema -1, which no tocsin writes" in p.stderr,
          f"{args[0]} refuses a negative schema ({p.stderr.strip()})")

# --- corrupt file ---
with open("junk.db", "wb") as f:
    f.write(bytes((i * 131 + 7) % 256 for i in range(8192)))
p = run("alerts", "--store", "junk.db", expect=1)
check("not a valid tocsin store" in p.stderr, "corrupt store: clear error")
run("silence", "add", "--store", "junk.db", "--match", "a=b", expect=1)

# --- a store whose folder does not exist: one clear line, nothing made ---
with open("cpu.jsonl", "w") as f:
    f.write('{"metric":"cpu","value":1}\n')
with open("cpu.yaml", "w") as f:
    f.write("rules:\n  - name: cpu\n    metric: cpu\n    severity:\n"
            "      warning: {above: 0.5}\n")
p = run("eval", "-c", "cpu.yaml", "--store", "no-such-dir/s.db", "cpu.jsonl",
        expect=1)
check("store no-such-dir/s.db: its folder does not exist" in p.stderr
      and not os.path.exists("no-such-dir"),
      "eval --store in a missing folder: " + p.stderr.strip())

# --- read-only file system (root: permission bits do not stop writes) ---
mnt = tempfile.mkdtemp(prefix="tocsin-ro.")
mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs",
                          mnt], capture_output=True).returncode == 0
if not mounted:
    print("SKIP read-only store check: cannot mount a tmpfs here")
else:
    try:
        rodb = os.path.join(mnt, "ro.db")
        shutil.copy(db, rodb)
        subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
        p = run("silence", "add", "--store", rodb, "--match", "a=b",
                expect=1)
        check("read-only" in p.stderr, "writing a read-only store fails "
              "clearly: " + p.stderr.strip())
        p = run("alerts", "--store", rodb, "--json", expect=0)
        check(len(json.loads(p.stdout)) == 2,
              "a read-only store can still be read")
    finally:
        subprocess.run(["umount", mnt])
        os.rmdir(mnt)

# --- a silence set to start later is listed (pending), not hidden ---
p = run("silence", "add", "--store", db, "--match", "later=yes", "--start",
        "2099-01-01T00:00:00Z", "--for", "1h", expect=0)
p = run("silence", "list", "--store", db, "--json", expect=0)
later = [x for x in json.loads(p.stdout) if "later=yes" in x["matchers"]]
check(len(later) == 1 and later[0]["active"] is False,
      "a pending silence is listed, not active: %s" % later)

# --- expire on a missing store says so and creates nothing ---
p = run("silence", "expire", "1", "--store", "nope.db", expect=1)
check("does not exist" in p.stderr and not os.path.exists("nope.db"),
      "silence expire on a missing store: " + p.stderr.strip())

# --- with --store, a broken tocsin.yaml in the folder is not read ---
with open("tocsin.yaml", "w") as f:
    f.write("bad: [\n")
p = run("alerts", "--store", db, "--json", expect=0)
check(len(json.loads(p.stdout or "[]")) == 2,
      "alerts --store ignores a broken tocsin.yaml: " + p.stderr.strip())
os.unlink("tocsin.yaml")

# --- a folder this user cannot write (another user's store) ---
if os.geteuid() == 0 and shutil.which("setpriv"):
    rodir = tempfile.mkdtemp(prefix="tocsin-rodir.")
    try:
        shutil.copy(db, os.path.join(rodir, "t.db"))
        # a copy of the binary the other user can run wherever the build is
        shutil.copy(TOCSIN, os.path.join(rodir, "tocsin"))
        os.chmod(os.path.join(rodir, "tocsin"), 0o755)
        os.chmod(rodir, 0o755)
        os.chmod(os.path.join(rodir, "t.db"), 0o644)
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                            "--clear-groups", os.path.join(rodir, "tocsin"),
                            "alerts", "--store",
                            os.path.join(rodir, "t.db"), "--json"],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0 and len(json.loads(p.stdout or "[]")) == 2,
              "another user reads a store in a folder it cannot write: "
              + p.stderr.strip())
    finally:
        shutil.rmtree(rodir)
else:
    print("SKIP store in a read-only folder: not root or no setpriv")

# --- label values cannot break the table or drive the terminal ---
cdb = os.path.abspath("ctl.db")
run("silence", "add", "--store", cdb, "--match", "host=x", "--for", "1h",
    expect=0)
con = sqlite3.connect(cdb)
con.execute("INSERT INTO alerts(fingerprint, rule, labels_json, severity, "
            "since, value, updated, reason) VALUES (?,?,?,?,?,?,?,?)",
            ("cccc000000000003", "disk_free",
             json.dumps({"host": "db\x1b[2J\nfake row", "alertname": "x"}),
             "warning", now - 60, 1.0, now - 60, "threshold"))
con.commit()
con.close()
p = run("alerts", "--store", cdb, expect=0)
check("\x1b" not in p.stdout and len(p.stdout.splitlines()) == 2
      and "host=db\\x1b[2J\\nfake row" in p.stdout,
      "control characters in label values are escaped in tables: %r"
      % p.stdout)
p = run("alerts", "--store", cdb, "--json", expect=0)
check(json.loads(p.stdout)[0]["labels"]["host"] == "db\x1b[2J\nfake row",
      "--json keeps the value as it is")

# --- a damaged page: eval says so once, clearly, and exits 1 ---
with open("nd.yaml", "w") as f:
    f.write("rules:\n  - name: r\n    metric: m\n"
            "    severity: {warning: {above: 50}}\n")
bad = os.path.abspath("bad.db")
line = '{"metric":"m","labels":{},"value":1,"ts":%d}\n'
subprocess.run([TOCSIN, "eval", "-c", "nd.yaml", "--store", bad],
               input=line % 100, capture_output=True, text=True, timeout=60)
con = sqlite3.connect(bad)
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
root = con.execute("SELECT rootpage FROM sqlite_master WHERE name='series'"
                   ).fetchone()[0]
size = con.execute("PRAGMA page_size").fetchone()[0]
con.close()
with open(bad, "r+b") as f:
    f.seek((root - 1) * size)
    f.write(b"\xff" * 64)
p = subprocess.run([TOCSIN, "eval", "-c", "nd.yaml", "--store", bad],
                   input=line % 200, capture_output=True, text=True,
                   timeout=60)
check(p.returncode == 1 and "malformed" in p.stderr
      and "store: store:" not in p.stderr
      and "tocsin eval: store: " in p.stderr,
      "a damaged store: one clear message, exit 1 (%d: %s)"
      % (p.returncode, p.stderr.strip()))

# A store is a file every command reaches by name: ":memory:" and SQLite
# "file:" URIs are refused, in the config (FILE:LINE:COL) and on the
# command line (a usage error), and nothing is created.
here = os.getcwd()
for value in ('":memory:"', "file:u.db"):
    with open("mem.yaml", "w") as f:
        f.write("store: %s\n" % value)
    p = subprocess.run([TOCSIN, "check", "-c", "mem.yaml"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and p.stderr.startswith("mem.yaml:1:8: store "),
          "check refuses store %s at its place (%d: %s)"
          % (value, p.returncode, p.stderr.strip()))
for value in (":memory:", "file:u.db"):
    p = subprocess.run([TOCSIN, "alerts", "--store", value],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and "--store needs a file path" in p.stderr,
          "--store %s is a usage error (%d: %s)"
          % (value, p.returncode, p.stderr.strip()))
check(not [n for n in os.listdir(here) if n.startswith(("u.db", "file:"))],
      "no store or lock file was made for them")

# An event's time is the one it shows, to the millisecond (SPEC 4): a
# sample at 23:59:59.9996 fires at 2026-01-02T00:00:00.000Z, and that is
# the time `history --since` and the report's days go by, with the event's
# own printed ts as the bound.
with open("ms.yaml", "w") as f:
    f.write("rules:\n  - name: lat\n    metric: lat\n    by: [service]\n"
            "    severity:\n      warning: {above: 200}\n")
with open("ms.jsonl", "w") as f:
    f.write('{"metric":"lat","labels":{"service":"c"},"value":300,'
            '"ts":1767311999.9996}\n'
            '{"metric":"lat","labels":{"service":"c"},"value":100,'
            '"ts":1767312100}\n')
p = run("eval", "-c", "ms.yaml", "--store", "ms.db", "ms.jsonl", expect=0)
first = json.loads(p.stdout.splitlines()[0])
check(first["ts"] == 1767312000.0, "the firing shows 1767312000.0: %s"
      % first["ts"])
for since in ("2026-01-02", str(first["ts"]), "2026-01-02T00:00:00.000Z"):
    p = run("history", "-c", "ms.yaml", "--store", "ms.db", "--since", since,
            "--json", expect=0)
    kinds = [json.loads(l)["event"] for l in p.stdout.splitlines()]
    check(kinds == ["firing", "resolved"],
          "history --since %s keeps the firing it equals: %s" % (since, kinds))
p = run("report", "-c", "ms.yaml", "--store", "ms.db", "--since",
        "2026-01-01", "--until", "2026-01-03", "--format", "json", expect=0)
rep = json.loads(p.stdout)
check(rep["rules"][0]["per_day"] == {"2026-01-02": 1},
      "the report counts it on the day it shows: %s"
      % rep["rules"][0]["per_day"])

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all store CLI checks passed")
