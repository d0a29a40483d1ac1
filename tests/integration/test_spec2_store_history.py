"""test_spec2_store_history.py - SPEC section 5 (audit2): a stream replayed
in two `eval --store` runs gives exactly the events of one run (no repeated
firing, the `for` timer survives), and `history --json` prints the very
event lines eval printed; run by tests/integration/run.sh."""
import json
import os
import subprocess
import sys

T = os.environ["TOCSIN"]
FAILS = []


def ok(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def run(args, stdin=""):
    return subprocess.run([T] + args, input=stdin, capture_output=True,
                          text=True, timeout=60)


with open("spec2_store.yaml", "w") as f:
    f.write("""store: spec2_unused.db
rules:
  - name: api_p90_latency
    metric: lat
    by: [service]
    severity:
      warning: {above: 200, clear: 150}
      critical: {above: 500, clear: 400, for: 1m}
    labels: {team: web}
""")


def line(v, ts):
    return json.dumps({"metric": "lat", "labels": {"service": "api"},
                       "value": v, "ts": ts}) + "\n"


p1 = line(100, 1000) + line(300, 1010) + line(600, 1020)
p2 = line(600, 1050) + line(600, 1090) + line(100, 1100)
whole = run(["eval", "-c", "spec2_store.yaml"], p1 + p2).stdout
a = run(["eval", "-c", "spec2_store.yaml", "--store", "spec2.db"], p1).stdout
b = run(["eval", "-c", "spec2_store.yaml", "--store", "spec2.db"], p2).stdout
kinds = [json.loads(l)["event"] for l in whole.splitlines()]
ok(kinds == ["firing", "escalated", "resolved"],
   "one run: firing, escalated (after for: 1m), resolved: %s" % kinds)
ok(a + b == whole, "two --store runs print exactly the one run's events")
h = run(["history", "-c", "spec2_store.yaml", "--store", "spec2.db",
         "--json", "--since", "100000d"]).stdout
ok(h == whole, "history --json lines equal eval's event lines")
h = run(["history", "-c", "spec2_store.yaml", "--store", "spec2.db",
         "--json", "--since", "100000d", "--rule", "other"])
ok(h.returncode == 0 and h.stdout.strip() == "",
   "history --rule of another rule prints no events")
if FAILS:
    print("%d check(s) failed" % len(FAILS))
    sys.exit(1)
print("all checks passed")
