#!/usr/bin/env python3
"""`{{ value | humanize }}`, `humanizePercentage` and `humanizeDuration` in a
tocsin annotation write what Prometheus' functions of the same names write:
for fixed and random values, the annotation tocsin eval renders becomes the
expected annotation of a `promtool test rules` alert whose expression is the
same value, and promtool must agree. (Values stay below 2^63 seconds, where
Prometheus' humanizeDuration overflows an int64; tocsin writes the number.)"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

TOCSIN = os.environ["TOCSIN"]
PROMTOOL = shutil.which("promtool")
TEMPLATE = "{0} | humanize {1}|{0} | humanizePercentage {1}|{0} | humanizeDuration {1}"


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        sys.exit(1)


check(PROMTOOL is not None, "promtool is installed")
rnd = random.Random(20261127)
values = [1173.8066999999999, 0.12666666666666668, 0.0005, 93784.5, 1e-10,
          2500000, 59.5, -90061, 0, 1, 999.95, 1e17, 3599.9999]
for _ in range(40):
    values.append(rnd.choice([1, -1]) * 10 ** rnd.uniform(-12, 12))
values.append(rnd.uniform(0, 1))

work = tempfile.mkdtemp(prefix="tocsin-humanize.")
ours = TEMPLATE.format("{{ value", "}}")
with open(os.path.join(work, "tocsin.yaml"), "w") as f:
    f.write("rules:\n")
    for i in range(len(values)):
        f.write("  - name: a%d\n    metric: m%d\n"
                "    severity: {warning: {above: -1e300}}\n"
                "    annotations: {s: %s}\n" % (i, i, json.dumps(ours)))
stream = "".join('{"metric":"m%d","value":%r,"ts":1}\n' % (i, v)
                 for i, v in enumerate(values))
r = subprocess.run([TOCSIN, "eval", "-c", os.path.join(work, "tocsin.yaml")],
                   input=stream, capture_output=True, text=True, timeout=60)
check(r.returncode == 0, "tocsin eval renders the annotations (%s)"
      % r.stderr.strip())
got = {}
for line in r.stdout.splitlines():
    ev = json.loads(line)
    got[ev["rule"]] = ev["annotations"]["s"]
check(len(got) == len(values), "one firing event per value (%d)" % len(got))

theirs = TEMPLATE.format("{{ $value", "}}")
rules = ["groups:", "- name: g", "  rules:"]
tests = ["rule_files: [rules.yml]", "evaluation_interval: 1m", "tests:",
         "- interval: 1m", "  input_series: []", "  alert_rule_test:"]
for i, v in enumerate(values):
    rules += ["  - alert: a%d" % i, "    expr: vector(%r)" % v,
              "    annotations: {s: %s}" % json.dumps(theirs)]
    tests += ["  - eval_time: 0m", "    alertname: a%d" % i,
              "    exp_alerts:",
              "    - exp_annotations: {s: %s}" % json.dumps(got["a%d" % i])]
with open(os.path.join(work, "rules.yml"), "w") as f:
    f.write("\n".join(rules) + "\n")
with open(os.path.join(work, "test.yml"), "w") as f:
    f.write("\n".join(tests) + "\n")
r = subprocess.run([PROMTOOL, "test", "rules", "test.yml"], cwd=work,
                   capture_output=True, text=True, timeout=120)
check(r.returncode == 0, "promtool writes the same %d annotations%s"
      % (len(values), "" if r.returncode == 0 else ":\n" + r.stdout[-3000:] + r.stderr[-3000:]))
print("e.g. %r -> %s" % (values[0], got["a0"]))
shutil.rmtree(work)
