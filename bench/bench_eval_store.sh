#!/bin/sh
# bench_eval_store.sh - what a store file costs `tocsin eval` (target: at
# most 20% slower than the default in-memory store). A stream of N JSON
# lines (default 1,000,000) over S series (default 10,000) in which 1% of
# the samples flip their series across the threshold (for: 0, no clear), so
# 1% of the samples each cause an event: history, current alert, outbox row
# and heard set. Times `tocsin eval -c cfg` (":memory:" store) against
# `tocsin eval -c cfg --store file.db` (fresh file each run), alternating,
# best of R runs each, and prints both rates and the ratio. Called by
# bench/run.sh (make bench); needs TOCSIN (default ./tocsin), python3.
# Sizes: BENCH_EVAL_LINES, BENCH_EVAL_SERIES, BENCH_EVAL_RUNS.
set -eu
TOCSIN=${TOCSIN:-./tocsin}
LINES=${BENCH_EVAL_LINES:-1000000}
SERIES=${BENCH_EVAL_SERIES:-10000}
RUNS=${BENCH_EVAL_RUNS:-3}
PY=/usr/bin/python3
case "$TOCSIN" in /*) ;; *) TOCSIN=$(pwd)/$TOCSIN ;; esac

dir=$(mktemp -d /tmp/tocsin-bench-eval.XXXXXX)
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM

# A webhook receiver that is never called (eval without --notify only
# records): every event still gets its outbox row and heard-set entry.
cat > "$dir/cfg.yaml" <<'CONF'
notifiers:
  hook:
    type: webhook
    url: http://127.0.0.1:9/hook
defaults:
  notify: [hook]
rules:
  - name: bench_latency
    metric: lat
    by: [service]
    severity:
      critical: {above: 500}
CONF

# Round r holds one sample of every series (10 s apart per round). One
# series in ten is flappy: it flips state (above <-> below 500) every tenth
# round, staggered, so 1% of the samples are flips, each an event (firing
# or resolved), and a few hundred alerts fire at any time.
$PY - "$LINES" "$SERIES" > "$dir/stream.jsonl" <<'PYEOF'
import sys
n, nser = int(sys.argv[1]), int(sys.argv[2])
t0 = 1767225600.0
state = [False] * nser
out = []
w = sys.stdout.write
for k in range(n):
    r, s = divmod(k, nser)
    if s % 10 == 0 and (r + s // 10) % 10 == 0:
        state[s] = not state[s]
    v = 612.5 if state[s] else 101.25 + (k % 7)
    out.append('{"metric":"lat","labels":{"service":"s%05d"},"value":%s,'
               '"ts":%.3f}\n' % (s, v, t0 + r * 10 + s * 0.0005))
    if len(out) >= 10000:
        w(''.join(out))
        out.clear()
w(''.join(out))
PYEOF
expected=$((LINES / 100))

# Runs alternate (memory, file, memory, file...) so that a change in the
# machine's load hits both; each variant's best run counts. Wall and CPU
# (user + sys) seconds; the events printed are counted as a check.
$PY - "$dir" "$expected" "$RUNS" "$LINES" "$TOCSIN" <<'PYEOF'
import os, subprocess, sys, time
d, want, runs, n, tocsin = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                            int(sys.argv[4]), sys.argv[5])
db = d + "/s.db"
base = [tocsin, "eval", "--format", "json", "-c", d + "/cfg.yaml"]
variants = [("memory", base), ("file", base + ["--store", db])]

def run(label, argv):
    for sfx in ("", "-wal", "-shm"):
        try:
            os.unlink(db + sfx)
        except FileNotFoundError:
            pass
    with open(d + "/events.jsonl", "wb") as out, \
         open(d + "/err.log", "wb") as err:
        t = time.monotonic()
        p = subprocess.Popen(argv + [d + "/stream.jsonl"], stdout=out,
                             stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t
    if status != 0:
        sys.exit("eval %s: status %d: %s" % (label, status,
                                             open(d + "/err.log").read()))
    got = sum(1 for _ in open(d + "/events.jsonl", "rb"))
    if abs(got - want) > want // 100 + 1:
        sys.exit("eval %s: %d events, expected about %d" % (label, got, want))
    return wall, ru.ru_utime + ru.ru_stime

best = {}
for _ in range(runs):
    for label, argv in variants:
        w, c = run(label, argv)
        bw, bc = best.get(label, (w, c))
        best[label] = (min(w, bw), min(c, bc))
(mw, mc), (fw, fc) = best["memory"], best["file"]
print("eval: %.0f samples/s with the in-memory store (%d lines, %d events, "
      "%.2f s, %.2f s CPU)" % (n / mw, n, want, mw, mc))
print("eval: %.0f samples/s with --store file.db (%.2f s, %.2f s CPU)"
      % (n / fw, fw, fc))
print("eval: store file costs %+.1f%% of time (ratio %.2f, target <= 1.20; "
      "CPU ratio %.2f)" % ((fw / mw - 1) * 100, fw / mw, fc / mc))
PYEOF
