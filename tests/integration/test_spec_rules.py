# test_spec_rules.py - SPEC section 4 (rule semantics) through `tocsin eval`:
# each aggregate's definition, ratio, tiers with clear/for/clear_for, the four
# events, nodata (reason, null value, default warning, recovery), labels and
# matchers, the event JSON shape, a stable fingerprint.
# Run by tests/integration/run.sh with $TOCSIN set.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spec_common import check, J, events, finish


def final_value(agg, lines, extra="", hold=None):
    """The aggregate at the last sample: an always-breaching tier whose `for`
    spans first to last sample fires exactly there."""
    ts = [float(__import__("json").loads(l)["ts"]) for l in lines]
    hold = ts[-1] - ts[0] if hold is None else hold
    cfg = ("rules:\n  - name: r\n    metric: m\n    window: 1m\n    aggregate: %s\n"
           "    severity: {warning: {above: -1000000000, for: %gs}}\n%s" % (agg, hold, extra))
    rc, ev, err = events(cfg, lines)
    return ev[0]["value"] if len(ev) == 1 else ("no single event", ev, err)


def seq(vals, t0=100):
    return [J("m", v, t0 + i) for i, v in enumerate(vals)]


for agg, vals, want in [
        ("last", [1, 5, 3], 3), ("min", [4, 2, 9], 2), ("max", [4, 2, 9], 9),
        ("avg", [1, 2, 6], 3), ("sum", [1, 2, 6], 9), ("count", [1, 2, 6], 3),
        ("stddev", [2, 4, 4, 4, 5, 5, 7, 9], 2),          # population
        ("p50", [1, 2, 3, 4], 2.5), ("p90", list(range(1, 11)), 9.1),
        ("p99.9", [1, 2], 1.999),
        ("apdex(10)", [5, 10, 20, 40, 41], 0.6),          # (2 + 2/2) / 5
        ("increase", [1, 3, 2, 5], 7)]:                   # 2 + reset 2 + 3
    got = final_value(agg, seq(vals))
    check(isinstance(got, (int, float)) and abs(got - want) < 1e-9,
          "%s of %s is %s (got %s)" % (agg, vals, want, got))
got = final_value("rate", seq([1, 3, 2, 5]), hold=2)
check(isinstance(got, (int, float)) and abs(got - 7 / 3) < 1e-9, "rate = increase / seconds first..last (got %s)" % got)
# window is (t - window, t]: a sample exactly window old is out.
got = final_value("sum", [J("m", 1, 100), J("m", 2, 130), J("m", 4, 160)])
check(got == 6, "window excludes the sample at t - window (got %s)" % got)
# multiple sources: increase and rate summed over the sources.
two = [J("m", 0, 100, host="a"), J("m", 100, 100, host="b"), J("m", 10, 110, host="a"),
       J("m", 105, 110, host="b"), J("m", 20, 120, host="a"), J("m", 30, 120, host="b")]
for agg, thr, want in [("increase", 50, 55), ("rate", 2, 2.75)]:
    # a: +20; b: +5 then a reset to 30 (counts 30); rate over 20 s each.
    rc, ev, err = events("rules:\n  - name: r\n    metric: m\n    window: 1m\n    aggregate: %s\n"
                         "    severity: {warning: {above: %g}}\n" % (agg, thr), two)
    got = [(e["ts"], e["value"]) for e in ev]
    check(len(got) == 1 and got[0][0] == 120 and abs(got[0][1] - want) < 1e-9,
          "%s summed over sources, a drop counts the new value: %s (got %s)" % (agg, want, got))
# ratio
got = final_value("count", [J("m", 1, 100 + i, status=s) for i, s in enumerate(["200", "500", "503", "200"])],
                  extra="    ratio: {status: \"~5..\"}\n")
check(got == 0.5, "count ratio status ~5.. is 2/4 (got %s)" % got)

# Tiers, hysteresis, clear_for and the four events.
CFG = """rules:
  - name: r
    metric: m
    by: [svc, host]
    aggregate: last
    severity:
      info: {above: 10}
      warning: {above: 50, clear: 40}
      critical: {above: 90, clear: 80, clear_for: 20s}
    nodata: {after: 1m}
    labels: {team: web, host: override}
    annotations: {summary: "v={{ value }} on {{ labels.svc }}"}
"""
vals = [5, 20, 60, 45, 95, 85, 79, 85, 70, 30, 5]
lines = [J("m", v, 100 + 10 * i, host="h1", svc="api", extra="x") for i, v in enumerate(vals)]
lines += [J("other", 1, 400), J("m", 5, 410, host="h1", svc="api")]
rc, ev, err = events(CFG, lines)
got = [(e["ts"], e["event"], e["severity"], e["previous"], e["value"], e["reason"]) for e in ev]
want = [(110, "firing", "info", "ok", 20, "threshold"),
        (120, "escalated", "warning", "info", 60, "threshold"),
        (140, "escalated", "critical", "warning", 95, "threshold"),
        (200, "resolved", "ok", "critical", 5, "threshold"),
        (260, "firing", "warning", "ok", None, "nodata"),
        (410, "resolved", "ok", "warning", 5, "threshold")]
