# test_spec_formats.py - SPEC section 3 (input formats) through `tocsin parse`:
# each format's example line from the SPEC table and its notes (json ts as
# number or RFC 3339; influx naming, ns timestamps, i/u, booleans, strings
# skipped; prom ms timestamps, HELP/TYPE, histogram/summary series; graphite;
# statsd with DogStatsD tags), rejection without stopping, late samples.
# Run by tests/integration/run.sh with $TOCSIN set.
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spec_common import check, run, write, J, events, finish


def parse(text, fmt=None):
    args = ["parse"] + (["--format", fmt] if fmt else [])
    p = run(args, stdin=text)
    return p.returncode, [json.loads(l) for l in p.stdout.splitlines()], p.stderr


def strip_ts(s):
    return {k: v for k, v in s.items() if k != "ts"}


# The SPEC table's example lines, explicit format and guessed.
EX = {
    "json": ('{"metric":"cpu","labels":{"host":"a"},"value":0.93,"ts":1767225600.5}',
             [{"metric": "cpu", "labels": {"host": "a"}, "value": 0.93, "ts": 1767225600.5}]),
    "influx": ("cpu,host=a usage=0.93,idle=0.07 1767225600500000000",
               [{"metric": "cpu_usage", "labels": {"host": "a"}, "value": 0.93, "ts": 1767225600.5},
                {"metric": "cpu_idle", "labels": {"host": "a"}, "value": 0.07, "ts": 1767225600.5}]),
    "prom": ('cpu_usage{host="a"} 0.93 1767225600500',
             [{"metric": "cpu_usage", "labels": {"host": "a"}, "value": 0.93, "ts": 1767225600.5}]),
    "graphite": ("servers.a.cpu 0.93 1767225600",
                 [{"metric": "servers.a.cpu", "labels": {}, "value": 0.93, "ts": 1767225600}]),
}
for fmt, (line, want) in EX.items():
    for f in (fmt, None):
        rc, got, err = parse(line + "\n", f)
        check(rc == 0 and got == want, "%s example (%s): %s" % (fmt, f or "guessed", got))
        if got:
            check(list(got[0].keys()) == ["metric", "labels", "value", "ts"],
                  "%s output keys are metric, labels, value, ts" % fmt)
for f in ("statsd", None):
    rc, got, err = parse("api.latency:123|ms|@0.5|#service:api\n", f)
    check(rc == 0 and [strip_ts(g) for g in got] ==
          [{"metric": "api.latency", "labels": {"service": "api"}, "value": 123}],
          "statsd example (%s), DogStatsD tag becomes a label: %s" % (f or "guessed", got))

# json: ts as RFC 3339.
rc, got, err = parse('{"metric":"a","labels":{},"value":1,"ts":"2026-01-01T00:00:00.5Z"}\n'
                     '{"metric":"a","labels":{},"value":2,"ts":"2026-01-01T01:00:00+01:00"}\n', "json")
check([g["ts"] for g in got] == [1767225600.5, 1767225600], "json RFC 3339 ts with fraction and offset")

# influx notes.
rc, got, err = parse("m,t=x value=1 1767225600000000000\n"
                     "m,t=x i=5i,u=6u,b=true,bf=F,s=\"text\",f=1.5e3 1767225600000000000\n", "influx")
names = {g["metric"]: g["value"] for g in got}
check(names.get("m") == 1, "influx field 'value' gives metric = measurement")
check(names.get("m_i") == 5 and names.get("m_u") == 6, "influx i/u integers")
check(names.get("m_b") == 1 and names.get("m_bf") == 0, "influx booleans as 1/0")
check("m_s" not in names and names.get("m_f") == 1500, "influx string field skipped, float kept")
check(rc == 0 and "rejected" in err and "0 lines rejected" in err, "influx string field is no rejection")
check(all(g["ts"] == 1767225600 for g in got), "influx ns timestamps")

# prom: HELP/TYPE, histogram and summary series.
PROM = """# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

metric_without_timestamp_and_labels 12.47
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
"""
rc, got, err = parse(PROM, "prom")
check(rc == 0 and len(got) == 11, "prom exposition: 11 samples (%d)" % len(got))
m = [g["metric"] for g in got]
check("http_request_duration_seconds_bucket" in m and "http_request_duration_seconds_sum" in m
      and "http_request_duration_seconds_count" in m, "histogram kept as _bucket/_sum/_count")
check("rpc_duration_seconds" in m and "rpc_duration_seconds_count" in m, "summary series kept")
check(got and got[0]["ts"] == 1395066363, "prom ms timestamp")
esc = [g for g in got if g["metric"] == "msdos_file_access_time_seconds"]
check(esc and esc[0]["labels"] == {"path": "C:\\DIR\\FILE.TXT", "error": 'Cannot find file:\n"FILE.TXT"'},
      "prom label escapes")
bk = [g for g in got if g["metric"] == "http_request_duration_seconds_bucket"]
check([b["labels"].get("le") for b in bk] == ["0.05", "+Inf"], "bucket le label kept")

# statsd kinds.
rc, got, err = parse("hits:1|c\nmem:5|g\nlat:12.5|ms\nsize:7|h\nreq:1|c|#env:prod,host:x\n", "statsd")
check(rc == 0 and [g["value"] for g in got] == [1, 5, 12.5, 7, 1], "statsd counter, gauge, timer, histogram")
check(got and got[-1]["labels"] == {"env": "prod", "host": "x"}, "statsd DogStatsD tags")

# Rejections are counted, never fatal, and never stop the lines after.
rc, got, err = parse("garbage\n" + EX["json"][0] + "\n{\"metric\":\"x\"\n" + EX["graphite"][0] + "\n")
check(rc == 0 and len(got) == 2, "bad lines rejected, good lines after them kept")
check("2 lines rejected" in err and "1" in err and "3" in err, "stderr counts 2 rejected with line numbers")

# Late samples: older than its own source's newest -> dropped and counted;
# in order for its source but behind another source -> kept.
cfg = """rules:
  - name: r
    metric: m
    window: 1m
    aggregate: count
    severity: {warning: {above: 2}}
"""
rc, ev, err = events(cfg, [J("m", 1, 100, src="a"), J("m", 1, 110, src="a"),
                           J("m", 1, 105, src="a"), J("m", 1, 104, src="b")])
check("1 late" in err, "a sample older than its own source's newest is late (%s)" % err.strip())
check(len(ev) == 1 and ev[0]["value"] == 3 and ev[0]["ts"] == 110,
      "an in-order sample of another source joins the window, evaluated at the newest time")
finish()
