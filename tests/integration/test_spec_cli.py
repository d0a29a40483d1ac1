# test_spec_cli.py - SPEC section 1 (command line): exit codes 0/1/2 for every
# subcommand, --help, -c defaulting to tocsin.yaml, --store on the commands
# that read the store, eval/parse options and the stderr summary.
# Run by tests/integration/run.sh with $TOCSIN set.
import json, os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spec_common import check, run, write, J, finish

CMDS = ["run", "check", "eval", "test", "parse", "alerts", "history",
        "silence", "report", "notify-test", "version"]
for c in CMDS:
    p = run([c, "--help"])
    check(p.returncode == 0 and p.stdout.strip() != "", "%s --help exits 0 with text" % c)
for c in [c for c in CMDS if c != "version"]:
    p = run([c, "--no-such-option"])
    check(p.returncode == 2, "%s with an unknown option is a usage error (2), got %d" % (c, p.returncode))
check(run([]).returncode == 2, "no subcommand is a usage error (2)")
check(run(["frobnicate"]).returncode == 2, "unknown subcommand is a usage error (2)")
check(run(["version"]).returncode == 0, "version exits 0")

CFG = """store: state.db
rules:
  - name: hot
    metric: temp
    aggregate: last
    severity: {warning: {above: 50}}
"""
os.makedirs("cwd", exist_ok=True)
# -c defaults to tocsin.yaml in the working folder.
p = run(["check"], cwd="cwd")
check(p.returncode == 1, "check without tocsin.yaml in cwd exits 1")
write("cwd/tocsin.yaml", CFG)
p = run(["check"], cwd="cwd")
check(p.returncode == 0, "check picks up ./tocsin.yaml by default")
write("cwd/bad.yaml", "rules: [{name: x}]\n")
p = run(["check", "-c", "bad.yaml"], cwd="cwd")
check(p.returncode == 1, "check of an invalid config exits 1")
check(all(":" in l for l in p.stderr.strip().splitlines()), "check errors are FILE:LINE:COL lines")
check(p.stderr.startswith("bad.yaml:"), "check error names the file")
# Every spelling of the config option reaches the config, on every command
# (the invalid one makes each of them fail with its errors), and a missing
# FILE is a usage error.
for c in [["check"], ["run"], ["eval", "/dev/null"],
          ["alerts"], ["history"], ["silence", "list"], ["report"],
          ["notify-test", "hook"]]:
    for form in (["-c", "bad.yaml"], ["-cbad.yaml"], ["--config", "bad.yaml"],
                 ["--config=bad.yaml"]):
        p = run(c + form, cwd="cwd")
        check(p.returncode == 1 and "bad.yaml:" in p.stderr,
              "%s %s reads bad.yaml and exits 1: %d %r"
              % (c[0], " ".join(form), p.returncode, p.stderr[:120]))
    p = run(c[:1] + ["-c"], cwd="cwd")
    check(p.returncode == 2, "%s -c without FILE is a usage error (2), got %d"
          % (c[0], p.returncode))

# eval: stdout only event JSON lines; stderr summary.
lines = [J("temp", 10, 1000), "not a metric line at all", J("temp", 60, 1010),
         J("temp", 70, 1005), J("temp", 20, 1020)]
p = run(["eval"], stdin="\n".join(lines) + "\n", cwd="cwd")
check(p.returncode == 0, "eval exits 0 with a malformed line (not fatal)")
out = p.stdout.splitlines()
ok = True
for l in out:
    try:
        json.loads(l)
    except ValueError:
        ok = False
check(ok and len(out) == 2, "eval stdout holds only the 2 event JSON lines (got %d)" % len(out))
evs = [json.loads(l) for l in out] if ok else []
check([e.get("event") for e in evs] == ["firing", "resolved"], "eval events firing then resolved")
err = p.stderr
check("4 samples" in err or "4 samples read" in err, "stderr counts 4 samples read: %r" % err)
check("1 lines rejected" in err or "1 line rejected" in err, "stderr counts 1 line rejected")
check("line 2" in err, "stderr names the rejected line number 2")
check("1 late" in err, "stderr counts the late sample")
check("2 events" in err, "stderr counts 2 events emitted")
# eval reads files too, and the default store is in memory (no state.db made).
write("cwd/s1.jsonl", "\n".join(lines) + "\n")
p = run(["eval", "s1.jsonl"], cwd="cwd")
check(p.returncode == 0 and len(p.stdout.splitlines()) == 2, "eval FILE gives the same events")
check(not os.path.exists("cwd/state.db"), "eval without --store does not write the config's store")
p = run(["eval", "--strict", "s1.jsonl"], cwd="cwd")
check(p.returncode == 1, "eval --strict exits 1 on the first malformed line")
p = run(["eval", "--format", "xml", "s1.jsonl"], cwd="cwd")
check(p.returncode == 2, "eval --format with an unknown format is a usage error")
p = run(["eval", "missing-file.txt"], cwd="cwd")
check(p.returncode == 1, "eval of a missing file exits 1")
# --format turns guessing off.
mixed = J("temp", 1, 1) + "\ntemp 5 2\n"
p = run(["parse", "--format", "json"], stdin=mixed)
check(len(p.stdout.splitlines()) == 1, "parse --format json rejects a graphite line")
p = run(["parse"], stdin=mixed)
check(len(p.stdout.splitlines()) == 2, "parse guesses per line without --format")
p = run(["parse", "--strict"], stdin="junk\n" + J("temp", 1, 1) + "\n")
check(p.returncode == 1, "parse --strict exits 1 on a malformed line")
p = run(["parse"], stdin="junk\n" + J("temp", 1, 1) + "\n")
check(p.returncode == 0 and "line 1" in p.stderr, "parse reports rejected line 1 on stderr and exits 0")

