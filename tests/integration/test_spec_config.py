# test_spec_config.py - SPEC section 2 (configuration): ${VAR} and
# ${VAR:-default}, durations and sums, unknown keys as FILE:LINE:COL errors,
# anchors/aliases with an expansion bound, paths relative to the config.
# Run by tests/integration/run.sh with $TOCSIN set.
import os, re, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spec_common import check, run, write, J, finish

LOC = re.compile(r"^(\S+):(\d+):(\d+): ")


def chk(text, env=None):
    write("sub/c.yaml", text)
    e = {k: "" for k in ()}
    p = run(["check", "-c", "sub/c.yaml"], env=env)
    return p.returncode, p.stderr


RULE = """rules:
  - name: r
    metric: m
    window: %s
    aggregate: avg
    severity: {warning: {above: 1, for: %s}}
"""
for d in ["250ms", "30s", "5m", "2h", "1d", "1w", "1h30m", "1d2h3m4s"]:
    rc, err = chk(RULE % (d, d))
    check(rc == 0, "duration %s accepted" % d)
for d in ["5q", "abc", "-5m"]:
    rc, err = chk(RULE % (d, "1m"))
    check(rc == 1 and LOC.match(err) is not None, "duration %r rejected at FILE:LINE:COL" % d)
    m = LOC.match(err)
    check(m is not None and m.group(2) == "4", "bad duration error on line 4")

# ${VAR} / ${VAR:-default}
env_rule = RULE % ("${WIN}", '"${FOR:-2m}"')  # quoted: braces end a flow map
rc, err = chk(env_rule, env={"WIN": "5m"})
check(rc == 0, "${WIN} set and ${FOR:-2m} default expand")
os.environ.pop("WIN", None)
rc, err = chk(env_rule)
check(rc == 1 and "WIN" in err, "unset ${WIN} is an error naming the variable")
m = LOC.match(err)
check(m is not None and m.group(2) == "4", "unset variable error located at line 4")
rc, err = chk("store: ${TOCSIN_SPEC_SECRET}\n", env={})
check(rc == 1 and "TOCSIN_SPEC_SECRET" in err, "unset variable in store named")

# Unknown keys, everywhere, as FILE:LINE:COL.
for text, line in [
        ("bogus: 1\n", "1"),
        ("rules:\n  - name: r\n    metric: m\n    windw: 5m\n    severity: {warning: {above: 1}}\n", "4"),
        ("rules:\n  - name: r\n    metric: m\n    severity:\n      warning: {above: 1, fro: 2m}\n", "5"),
        ("rules:\n  - name: r\n    metric: m\n    severity: {warning: {above: 1}}\n    nodata: {after: 1m, sevrity: critical}\n", "5"),
        ("defaults:\n  repeat_intervl: 4h\n", "2")]:
    rc, err = chk(text)
    m = LOC.match(err)
    check(rc == 1 and m is not None and m.group(1) == "sub/c.yaml" and m.group(2) == line,
          "unknown key reported as sub/c.yaml:%s:COL (%s)" % (line, err.strip().splitlines()[:1]))

# Rule validation statements of sections 2 and 4.
bad = {
    "above and below": "warning: {above: 1, below: 0}",
    "clear > above": "warning: {above: 1, clear: 2}",
    "clear < below": "warning: {below: 5, clear: 4}",
    "unknown tier": "fatal: {above: 1}",
    "no threshold": "warning: {clear: 1}",
}
for what, tier in bad.items():
    rc, err = chk("rules:\n  - name: r\n    metric: m\n    severity: {%s}\n" % tier)
    check(rc == 1 and LOC.match(err) is not None, "tier with %s is an error" % what)
rc, err = chk("rules:\n  - name: r\n    metric: m\n    aggregate: avg\n    ratio: {a: b}\n    severity: {warning: {above: 1}}\n")
check(rc == 1, "ratio on avg is an error (only sum, count, rate, increase)")
rc, err = chk("rules:\n  - name: r\n    metric: m\n    where: {a: \"~((\"}\n    severity: {warning: {above: 1}}\n")
check(rc == 1, "invalid regex matcher is an error")
rc, err = chk("rules:\n  - name: r\n    metric: m\n    severity: {warning: {above: 1}}\n    annotations: {s: \"{{ lables.x }}\"}\n")
check(rc == 1 and LOC.match(err) is not None, "unknown template path is a check error")
for agg in ["last", "min", "max", "avg", "sum", "count", "stddev", "p50", "p90", "p99", "p99.9",
            "apdex(0.5)", "increase", "rate"]:
    rc, err = chk("rules:\n  - name: r\n    metric: [m, n]\n    window: 1m\n    aggregate: %s\n    severity: {warning: {above: 1}}\n" % agg)
    check(rc == 0, "aggregate %s accepted (metric as a list)" % agg)

# Anchors and aliases are allowed; expansion is bounded.
rc, err = chk("""x-tier: &t {above: 1, clear: 0}
rules:
  - name: r
    metric: m
    severity: {warning: *t}
""")
check(rc == 1, "an anchor under an unknown top-level key is still an unknown key")
rc, err = chk("""rules:
  - name: r
    metric: m
    labels: &l {team: web}
    severity: {warning: &t {above: 1, clear: 0}}
  - name: s
    metric: m
    labels: *l
    severity: {warning: *t, critical: {above: 5}}
""")
check(rc == 0, "anchors and aliases accepted")
bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
prev = "a"
for n in "bcdefghi":
    bomb += "%s: &%s [%s]\n" % (n, n, ", ".join(["*" + prev] * 10))
    prev = n
p = run(["check", "-c", "bomb.yaml"]) if write("bomb.yaml", bomb) is None else None
check(p.returncode == 1 and LOC.match(p.stderr) is not None, "alias bomb rejected with a located error")

# Relative paths are relative to the config's folder.
write("sub/rel.yaml", "store: rel.db\n" + RULE % ("1m", "0s"))
p = run(["eval", "-c", "sub/rel.yaml", "--notify"], stdin=J("m", 5, 100) + "\n")
p = run(["alerts", "-c", "sub/rel.yaml"])
check(p.returncode == 1 and "sub/rel.db" in p.stderr, "store path resolved against the config folder (%s)" % p.stderr.strip())
p = run(["eval", "-c", "sub/rel.yaml", "--store", "sub/rel.db"], stdin=J("m", 5, 100) + "\n")
p = run(["alerts", "-c", "sub/rel.yaml", "--json"])
check(p.returncode == 0 and "\"r\"" in p.stdout, "alerts -c sub/rel.yaml reads sub/rel.db")
finish()
