# spec_common.py - helpers shared by the test_spec_*.py SPEC conformance tests:
# run the binary ($TOCSIN), write configs, replay streams through eval, and
# collect pass/fail checks. Imported by test_spec_*.py only.
import json, os, subprocess, sys, tempfile

T = os.environ["TOCSIN"]
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def run(args, stdin="", cwd=None, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([T] + list(args), input=stdin, capture_output=True,
                          text=True, cwd=cwd or os.getcwd(), env=e, timeout=60)


def write(path, text):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def J(metric, value, ts, **labels):
    return json.dumps({"metric": metric, "labels": labels, "value": value, "ts": ts})


def events(cfg, lines, args=()):
    """Write cfg to a fresh folder, eval lines through it; (rc, events, stderr)."""
    d = tempfile.mkdtemp(dir=os.getcwd())
    write(d + "/tocsin.yaml", cfg)
    p = run(["eval", "-c", d + "/tocsin.yaml"] + list(args),
            stdin="".join(l + "\n" for l in lines), cwd=d)
    out = []
    for l in p.stdout.splitlines():
        try:
            out.append(json.loads(l))
        except ValueError:
            out.append({"unparsable": l})
    return p.returncode, out, p.stderr


def finish():
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)
