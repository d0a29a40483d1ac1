#!/usr/bin/env python3
"""Cross-check tocsin's window aggregates and `for` against Prometheus' own
evaluator: for random series, the alert states tocsin computes (tocsin eval)
become the expectations of a `promtool test rules` file, which must pass.

The window is 295s, not 5m, so that no sample sits exactly on the window's
left edge: Prometheus 2.x ranges include that edge, tocsin's (t - w, t]
excludes it, and the SPEC's definition is the latter."""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

TOCSIN = os.environ["TOCSIN"]
PROMTOOL = shutil.which("promtool")
STEP = 30
N = 60

CASES = [
    # (tocsin aggregate, PromQL function, threshold, for)
    ("avg", "avg_over_time({s})", 50, "0s"),
    ("max", "max_over_time({s})", 90, "1m"),
    ("min", "min_over_time({s})", 20, "0s"),
    ("sum", "sum_over_time({s})", 520, "30s"),
    ("count", "count_over_time({s})", 9, "0s"),
    ("stddev", "stddev_over_time({s})", 28, "1m"),
    ("p90", "quantile_over_time(0.9, {s})", 80, "0s"),
    ("p50", "quantile_over_time(0.5, {s})", 55, "1m30s"),
    ("p99.9", "quantile_over_time(0.999, {s})", 95, "0s"),
    ("last", "last_over_time({s})", 70, "1m"),
]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def main():
    if PROMTOOL is None:
        print("FAIL: promtool not installed (Debian package prometheus)")
        return 1
    failures = 0
    checked = 0
    work = tempfile.mkdtemp(prefix="xcheck-")
    for ci, (agg, fn, thr, hold) in enumerate(CASES):
        for seed in range(3):
            rng = random.Random(ci * 100 + seed)
            # tocsin evaluates at samples, Prometheus on its timer: with a
            # sample at every evaluation the two see the same instants.
            vals = [rng.randint(0, 100) for _ in range(N)]
            vals[0] = rng.randint(0, 100)
            cfg = os.path.join(work, "t.yaml")
            with open(cfg, "w") as f:
                f.write(f"""rules:
  - name: xcheck
    metric: m
    by: [job]
    window: 295s
    aggregate: {agg}
    severity:
      warning: {{above: {thr}, for: {hold}}}
""")
            stream = "".join(
                json.dumps({"metric": "m", "labels": {"job": "a"}, "value": v, "ts": i * STEP}) + "\n"
                for i, v in enumerate(vals) if v is not None)
            r = run([TOCSIN, "eval", "-c", cfg], input=stream)
            if r.returncode != 0:
                print(f"FAIL {agg} seed {seed}: tocsin eval exit {r.returncode}: {r.stderr}")
                failures += 1
                continue
            events = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            # Alert state after the samples at or before each evaluation time.
            tests = []
            for i in range(N):
                t = i * STEP
                firing = False
                for ev in events:
                    if ev["ts"] <= t:
                        firing = ev["severity"] != "ok"
                exp = "[{exp_labels: {job: a, severity: warning}}]" if firing else "[]"
                tests.append(f"""      - eval_time: {t}s
        alertname: xcheck
        exp_alerts: {exp}
""")
            promql = fn.format(s="m[295s]")
            with open(os.path.join(work, "rules.yml"), "w") as f:
                f.write(f"""groups:
  - name: x
    rules:
      - alert: xcheck
        expr: {promql} > {thr}
        for: {hold}
        labels: {{severity: warning}}
""")
            series = " ".join("_" if v is None else str(v) for v in vals)
            with open(os.path.join(work, "test.yml"), "w") as f:
                f.write(f"""rule_files: [rules.yml]
evaluation_interval: {STEP}s
tests:
  - interval: {STEP}s
    input_series:
      - series: 'm{{job="a"}}'
        values: '{series}'
    alert_rule_test:
{''.join(tests)}""")
            r = run([PROMTOOL, "test", "rules", "test.yml"], cwd=work)
            checked += 1
            if r.returncode != 0:
                failures += 1
                print(f"FAIL {agg} > {thr} for {hold}, seed {seed}: promtool disagrees")
                print((r.stdout + r.stderr)[:3000])
            else:
                print(f"ok   {agg} > {thr} for {hold}, seed {seed}: {len(events)} events agree at {N} evaluations")
    shutil.rmtree(work, ignore_errors=True)
    print(f"{checked - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
