# test_spec_ruletest.py - SPEC section 8 (`tocsin test`): the SPEC's example
# file, promtool value notation (a+bxN, a-bxN, axN, _, _xN), `at` as the state
# after every sample at or before it, exact label match with severity, and
# failures showing expected and actual with exit 1.
# Run by tests/integration/run.sh with $TOCSIN set.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spec_common import check, run, write, finish

write("tocsin.yaml", """rules:
  - name: api_p90_latency
    metric: http_request_duration_ms
    where: {service: api}
    by: [service]
    window: 5m
    aggregate: p90
    severity:
      warning:  {above: 200, clear: 150, for: 2m}
      critical: {above: 500, clear: 400, for: 1m, clear_for: 2m}
    nodata: {after: 10m, severity: warning}
    labels: {team: web}
  - name: hi
    metric: m
    by: [host]
    aggregate: last
    severity: {warning: {above: 5}, critical: {above: 50}}
""")
write("tests/spec.yaml", """config: ../tocsin.yaml
tests:
  - name: latency escalates then resolves
    interval: 30s
    series:
      - metric: 'http_request_duration_ms{service="api"}'
        values: '100x4 600x10 100x20'
    expect:
      - at: 6m
        firing: [{alertname: api_p90_latency, service: api, team: web, severity: critical}]
      - at: 20m
        firing: []
""")
p = run(["test", "tests/spec.yaml"])
check(p.returncode == 0, "the SPEC's example test passes (config path relative to the test file)")

# Notation: '1 10 1+20x3 60-10x2 _ 100 _x2 3' at 1m intervals is
# t0:1 t1:10 t2:1 t3:21 t4:41 t5:61 t6:60 t7:50 t8:40 t9:- t10:100 t11:- t12:- t13:3
W = "{alertname: hi, host: a, severity: warning}"
C = "{alertname: hi, host: a, severity: critical}"
expect = [("59s", ""), ("1m", W), ("1m59s", W), ("2m", ""), ("3m", W), ("4m", W), ("5m", C),
          ("6m", C), ("7m", W), ("8m", W), ("9m", W), ("10m", C), ("12m", C), ("13m", ""), ("30m", "")]
body = "".join("      - {at: %s, firing: [%s]}\n" % (at, f) for at, f in expect)
write("tests/notation.yaml", """config: ../tocsin.yaml
tests:
  - name: notation and at semantics
    interval: 1m
    series:
      - metric: 'm{host="a"}'
        values: '1 10 1+20x3 60-10x2 _ 100 _x2 3'
    expect:
""" + body)
p = run(["test", "tests/notation.yaml"])
check(p.returncode == 0, "promtool notation and `at` semantics\n" + p.stdout + p.stderr)

# Failures: expected and actual firing sets, exit 1.
write("tests/fail.yaml", """config: ../tocsin.yaml
tests:
  - name: wrong severity
    interval: 1m
    series:
      - metric: 'm{host="a"}'
        values: '1 60'
    expect:
      - at: 1m
        firing: [{alertname: hi, host: a, severity: warning}]
  - name: extra label does not match
    interval: 1m
    series:
      - metric: 'm{host="a"}'
        values: '1 6'
    expect:
      - at: 1m
        firing: [{alertname: hi, severity: warning}]
  - name: passes
    interval: 1m
    series:
      - metric: 'm{host="b"}'
        values: '6'
    expect:
      - at: 0s
        firing: [{alertname: hi, host: b, severity: warning}]
""")
p = run(["test", "tests/fail.yaml"])
out = p.stdout + p.stderr
check(p.returncode == 1, "a failing test file exits 1")
check("wrong severity" in out and "extra label does not match" in out, "failing tests are named")
check("critical" in out and "warning" in out, "failure shows expected (warning) and actual (critical)")
check("expected" in out.lower() and "actual" in out.lower(), "failure labels expected and actual sets")
check(run(["test"]).returncode == 2, "test without a file is a usage error")
check(run(["test", "tests/none.yaml"]).returncode == 1, "missing test file exits 1")
write("tests/badcfg.yaml", "config: ../nope.yaml\ntests: []\n")
check(run(["test", "tests/badcfg.yaml"]).returncode == 1, "test whose config is missing exits 1")
finish()
