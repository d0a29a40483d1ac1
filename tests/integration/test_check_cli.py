#!/usr/bin/python3
# test_check_cli.py - `tocsin check`: a good config exits 0 with a one-line
# summary; a bad one exits 1 with every error as FILE:LINE:COL on stderr; a
# missing file or a directory is one line, exit 1; a bad option exits 2.
import os
import re
import subprocess
import sys

TOCSIN = os.environ["TOCSIN"]
ROOT = os.environ["TOCSIN_ROOT"]


def run(*args, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([TOCSIN, "check", *args], capture_output=True,
                       text=True, timeout=60, env=e)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what, out=""):
    if not cond:
        print("FAIL:", what)
        if out:
            print(out)
        sys.exit(1)
    print("ok:", what)


GOOD = """\
store: t.db
notifiers:
  audit: {type: log}
routes:
  - match: {severity: critical}
    notify: [audit]
rules:
  - name: cpu_high
    metric: cpu
    severity:
      warning: {above: 0.8, clear: 0.7}
"""

BAD = """\
store: t.db
evaluation_interval: 10 s
notifiers:
  audit: {type: log}
routes:
  - match: {severity: critical}
    notify: [audti]
rules:
  - name: cpu_high
    metric: cpu
    severty:
      warning: {above: 0.8}
"""

with open("good.yaml", "w") as f:
    f.write(GOOD)
with open("bad.yaml", "w") as f:
    f.write(BAD)

rc, out, err = run("-c", "good.yaml")
expect(rc == 0, "good config exits 0", err)
expect(out.strip() == "good.yaml: ok (1 rule, 1 notifier, 1 route, 0 inputs)",
       "one-line summary on stdout: " + out.strip(), err)

rc, out, err = run("-c", "bad.yaml")
lines = [l for l in err.splitlines() if l]
expect(rc == 1, "bad config exits 1", err)
expect(out == "", "nothing on stdout for a bad config", out)
expect(all(re.match(r"^bad\.yaml:\d+:\d+: ", l) for l in lines),
       "every stderr line is FILE:LINE:COL: error:", err)
expect("bad.yaml:2:22: invalid duration \"10 s\" for "
       "evaluation_interval" in err, "duration error with position", err)
expect("bad.yaml:7:14: unknown notifier \"audti\" (known: audit)" in err,
       "unknown notifier error with position", err)
expect("bad.yaml:11:5: unknown key \"severty\" in rule \"cpu_high\""
       in err, "unknown rule key with position", err)

rc, out, err = run("-c", "missing.yaml")
expect(rc == 1 and err.strip() == "missing.yaml: cannot read: No such file "
       "or directory", "missing file: one line, exit 1", err)

os.mkdir("adir")
rc, out, err = run("-c", "adir")
expect(rc == 1 and err.strip() == "adir: cannot read: Is a directory",
       "directory: one line, exit 1", err)

rc, out, err = run("--bogus")
expect(rc == 2, "unknown option exits 2", err)
rc, out, err = run("-c")
expect(rc == 2, "-c without FILE exits 2", err)
rc, out, err = run("--help")
expect(rc == 0 and "usage: tocsin check" in out, "--help exits 0 with usage")

# Default path: tocsin.yaml in the current folder.
with open("tocsin.yaml", "w") as f:
    f.write(GOOD)
rc, out, err = run()
expect(rc == 0 and out.startswith("tocsin.yaml: ok"), "default -c tocsin.yaml",
       err)

# Unset variable: named, exit 1; a secret from the environment never printed.
with open("env.yaml", "w") as f:
    f.write("store: ${TOCSIN_IT_STORE}\nlisten: ${TOCSIN_IT_SECRET}\n")
e = {"TOCSIN_IT_SECRET": "hunter2-secret"}
os.environ.pop("TOCSIN_IT_STORE", None)
rc, out, err = run("-c", "env.yaml", env=e)
expect(rc == 1 and "env.yaml:1:8: environment variable "
       "TOCSIN_IT_STORE is not set" in err, "unset variable named", err)
expect("hunter2" not in err, "secret value not printed", err)

# A value from the environment is never printed in any error: a route's
# severity, a template path (annotation, webhook body), a rule name.
with open("env2.yaml", "w") as f:
    f.write("""notifiers:
  a: {type: log}
  w:
    type: webhook
    url: http://127.0.0.1:9/x
    body: {k: "{{ ${TOCSIN_IT_SECRET} }}"}
routes:
  - match: {severity: "${TOCSIN_IT_SECRET}"}
    notify: [a]
rules:
  - name: ${TOCSIN_IT_NAME}
    metric: m
    severity: {warning: {above: 1}}
    annotations: {s: "{{ ${TOCSIN_IT_SECRET} }}"}
  - name: ${TOCSIN_IT_NAME}
    metric: m
    severity: {warning: {above: 1}}
""")
rc, out, err = run("-c", "env2.yaml", env=dict(e, TOCSIN_IT_NAME="tok_abc"))
expect(rc == 1 and len(err.strip().splitlines()) >= 4,
       "four errors from environment values", err)
expect("hunter2" not in err and "tok_abc" not in err,
       "no environment value in any of them", err)
expect("env2.yaml:8:23: unknown severity \"(value from the "
       "environment)\"" in err, "the position is still given", err)

# A quoted key or value holding a newline or an escape sequence is shown
# escaped: each error stays one FILE:LINE:COL line, nothing for a terminal.
with open("ctl.yaml", "w") as f:
    f.write('"sto\\nre: x": 1\n"a\\e[31mb": 2\nrules: []\n')
rc, out, err = run("-c", "ctl.yaml")
lines = err.splitlines()
expect(rc == 1 and len(lines) == 2 and
       all(re.match(r"ctl\.yaml:\d+:\d+: ", x) for x in lines) and
       "sto\\nre: x" in lines[0] and "a\\x1b[31mb" in lines[1] and
       "\x1b" not in err, "control characters in errors are escaped", err)

# The SPEC's example config passes with its variables set.
spec = os.path.join(ROOT, "tests", "configs", "spec_example.yaml")
rc, out, err = run("-c", spec, env={
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/xyz",
    "SMTP_USER": "u", "SMTP_PASSWORD": "p",
    "AUTOSCALE_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
expect(rc == 0 and "ok (1 rule, 4 notifiers, 3 routes, 3 inputs)" in out,
       "SPEC example config passes", err)
print("all passed")
