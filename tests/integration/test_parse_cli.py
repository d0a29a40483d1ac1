#!/usr/bin/python3
# test_parse_cli.py - `tocsin parse` end to end: mixed-format input through
# stdin and files, the JSON lines on stdout, FILE:LINE: reasons and the
# summary on stderr, and the exit codes (0, 1 missing file/directory/--strict,
# 2 usage). Run by tests/integration/run.sh with $TOCSIN set.
import json
import os
import subprocess
import time
import sys

TOCSIN = os.environ["TOCSIN"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(args, stdin=None):
    p = subprocess.run([TOCSIN, "parse"] + args, input=stdin,
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def samples(out):
    return [json.loads(l) for l in out.splitlines() if l.strip()]


MIXED = "\n".join([
    '{"metric":"cpu","labels":{"host":"a"},"value":0.93,"ts":1767225600.5}',
    'cpu,host=b usage=0.5,idle=0.25 1767225600500000000',
    '# TYPE http_requests_total counter',
    'http_requests_total{code="200",path="/a\\"b"} 1027 1767225600500',
    'servers.c.cpu 0.75 1767225600',
    'api.latency:120|ms|#service:api,canary',
    'this is not a metric line',
    'temp value=21',
    'x NaN',
    '',
]) + "\n"

# 1. Mixed formats on stdin, guessed per line.
rc, out, err = run([], MIXED.encode())
check(rc == 0, "stdin: exit 0 despite rejected lines")
got = samples(out)
check(got[0] == {"metric": "cpu", "labels": {"host": "a"}, "value": 0.93,
                 "ts": 1767225600.5}, "json line printed as given")
check(list(json.loads(out.splitlines()[0]).keys()) ==
      ["metric", "labels", "value", "ts"], "keys in metric,labels,value,ts order")
check(got[1] == {"metric": "cpu_usage", "labels": {"host": "b"},
                 "value": 0.5, "ts": 1767225600.5}, "influx field 1")
check(got[2]["metric"] == "cpu_idle" and got[2]["value"] == 0.25,
      "influx field 2")
check(got[3] == {"metric": "http_requests_total",
                 "labels": {"code": "200", "path": '/a"b'}, "value": 1027,
                 "ts": 1767225600.5}, "prom line with escaped label")
check(got[4] == {"metric": "servers.c.cpu", "labels": {}, "value": 0.75,
                 "ts": 1767225600}, "graphite line")
now = time.time()
arrival = [got[5].pop("ts"), got[6].pop("ts")]
check(all(isinstance(t, (int, float)) and abs(t - now) < 60 for t in arrival),
      "lines without a timestamp take their arrival time (%s)" % arrival)
# A tag without a value is no label (statsd_exporter does not take them).
check(got[5] == {"metric": "api.latency",
                 "labels": {"service": "api"}, "value": 120},
      "statsd line: %r" % got[5])
check(got[6] == {"metric": "temp", "labels": {}, "value": 21},
      "influx value field keeps the measurement name")
check(len(got) == 7, "seven samples (got %d)" % len(got))
check("<stdin>:7: " in err, "rejected line 7 reported as <stdin>:7")
check("<stdin>:9" not in err,
      "NaN (valid Prometheus text) is not a rejected line")
last = err.strip().splitlines()[-1]
check(last.startswith("parse: 7 samples, 1 lines rejected (line 7: "),
      "summary counts and line numbers: " + last)
check(last.endswith(", 1 NaN/Inf value skipped"),
      "the NaN sample is counted as skipped: " + last)

# Graphite: carbon drops a NaN value (collectd sends "nan"); so does tocsin,
# counting it, while a value out of range is still a rejected line.
rc, out, err = run(["--format", "graphite"],
                   b"collectd.a.load nan 1767225600\n"
                   b"collectd.a.load 0.5 1767225600\n"
                   b"collectd.a.load 1e999 1767225600\n")
last = err.strip().splitlines()[-1]
check([s["value"] for s in samples(out)] == [0.5] and
      last.startswith("parse: 1 samples, 1 lines rejected (line 3: ") and
      last.endswith(", 1 NaN/Inf value skipped"),
      "graphite nan skipped and counted, 1e999 rejected: " + last)

# 2. Files, "-" for stdin, options after the files, -c ignored.
with open("a.prom", "w") as f:
    f.write("up 1\nup{job=\"x\"} 0 1767225600000\n")
with open("b.txt", "w") as f:
    f.write("ok.metric 1\nbroken{ 1\nlast.metric 2\n")
rc, out, err = run(["a.prom", "b.txt", "-", "-c", "nonexistent.yaml",
                    "--format", "auto"], b"hits:2|c|@0.5\n")
check(rc == 0, "files: exit 0")
got = samples(out)
check([s["metric"] for s in got] ==
      ["up", "up", "ok.metric", "last.metric", "hits"],
      "files then stdin in order: %s" % [s["metric"] for s in got])
check(got[4]["value"] == 4, "statsd counter divided by its sample rate")
check("b.txt:2: " in err, "rejection names the file and line: b.txt:2")
check("parse: 5 samples, 1 lines rejected" in err, "summary over all inputs")

# 3. An explicit format turns guessing off.
rc, out, err = run(["--format", "prom"], b"hits:1|c\nup 1\n")
check(rc == 0 and len(samples(out)) == 1, "--format prom: one sample")
check("<stdin>:1: " in err, "--format prom rejects the statsd line")
rc, out, err = run(["--format=json"], b'{"metric":"m","value":1}\n')
check(rc == 0 and samples(out)[0]["metric"] == "m", "--format=json form")

# 4. An over-long line in the middle keeps the numbers after it.
with open("long.txt", "w") as f:
    f.write("a.b 1\n" + "x" * 70000 + "\nbad line here\nc.d 2\n")
rc, out, err = run(["long.txt"])
check(rc == 0 and [s["metric"] for s in samples(out)] == ["a.b", "c.d"],
      "over-long line skipped, neighbours kept")
check("long.txt:2: line too long" in err, "over-long line reported as line 2")
check("long.txt:3: " in err, "line after it is still line 3")

# 5. Missing file and directory: exit 1 with a line naming it, then the
# summary of what was read before it.
rc, out, err = run(["does-not-exist.txt"])
check(rc == 1, "missing file: exit 1")
lines = err.strip().splitlines()
check(len(lines) == 2 and "does-not-exist.txt" in lines[0]
      and lines[1] == "parse: 0 samples, 0 lines rejected",
      "missing file: one line naming it, then the summary")
os.mkdir("adir")
rc, out, err = run(["adir"])
check(rc == 1 and "adir" in err and len(err.strip().splitlines()) == 2,
      "directory: exit 1 with one line and the summary")
with open("ok.prom", "w") as f:
    f.write("up 1\nup{x=\"1\"} 2\nnot a line\n")
rc, out, err = run(["ok.prom", "does-not-exist.txt"])
check(rc == 1 and len(samples(out)) == 2
      and err.strip().splitlines()[-1].startswith(
          "parse: 2 samples, 1 lines rejected (line ok.prom:3: "),
      "a file before the missing one is counted in the summary: " + err)
# Reasons A, B, A past the five lines kept: the summary still says more.
rc, out, err = run(["--format", "prom"],
                   b'm{a=1} 1\nm{__name__="x"} 1\n' + b"m{a=1} 1\n" * 5)
last = err.strip().splitlines()[-1]
check(last.startswith("parse: 0 samples, 7 lines rejected (line 1: ")
      and last.endswith("; ...)"), "more rejections than listed: " + last)

# 6. --strict stops at the first malformed line with exit 1.
rc, out, err = run(["--strict"], b"up 1\nnope\nup 2\n")
check(rc == 1, "--strict: exit 1")
check(len(samples(out)) == 1, "--strict: nothing after the bad line")
check("<stdin>:2: " in err, "--strict: reason for line 2")
rc, out, err = run(["--strict"], b"up 1\nup 2\n")
check(rc == 0 and len(samples(out)) == 2, "--strict on clean input: exit 0")

# 7. Usage errors and help.
rc, out, err = run(["--bogus"])
check(rc == 2 and "--bogus" in err, "unknown option: exit 2")
rc, out, err = run(["--format", "csv"])
check(rc == 2 and "csv" in err, "unknown format: exit 2")
rc, out, err = run(["--format"])
check(rc == 2, "--format without a value: exit 2")
rc, out, err = run(["--help"])
check(rc == 0 and "usage: tocsin parse" in out, "--help: usage on stdout")

# 8. Empty input.
rc, out, err = run([], b"")
check(rc == 0 and out == "" and "parse: 0 samples, 0 lines rejected" in err,
      "empty input: zero counts")

# 9. A StatsD gauge delta in a later file moves the value an earlier file
# set, as in one concatenated stream.
with open("g1.txt", "w") as f:
    f.write("pool:5|g|#a:1,b:2\n")
with open("g2.txt", "w") as f:
    f.write("pool:+10|g|#b:2,a:1\n")
rc, out, err = run(["g1.txt", "g2.txt"])
check(rc == 0 and [x["value"] for x in samples(out)] == [5, 15],
      "gauge delta across files and tag orders: 5 then 15 (%s)" % out)

# 10. A UTF-8 byte order mark before the first line is no part of it, with
# the format guessed; a CRLF line's CR does not count against the limit.
rc, out, err = run([], b'\xef\xbb\xbf{"metric":"bom","value":1,"ts":5}\r\n'
                   b'up 2 5000\r\n')
check(rc == 0 and [x["metric"] for x in samples(out)] == ["bom", "up"],
      "BOM and CRLF: both lines read (%s)" % err.strip())
long_line = (b'{"metric":"m","value":1,"ts":5,"labels":{"k":"'
             + b"v" * (65536 - 49) + b'"}}')
assert len(long_line) == 65536
rc, out, err = run([], long_line + b"\r\n" + long_line + b"\n")
check(rc == 0 and len(samples(out)) == 2,
      "a 64 KiB line is read with CRLF as with LF (%s)" % err.strip()[:200])

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("all parse CLI checks passed")
