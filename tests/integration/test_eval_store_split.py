#!/usr/bin/env python3
"""A stream replayed in pieces over one store gives exactly the events of one
uninterrupted run (SPEC section 5): random streams, random cut points,
`tocsin eval --store` per piece (and an empty one after each), compared
with one in-memory run. Also:
restarting in the middle of a `for` and of a `clear_for` keeps the timers,
a late sample stays late after an empty run, and a run that stops early
(--strict on a malformed line, a missing file) keeps what it printed."""
import json
import os
import random
import subprocess
import sys

TOCSIN = os.environ["TOCSIN"]
CFG = """rules:
  - name: lat
    metric: lat
    by: [host]
    window: 1m
    aggregate: p90
    severity:
      warning: {above: 60, clear: 50, for: 20s}
      critical: {above: 85, clear: 75, clear_for: 30s}
    nodata: {after: 2m}
    annotations: {summary: "p90 {{ value }} on {{ labels.host }}"}
  - name: reqs
    metric: reqs_total
    window: 1m
    aggregate: rate
    severity: {warning: {above: 2, for: 10s}}
"""


def stream(seed, n):
    rng = random.Random(seed)
    t, counter, out = 1767225600.0, 0.0, []
    for _ in range(n):
        t += rng.randint(0, 6) + (200 if rng.random() < 0.01 else 0)
        if rng.random() < 0.25:
            counter = 0 if rng.random() < 0.03 else counter + rng.randint(0, 40)
            out.append({"metric": "reqs_total", "labels": {}, "value": counter, "ts": t})
        else:
            out.append({"metric": "lat", "labels": {"host": "h%d" % rng.randint(0, 3)},
                        "value": rng.randint(0, 100), "ts": t})
    return [json.dumps(x) + "\n" for x in out]


def fresh(path):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return path