check(got == want, "tier walk: events %s" % got)
if ev:
    e = ev[0]
    check(list(e.keys()) == ["ts", "rule", "labels", "event", "severity", "previous", "value",
                             "reason", "fingerprint", "annotations"], "event JSON keys in SPEC order")
    check(e["labels"] == {"svc": "api", "host": "override", "team": "web", "alertname": "r"},
          "labels: by labels, rule labels win on clash, alertname; extra labels dropped")
    check(list(e["labels"].keys())[-1] == "alertname", "alertname comes last")
    check("severity" not in e["labels"], "severity is a field of its own")
    check(e["annotations"] == {"summary": "v=20 on api"}, "annotation template rendered")
    check(len({x["fingerprint"] for x in ev}) == 1, "one fingerprint for the alert across events")
rc2, ev2, err2 = events(CFG, lines)
check(ev and ev2 and ev[0]["fingerprint"] == ev2[0]["fingerprint"], "fingerprint stable across runs")

# deescalated, and for: a breach shorter than for does not fire.
CFG2 = """rules:
  - name: r
    metric: m
    aggregate: last
    severity:
      warning: {above: 50, for: 20s}
      critical: {above: 90}
"""
rc, ev, err = events(CFG2, [J("m", v, 100 + 10 * i) for i, v in enumerate([60, 60, 10, 60, 60, 60, 95, 70, 10])])
got = [(e["ts"], e["event"], e["severity"]) for e in ev]
check(got == [(150, "firing", "warning"), (160, "escalated", "critical"),
              (170, "deescalated", "warning"), (180, "resolved", "ok")],
      "for: 20s held from the evaluation that began it; deescalated; resolved: %s" % got)
# below tiers.
CFG3 = "rules:\n  - name: r\n    metric: m\n    aggregate: last\n    severity: {critical: {below: 5, clear: 8}}\n    nodata: {after: 30s, severity: critical}\n"
rc, ev, err = events(CFG3, [J("m", v, 100 + i) for i, v in enumerate([6, 4, 6, 7, 8])])
check([(e["ts"], e["event"]) for e in ev] == [(101, "firing"), (104, "resolved")],
      "below with clear: fires under 5, recovers at >= 8")
rc, ev, err = events(CFG3, [J("m", 6, 100), J("x", 1, 200)])
check([(e["ts"], e["severity"], e["reason"], e["value"]) for e in ev] == [(130, "critical", "nodata", None)],
      "nodata severity from config, stamped at the deadline, value null")
# where matchers: a missing label matches as "".
CFG4 = "rules:\n  - name: r\n    metric: [m, n]\n    where: {a: x, b: \"~x.*\", c: \"!y\", d: \"!~z.*\", e: \"\"}\n    by: [b, zz]\n    aggregate: last\n    severity: {warning: {above: 0}}\n"
for labels, n in [(dict(a="x", b="xx", c="q", d="w"), 1), (dict(a="xx", b="x"), 0), (dict(a="x", b="ax"), 0),
                  (dict(a="x", b="x", c="y"), 0), (dict(a="x", b="x", d="zz"), 0),
                  (dict(a="x", b="x", e="1"), 0), (dict(a="x", b="x"), 1)]:
    rc, ev, err = events(CFG4, [J("n", 1, 100.12345, **labels)])
    check(len(ev) == n, "where on %s matches: %s" % (labels, bool(n)))
    if ev:
        check(ev[0]["ts"] == 100.123, "event ts has millisecond precision")
        check(ev[0]["labels"] == {"b": labels["b"], "zz": "", "alertname": "r"},
              "missing by label groups as empty string: %s" % ev[0]["labels"])
# A rule label that replaces a by label (it wins on a clash) leaves two
# series with the same labels; they are still two alerts, each with its own
# fingerprint, so one resolving does not end the other.
CFG5 = ("rules:\n  - name: r\n    metric: m\n    by: [team]\n    aggregate: last\n"
        "    severity: {warning: {above: 50}}\n    labels: {team: web}\n")
rc, ev, err = events(CFG5, [J("m", 100, 100, team="x"), J("m", 100, 101, team="y"),
                            J("m", 1, 102, team="y")])
check([(e["event"], e["labels"]) for e in ev] ==
      [(k, {"team": "web", "alertname": "r"}) for k in ("firing", "firing", "resolved")],
      "the rule's label wins over the by label: %s" % [(e["event"], e["labels"]) for e in ev])
check(len(ev) == 3 and ev[0]["fingerprint"] != ev[1]["fingerprint"] == ev[2]["fingerprint"],
      "series told apart only by a replaced by label have their own fingerprints")
finish()
