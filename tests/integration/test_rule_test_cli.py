#!/usr/bin/env python3
"""`tocsin test`: promtool's value notation (a+bxN, a-bxN, _, _xN), passing
and failing tests (expected and actual firing sets shown, exit 1), the
quickstart's own test file, and errors in the test file."""
import os
import subprocess
import sys

TOCSIN = os.environ["TOCSIN"]
ROOT = os.environ.get("TOCSIN_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1


def run(*args):
    return subprocess.run([TOCSIN, "test", *args], capture_output=True, text=True, timeout=60)


with open("rules.yaml", "w") as f:
    f.write("""rules:
  - name: q_high
    metric: queue_depth
    by: [queue]
    severity:
      warning: {above: 10, for: 1m}
      critical: {above: 20}
  - name: q_sum
    metric: queue_depth
    window: 2m
    aggregate: max
    severity:
      info: {above: 5}
""")

with open("ok.yaml", "w") as f:
    f.write("""config: rules.yaml
tests:
  - name: notation and escalation
    interval: 1m
    series:
      # 0 5 10 15 20 25 | _ _ | 30-5x2 = 30 25 20 | 3
      - metric: 'queue_depth{queue="jobs"}'
        values: '0+5x5 _x2 30-5x2 3'
    expect:
      - at: 2m
        firing: [{alertname: q_sum, severity: info}]
      - at: 3m
        firing: [{alertname: q_sum, severity: info}]
      - at: 4m
        firing: [{alertname: q_high, queue: jobs, severity: warning}, {alertname: q_sum, severity: info}]
      - at: 5m
        firing: [{alertname: q_high, queue: jobs, severity: critical}, {alertname: q_sum, severity: info}]
      - at: 7m30s
        firing: [{alertname: q_high, queue: jobs, severity: critical}, {alertname: q_sum, severity: info}]
      - at: 10m
        firing: [{alertname: q_high, queue: jobs, severity: warning}, {alertname: q_sum, severity: info}]
      - at: 11m
        firing: [{alertname: q_sum, severity: info}]
""")
r = run("ok.yaml")
check(r.returncode == 0, "a passing test file exits 0 (%d: %s%s)" % (r.returncode, r.stdout, r.stderr))
check("PASS notation and escalation" in r.stdout, "the test is reported as passed")
check("1 passed, 0 failed" in r.stdout, "the summary line counts it")

with open("bad.yaml", "w") as f:
    f.write("""config: rules.yaml
tests:
  - name: wrong expectation
    interval: 1m
    series:
      - metric: 'queue_depth{queue="jobs"}'
        values: '25x3'
    expect:
      - at: 1m
        firing: [{alertname: q_high, queue: jobs, severity: warning}]
""")
r = run("bad.yaml")
check(r.returncode == 1, "a failing test exits 1")
check("FAIL wrong expectation" in r.stdout, "the failing test is named")
check("expected firing:" in r.stdout and "actual firing:" in r.stdout,
      "the failure shows the expected and the actual firing sets")
check("severity: critical" in r.stdout, "the actual set shows the real severity")

with open("broken.yaml", "w") as f:
    f.write("""config: rules.yaml
tests:
  - name: bad values
    interval: 1m
    series:
      - metric: 'queue_depth{queue="jobs"}'
        values: '1 2 x3'
    expect: []
""")
r = run("broken.yaml")
check(r.returncode == 1 and "broken.yaml:7:" in r.stderr,
      "a bad value string is an error at its line (%s)" % r.stderr.strip())

r = run("missing.yaml")
check(r.returncode == 1 and "missing.yaml" in r.stderr, "a missing test file exits 1 with its name")
r = subprocess.run([TOCSIN, "test"], capture_output=True, text=True, timeout=60)
check(r.returncode == 2, "no file is a usage error (exit 2)")

r = run(os.path.join(ROOT, "examples", "quickstart.test.yaml"))
check(r.returncode == 0, "the quickstart's rule tests pass (%s)" % r.stdout[-300:])

# Expectations in any order, millisecond intervals: each `at` is the
# state after every sample at or before it.
with open("ms_rules.yaml", "w") as f:
    f.write("rules:\n  - name: r\n    metric: m\n"
            "    severity: {warning: {above: 0.5, for: 100ms}}\n")
with open("ms.yaml", "w") as f:
    f.write("""config: ms_rules.yaml
tests:
  - name: ms
    interval: 100ms
    series:
      - {metric: 'm', values: '0x2 1x3 0x5'}
    expect:
      - at: 500ms
        firing: [{alertname: r, severity: warning}]
      - at: 100ms
        firing: []
      - at: 400ms
        firing: [{alertname: r, severity: warning}]
      - at: 800ms
        firing: []
""")
r = run("ms.yaml")
check(r.returncode == 0 and "PASS ms" in r.stdout,
      "expectations out of order and 100ms steps (%s)" % r.stdout.strip())

# Without `config:` (and without -c) a test file uses tocsin.yaml in the
# current directory, the default of every subcommand's -c.
os.makedirs("sub", exist_ok=True)
with open("sub/noconf.yaml", "w") as f:
    f.write(open("ms.yaml").read().replace("config: ms_rules.yaml\n", ""))
r = run("sub/noconf.yaml")
check(r.returncode == 1 and "tocsin.yaml" in r.stderr,
      "no config: and no tocsin.yaml here names the missing default (%s)" % r.stderr.strip())
with open("tocsin.yaml", "w") as f:
    f.write(open("ms_rules.yaml").read())
r = run("sub/noconf.yaml")
check(r.returncode == 0 and "PASS ms" in r.stdout,
      "no config: uses ./tocsin.yaml (%s%s)" % (r.stdout.strip(), r.stderr.strip()))

# A typo in a test file's keys is an error, not a test run with defaults;
# an invalid test is a FAIL line on stdout too, with its first error.
with open("typo.yaml", "w") as f:
    f.write("""config: ms_rules.yaml
tests:
  - name: typo
    intervall: 100ms
    series:
      - {metric: 'm', values: '0x2 1x3 0x5'}
    expect:
      - {at: 400ms, firing: [{alertname: r, severity: warning}]}
  - name: series typo
    interval: 100ms
    series:
      - {metric: 'm', value: '0x2 1x3 0x5'}
    expect: []
  - name: fine
    interval: 100ms
    series:
      - {metric: 'm', values: '0x2 1x3 0x5'}
    expect:
      - {at: 400ms, firing: [{alertname: r, severity: warning}]}
""")
r = run("typo.yaml")
check(r.returncode == 1 and 'typo.yaml:4:5: unknown key "intervall"' in r.stderr,
      "an unknown key in a test is an error at its position (%s)" % r.stderr.strip())
check("FAIL typo: invalid test: typo.yaml:4:5:" in r.stdout
      and "FAIL series typo: invalid test:" in r.stdout and "PASS fine" in r.stdout
      and "1 passed, 2 failed" in r.stdout,
      "invalid tests are FAIL lines on stdout, counted once each (%s)" % r.stdout.strip())

# A duplicate key fails the file: the test would otherwise run without the
# expectations the first (or second) `expect` held.
with open("dup.yaml", "w") as f:
    f.write("""config: rules.yaml
tests:
  - name: dup
    interval: 1m
    series:
      - {metric: 'queue_depth{queue="a"}', values: '30x3'}
    expect: [{at: 0s, firing: [{alertname: q_high, queue: a, severity: critical}]}]
    expect: [{at: 2m, firing: []}]
""")
r = run("dup.yaml")
check(r.returncode == 1 and 'dup.yaml:8:5: duplicate key "expect" (first at line 7)'
      in r.stderr, "a duplicate key in a test file is an error, exit 1 (%d: %s)"
      % (r.returncode, r.stderr.strip()))
check("PASS" not in r.stdout, "no test of that file passes (%s)" % r.stdout.strip())

# A series' own sample at its nodata deadline keeps it out of nodata
# whatever the order of the series in the file (another series' sample of
# the same time may come first).
with open("nd.yaml", "w") as f:
    f.write("""rules:
  - name: b
    metric: b
    severity:
      warning: {above: 5, for: 1m}
    nodata: {after: 2m, severity: critical}
""")
with open("order.yaml", "w") as f:
    f.write("""config: nd.yaml
tests:
  - name: other first
    interval: 1m
    series:
      - {metric: a, values: '1x5'}
      - {metric: b, values: '10 10 _ 10 10'}
    expect: [{at: 3m, firing: [{alertname: b, severity: warning}]}]
  - name: own first
    interval: 1m
    series:
      - {metric: b, values: '10 10 _ 10 10'}
      - {metric: a, values: '1x5'}
    expect: [{at: 3m, firing: [{alertname: b, severity: warning}]}]
  - name: deadline reached without a sample
    interval: 1m
    series:
      - {metric: a, values: '1x5'}
      - {metric: b, values: '10 10 _ _ 10'}
    expect: [{at: 3m, firing: [{alertname: b, severity: critical}]}]
""")
r = run("order.yaml")
check(r.returncode == 0 and "3 passed, 0 failed" in r.stdout,
      "nodata at a deadline does not depend on the order of the series (%s%s)"
      % (r.stdout.strip(), r.stderr.strip()))

# promtool's special values NaN, Inf and -Inf are accepted (without xN, as
# in promtool) and, as every input skips values that are not finite, are
# samples that are not there: b goes nodata at 2m and is evaluated again
# at 5m.
with open("special.yaml", "w") as f:
    f.write("""config: nd.yaml
tests:
  - name: special values
    interval: 1m
    series:
      - {metric: b, values: '10 NaN Inf -Inf -Inf 10 10'}
    expect:
      - {at: 4m, firing: [{alertname: b, severity: critical}]}
      - {at: 5m, firing: []}
      - {at: 6m, firing: [{alertname: b, severity: warning}]}
""")
r = run("special.yaml")
check(r.returncode == 0 and "1 passed, 0 failed" in r.stdout,
      "NaN, Inf and -Inf are accepted as skipped values (%s%s)"
      % (r.stdout.strip(), r.stderr.strip()))

# A `by` label the series lacks groups as "": an expected alert may list it
# as "" or leave it out, as promtool treats an empty label as no label; a
# label listed with a value it does not have still fails.
with open("by_rules.yaml", "w") as f:
    f.write("rules:\n  - name: r\n    metric: m\n    by: [host]\n"
            "    severity: {warning: {above: 0.5}}\n")
with open("by.yaml", "w") as f:
    f.write("""config: by_rules.yaml
tests:
  - name: left out
    interval: 1m
    series: [{metric: 'm', values: '1'}]
    expect: [{at: 0m, firing: [{alertname: r, severity: warning}]}]
  - name: listed empty
    interval: 1m
    series: [{metric: 'm', values: '1'}]
    expect: [{at: 0m, firing: [{alertname: r, host: "", severity: warning}]}]
  - name: listed with a value
    interval: 1m
    series: [{metric: 'm', values: '1'}]
    expect: [{at: 0m, firing: [{alertname: r, host: a, severity: warning}]}]
""")
r = run("by.yaml")
check(r.returncode == 1 and "PASS left out" in r.stdout and
      "PASS listed empty" in r.stdout and "FAIL listed with a value" in
      r.stdout, "an empty by label is no label in expectations (%s%s)"
      % (r.stdout.strip(), r.stderr.strip()))

# promtool's other spelling of a series: the name as a __name__ matcher.
with open("nm.yaml", "w") as f:
    f.write("""rules:
  - name: m_high
    metric: m
    by: [host]
    severity: {warning: {above: 5}}
""")
with open("names.yaml", "w") as f:
    f.write("""config: nm.yaml
tests:
  - name: name first
    series: [{metric: '{__name__="m",host="b"}', values: '1 9'}]
    expect: [{at: 1m, firing: [{alertname: m_high, host: b, severity: warning}]}]
  - name: name last
    series: [{metric: '{host="c", __name__="m"}', values: '9'}]
    expect: [{at: 0m, firing: [{alertname: m_high, host: c, severity: warning}]}]
""")
r = run("names.yaml")
check(r.returncode == 0 and "2 passed, 0 failed" in r.stdout,
      "a series named by {__name__=...} as in promtool (%s%s)"
      % (r.stdout.strip(), r.stderr.strip()))

# Names promtool's lexer would not take (graphite paths, StatsD buckets),
# quotes of every kind with Go's escapes, and values in a folded block.
with open("sel.yaml", "w") as f:
    f.write(r"""rules:
  - {name: g, metric: servers.a.cpu, severity: {critical: {above: 5}}}
  - {name: s, metric: api.latency, by: [service], severity: {critical: {above: 5}}}
  - {name: m_high, metric: m, by: [a], severity: {warning: {above: 5}}}
""")
with open("seltest.yaml", "w") as f:
    f.write(r"""config: sel.yaml
tests:
  - name: selectors
    series:
      - {metric: 'servers.a.cpu', values: '9'}
      - {metric: '{__name__="api.latency", service="api"}', values: '9'}
      - {metric: 'm{a="é"}', values: '9'}
      - {metric: "m{a='o\tps'}", values: '9'}
      - {metric: 'm{a="A"}', values: '9'}
      - {metric: 'm{a=`r
`}', values: '9'}
      - metric: 'm{a="folded"}'
        values: >
          1 2
          9
    expect:
      - at: 2m
        firing:
          - {alertname: g, severity: critical}
          - {alertname: s, service: api, severity: critical}
          - {alertname: m_high, a: "é", severity: warning}
          - {alertname: m_high, a: "o	ps", severity: warning}
          - {alertname: m_high, a: "A", severity: warning}
          - {alertname: m_high, a: 'r
', severity: warning}
          - {alertname: m_high, a: folded, severity: warning}
""")
r = run("seltest.yaml")
check(r.returncode == 0 and "1 passed, 0 failed" in r.stdout,
      "dotted names, __name__, ' \" ` quotes with escapes, folded values "
      "(%s%s)" % (r.stdout.strip(), r.stderr.strip()))
for bad in ("stalex3", "Infx2", "NaNx2", "1x+3"):
    with open("badv.yaml", "w") as f:
        f.write("config: sel.yaml\ntests:\n  - series: [{metric: m, "
                "values: '%s'}]\n    expect: []\n" % bad)
    r = run("badv.yaml")
    check(r.returncode == 1 and "bad" in r.stdout + r.stderr,
          "values %r is an error, as in promtool (%s)" % (bad,
                                                         r.stderr.strip()))

# A file that cannot run at all (its config missing, its YAML broken, the
# file absent) is a FAIL line on stdout too, naming it, not only errors on
# stderr.
os.makedirs("noconf", exist_ok=True)
with open("noconf/t.yaml", "w") as f:
    f.write("config: missing.yaml\ntests:\n  - series: [{metric: m, "
            "values: '1'}]\n    expect: []\n")
with open("broken.yaml", "w") as f:
    f.write("tests: [\n")
r = run("noconf/t.yaml", "broken.yaml", "absent.yaml")
fails = [ln for ln in r.stdout.splitlines() if ln.startswith("FAIL ")]
check(r.returncode == 1 and len(fails) == 3 and
      all(n in "".join(fails) for n in ("noconf/t.yaml", "broken.yaml",
                                        "absent.yaml")) and
      r.stdout.strip().endswith("0 passed, 3 failed"),
      "files that cannot run are FAIL lines naming them (%r)" % r.stdout)

print("%d failed" % failures)
sys.exit(1 if failures else 0)