p = run(["parse", "--store", "x.db", "--notify"], stdin=J("temp", 1, 1) + "\n")
check(p.returncode == 0 and len(p.stdout.splitlines()) == 1,
      "parse accepts the eval/parse options --store and --notify (SPEC section 1)")

# --store on the store readers; it overrides the config's store.
p = run(["eval", "--store", "other.db", "s1.jsonl"], cwd="cwd")
check(p.returncode == 0 and os.path.exists("cwd/other.db"), "eval --store PATH writes that store")
p = run(["alerts", "--store", "other.db", "--json"], cwd="cwd")
check(p.returncode == 0, "alerts --store exits 0")
check(json.loads(p.stdout or "null") == [], "alerts --json: nothing firing after resolved")
p = run(["history", "--store", "other.db", "--json", "--since", "100000d"], cwd="cwd")
hist = [json.loads(l) for l in p.stdout.splitlines() if l.strip()] if p.stdout.lstrip().startswith("{") else json.loads(p.stdout or "[]")
check(p.returncode == 0 and [h["event"] for h in hist] == ["firing", "resolved"], "history --store --json holds the 2 events")
p = run(["history", "--store", "other.db", "--rule", "nope", "--json", "--since", "100000d"], cwd="cwd")
check(p.returncode == 0 and "firing" not in p.stdout, "history --rule filters by rule")
for c in (["report", "--since", "100000d"], ["silence", "list"]):
    p = run(c + ["--store", "other.db"], cwd="cwd")
    check(p.returncode == 0, "%s --store exits 0" % c[0])
check(not os.path.exists("cwd/state.db"), "--store overrides the config's store")
p = run(["alerts", "--store", "/nonexistent-dir/x.db"], cwd="cwd")
check(p.returncode == 1, "alerts with an unreachable store exits 1")
# With --store the config is not needed, but one named with -c is read: a
# missing or invalid one fails every store-reading command alike.
for c in (["alerts"], ["history"], ["silence", "list"],
          ["report", "--since", "1d"]):
    p = run(c + ["--store", "other.db"], cwd="cwd")
    check(p.returncode == 0, "%s --store without -c ignores the config" % c[0])
    p = run(c + ["-c", "typo.yaml", "--store", "other.db"], cwd="cwd")
    check(p.returncode == 1 and "typo.yaml" in p.stderr,
          "%s -c MISSING --store exits 1 naming it: %r" % (c[0], p.stderr))
    p = run(c + ["-c", "bad.yaml", "--store", "other.db"], cwd="cwd")
    check(p.returncode == 1 and p.stderr.startswith("bad.yaml:"),
          "%s -c INVALID --store exits 1 with its errors" % c[0])
# An empty --store= is a usage error.
for c in (["alerts"], ["history"], ["silence", "list"], ["report"],
          ["eval", "/dev/null"]):
    p = run(c + ["--store="], cwd="cwd")
    check(p.returncode == 2 and "--store" in p.stderr,
          "%s --store= is a usage error (2), got %d" % (c[0], p.returncode))
# A nodata deadline at the input's last time passes at its end, also when
# the end is an unreadable file or a malformed line under --strict.
write("nd.yaml", "rules:\n- {name: up, metric: up, by: [host], severity: "
      "{warning: {below: 1}}, nodata: {after: 10s}}\n")
write("nd.txt", "up,host=a value=1 1000000000000000000\n"
      "up,host=b value=1 1000000010000000000\n")
for args, stdin, what in ((["nd.txt"], "", "a whole file"),
                          (["nd.txt", "missing.txt"], "", "an unreadable file"),
                          (["--strict"], open("nd.txt").read() + "junk\n",
                           "a malformed line under --strict")):
    p = run(["eval", "-c", "nd.yaml"] + args, stdin=stdin)
    ev = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    check([(e["labels"]["host"], e["reason"], e["ts"]) for e in ev] ==
          [("a", "nodata", 1000000010.0)],
          "the nodata deadline at the last time passes after %s: %r"
          % (what, p.stdout))
# Output that cannot be written (a full disk) is a failure of the work,
# for every command that prints: exit 1 and say so, never a silent 0.
# (With --store the deadline at the last time waits for the next run,
# which may go on with a line of that time: one more line passes it.)
write("nd2.txt", open("nd.txt").read() +
      "up,host=b value=1 1000000020000000000\n")
p = run(["eval", "-c", "nd.yaml", "--store", "full.db", "nd2.txt"])
check(p.returncode == 0 and p.stdout.strip() != "", "full.db filled")
for args in (["eval", "-c", "nd.yaml", "nd.txt"],
             ["alerts", "--store", "full.db"],
             ["alerts", "--store", "full.db", "--json"],
             ["history", "--store", "full.db", "--since", "0"],
             ["history", "--store", "full.db", "--since", "0", "--json"],
             ["silence", "list", "--store", "full.db"],
             ["check", "-c", "nd.yaml"],
             ["version"]):
    with open("/dev/full", "w") as full:
        q = subprocess.run([os.environ["TOCSIN"]] + args, stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=60)
    check(q.returncode == 1 and "cannot write the output: No space left on "
          "device" in q.stderr,
          "%s > /dev/full exits 1 saying so and why (%d, %r)"
          % (" ".join(args[:2]), q.returncode, q.stderr[-200:]))
q = run(["report", "--store", "full.db", "--since", "0", "-o", "/dev/full"])
check(q.returncode == 1 and "tocsin report: cannot write the output: "
      "/dev/full: No space left on device" in q.stderr,
      "report -o /dev/full exits 1 saying so and why (%d, %r)"
      % (q.returncode, q.stderr[-200:]))
finish()