def run_eval(lines, store=None):
    cmd = [TOCSIN, "eval", "-c", "t.yaml"]
    if store:
        cmd += ["--store", store]
    r = subprocess.run(cmd, input="".join(lines), capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise SystemExit("eval failed: %s" % r.stderr)
    return r.stdout


def main():
    with open("t.yaml", "w") as f:
        f.write(CFG)
    passed = failed = 0
    for seed in range(12):
        lines = stream(seed, 1500)
        whole = run_eval(lines)
        rng = random.Random(1000 + seed)
        cuts = sorted(rng.sample(range(1, len(lines)), rng.randint(1, 6)))
        store = fresh("split-%d.db" % seed)
        parts, prev = "", 0
        for c in cuts + [len(lines)]:
            parts += run_eval(lines[prev:c], store)
            # An empty stream in between (eval --notify draining the outbox
            # does this) prints nothing and leaves the saved state as it was.
            parts += run_eval([], store)
            prev = c
        if whole.count("\n") < 5:
            print("FAIL seed %d: too few events (%d) to compare" % (seed, whole.count("\n")))
            failed += 1
        elif parts != whole:
            a, b = whole.splitlines(), parts.splitlines()
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            print("FAIL seed %d cuts %s: first difference at event %d\n  whole: %s\n  parts: %s"
                  % (seed, cuts, i, a[i] if i < len(a) else "-", b[i] if i < len(b) else "-"))
            failed += 1
        else:
            print("ok   seed %d: %d events, %d pieces identical" % (seed, len(whole.splitlines()), len(cuts) + 1))
            passed += 1

    # Cuts exactly at nodata deadlines: two hosts on a 10s grid, host a
    # silent for exactly nodata.after (2m), its sample at the deadline
    # listed after (and once before) host b's, and once silent for longer
    # (a nodata event); every cut point.
    grid = []
    for k in range(40):
        t = 1767225600 + 10 * k
        b = {"metric": "lat", "labels": {"host": "b"}, "value": 70 + k % 30, "ts": t}
        a = {"metric": "lat", "labels": {"host": "a"}, "value": 90, "ts": t}
        a_here = k in (0, 12, 13, 27, 39) or k > 32
        pair = [a, b] if k == 13 else [b, a]
        grid += [json.dumps(x) + "\n" for x in pair if x is b or a_here]
    whole = run_eval(grid)
    bad = []
    for c in range(1, len(grid)):
        store = fresh("grid.db")
        if run_eval(grid[:c], store) + run_eval(grid[c:], store) != whole:
            bad.append(c)
    if whole.count('"nodata"') >= 1 and not bad:
        print("ok   cut at each of %d lines, deadlines included: identical" % (len(grid) - 1))
        passed += 1
    else:
        print("FAIL cuts at nodata deadlines: %d nodata events; differ at cuts %s"
              % (whole.count('"nodata"'), bad))
        failed += 1

    # StatsD "+N"/"-N" gauge lines apply to the gauge's value from the
    # piece before, as in one run (the store keeps the gauge values).
    with open("g.yaml", "w") as f:
        f.write("rules:\n  - name: g\n    metric: queue.depth\n"
                "    severity: {warning: {above: 10}}\n")
    gl = ["queue.depth:5|g|T1767225600\n", "queue.depth:+4|g|T1767225610\n",
          "queue.depth:+4|g|T1767225620\n", "queue.depth:-8|g|T1767225630\n"]

    def run_g(lines, store=None):
        cmd = [TOCSIN, "eval", "-c", "g.yaml", "--format", "statsd"]
        cmd += ["--store", store] if store else []
        return subprocess.run(cmd, input="".join(lines), capture_output=True,
                              text=True, timeout=120).stdout
    whole = run_g(gl)
    store = fresh("gauge.db")
    parts = run_g(gl[:2], store) + run_g(gl[2:], store)
    if whole.count("\n") == 2 and parts == whole:
        print("ok   StatsD gauge deltas carry over between pieces")
        passed += 1
    else:
        print("FAIL StatsD gauge deltas between pieces: whole %r, parts %r"
              % (whole, parts))
        failed += 1

    # Restart in the middle of `for` (20s) and of `clear_for` (30s).
    def s(v, t):
        return json.dumps({"metric": "lat", "labels": {"host": "a"}, "value": v, "ts": t}) + "\n"
    first = [s(70, 0), s(70, 10)]           # warning pending since 0
    second = [s(70, 20)]                     # held 20s: fires now, not 20s later
    out1 = run_eval(first, fresh("for.db"))
    out2 = run_eval(second, "for.db")
    ev = [json.loads(l) for l in out2.splitlines()]
    if out1 == "" and len(ev) == 1 and ev[0]["event"] == "firing" and ev[0]["ts"] == 20:
        print("ok   for timer survives a restart")
        passed += 1
    else:
        print("FAIL for timer: first run %r, second run %r" % (out1, out2))
        failed += 1
    first = [s(90, 0), s(10, 60), s(10, 70)]  # critical, then resolving since 60
    second = [s(10, 90)]                      # 30s of clear_for done at 90
    out1 = run_eval(first, fresh("cf.db"))
    out2 = run_eval(second, "cf.db")
    e1 = [json.loads(l)["event"] for l in out1.splitlines()]
    e2 = [json.loads(l) for l in out2.splitlines()]
    if e1 == ["firing"] and len(e2) == 1 and e2[0]["event"] == "resolved" and e2[0]["ts"] == 90:
        print("ok   clear_for timer survives a restart")
        passed += 1
    else:
        print("FAIL clear_for timer: %r then %r" % (out1, out2))
        failed += 1
    # A sample older than the newest of its source is late, also when an
    # empty run came in between (it must not forget the sources).
    fresh("late.db")
    run_eval([s(10, 100)], "late.db")
    run_eval([], "late.db")
    r = subprocess.run([TOCSIN, "eval", "-c", "t.yaml", "--store", "late.db"],
                       input=s(90, 50), capture_output=True, text=True, timeout=120)
    if r.returncode == 0 and r.stdout == "" and " 1 late" in r.stderr:
        print("ok   late sample stays late after an empty run")
        passed += 1
    else:
        print("FAIL late sample after an empty run: %r %r" % (r.stdout, r.stderr))
        failed += 1
    # A run that stops at a malformed line (--strict) or a missing file
    # keeps the events it printed: the next run over the store does not
    # fire the same alert again, and history holds the first firing.
    fire = ('{"metric":"reqs_total","labels":{},"value":0,"ts":1767225600}\n'
            '{"metric":"reqs_total","labels":{},"value":600,'
            '"ts":1767225630}\n'
            '{"metric":"reqs_total","labels":{},"value":1200,'
            '"ts":1767225645}\n')
    more = '{"metric":"reqs_total","labels":{},"value":1800,"ts":1767225660}\n'
    with open("fire.jsonl", "w") as f:
        f.write(fire)
    for how, args, inp in (
            ("--strict", ["--strict"], fire + "bad line\n"),
            ("missing file", ["fire.jsonl", "missing.jsonl"], None)):
        db = "early%d.db" % len(how)
        r1 = subprocess.run([TOCSIN, "eval", "-c", "t.yaml", "--store", db]
                            + args, input=inp, capture_output=True,
                            text=True, timeout=120)
        r2 = subprocess.run([TOCSIN, "eval", "-c", "t.yaml", "--store", db],
                            input=more, capture_output=True, text=True,
                            timeout=120)
        h = subprocess.run([TOCSIN, "history", "-c", "t.yaml", "--store", db,
                            "--since", "10000d", "--json"],
                           capture_output=True, text=True, timeout=120)
        ev1 = [json.loads(x)["event"] for x in r1.stdout.splitlines()]
        hist = [json.loads(x)["event"] for x in h.stdout.splitlines()]
        if (r1.returncode == 1 and ev1 == ["firing"] and r2.returncode == 0
                and r2.stdout == "" and hist == ["firing"]):
            print("ok   %s: the printed firing is kept, not repeated" % how)
            passed += 1
        else:
            print("FAIL %s: %r %r / %r / %r" % (how, r1.stdout, r1.stderr,
                                               r2.stdout, h.stdout))
            failed += 1
    # A metric no rule reads moves the stream clock too, and the clock is
    # kept with the store: the nodata of h=b at 160 comes in the second
    # piece as in one run.
    with open("clk.yaml", "w") as f:
        f.write("rules:\n  - {name: r, metric: m, by: [h], severity: "
                "{warning: {above: 5}}, nodata: {after: 10s}}\n")
    p1 = ('{"metric":"m","labels":{"h":"a"},"value":1,"ts":100}\n'
          '{"metric":"other","value":0,"ts":200}\n')
    p2 = '{"metric":"m","labels":{"h":"b"},"value":1,"ts":150}\n'
    out = []
    for piece in ([p1 + p2], [p1, p2]):
        got = ""
        for i, text in enumerate(piece):
            r = subprocess.run([TOCSIN, "eval", "-c", "clk.yaml", "--store",
                                "clk%d.db" % len(piece)], input=text,
                               capture_output=True, text=True, timeout=120)
            got += r.stdout
        out.append(got)
    if out[0] == out[1] and out[0].count("\n") == 2:
        print("ok   the stream clock moved by an unread metric is kept")
        passed += 1
    else:
        print("FAIL stream clock: %r vs %r" % tuple(out))
        failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
