"""The daemon's HTTP ingest in every format: 204, then the alert is listed by
GET /api/v1/alerts and the webhook receiver gets it; a body with bad lines
gets 400 with the rejected line numbers while its good lines still count."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check, config,  # noqa: E402
                            wait_until, webhook_notifier)

rcv = HttpReceiver().start()
cfg = config(CPU_RULE, webhook_notifier(rcv.url()),
             "defaults:\n  notify: [hook]\n")
d = Daemon(".", cfg).start()
now = time.time()
ms = int(now * 1000)
ns = int(now * 1e9)
cases = [
    ("json", None, '{"metric":"cpu","labels":{"host":"j"},"value":95,'
     '"ts":%.3f}\n' % now),
    ("influx", None, "cpu,host=i value=95 %d\n" % ns),
    ("prom", None, 'cpu{host="p"} 95 %d\n' % ms),
    ("graphite", None, "cpu 95 %d\n" % int(now)),
    ("statsd", None, "cpu:95|g|#host:s\n"),
    (None, "application/json", '{"metric":"cpu","labels":{"host":"ct"},'
     '"value":97}\n'),
    (None, "text/plain; version=0.0.4", 'cpu{host="ctp"} 96\n'),
]
for fmt, ctype, body in cases:
    st, text = d.ingest(body, fmt=fmt, ctype=ctype)
    check(st == 204, "ingest as %s answers 204 (got %d %s)"
          % (fmt or ctype, st, text.strip()))

hosts = {"j", "i", "p", "s", "ct", "ctp"}
alerts = d.alerts()
firing = {a["labels"].get("host", "") for a in alerts
          if a["rule"] == "cpu_high"}
check(hosts <= firing, "every format's alert is in /api/v1/alerts "
      "right after its 204 (%s)" % sorted(firing))
check("" in firing, "graphite's label-less sample forms its own series")
check(all(a["severity"] == "critical" for a in alerts),
      "alerts carry their severity")

# The webhook receiver hears each alert (Alertmanager payload).
def delivered():
    got = set()
    for r in rcv.requests:
        try:
            for a in json.loads(r["body"]).get("alerts", []):
                got.add(a["labels"].get("host", ""))
        except ValueError:
            pass
    return hosts <= got and got

check(bool(wait_until(delivered, 30)), "the webhook receiver got every "
      "format's alert")

# A body with two bad lines among good ones.
body = ('{"metric":"cpu","labels":{"host":"b1"},"value":99}\n'
        'this is not json\n'
        '{"metric":"cpu","labels":{"host":"b2"},"value":99}\n'
        '{"metric":"cpu","value":"NaN-ish"}\n'
        '{"metric":"cpu","labels":{"host":"b3"},"value":1}\n')
st, text = d.ingest(body, fmt="json")
check(st == 400, "a body with bad lines answers 400 (got %d)" % st)
j = json.loads(text)
check(isinstance(j, list) and [r["line"] for r in j] == [2, 4],
      "the body is a JSON list of the rejected lines 2 and 4 (%s)" % j)
check(all(r["reason"] for r in j), "each rejection has a reason")
firing = {a["labels"].get("host") for a in d.alerts()}
check({"b1", "b2"} <= firing, "the accepted lines of a 400 still fired")
m = d.metrics()
check('tocsin_samples_rejected_total{input="http"} 2' in m,
      "/metrics counts the 2 rejected lines")

# A UTF-8 byte order mark and CRLF line ends, with the format guessed.
st, text = d.request("POST", "/api/v1/ingest",
                     b'\xef\xbb\xbf{"metric":"cpu","labels":{"host":"bom"},'
                     b'"value":99}\r\ncpu,host=crlf value=99\r\n')
check(st == 204, "a body with a BOM and CRLF answers 204 (got %d %s)"
      % (st, text))
st, _ = d.ingest("cpu 1 1\n", fmt="nonsense")
check(st == 400, "an unknown ?format= is a 400")
check(d.request("GET", "/nope")[0] == 404, "unknown path: 404")
check(d.request("GET", "/api/v1/ingest")[0] == 405, "GET on ingest: 405")
check(d.request("PUT", "/api/v1/alerts", "x")[0] == 405,
      "PUT on alerts: 405")
# A compressed body is refused as such (415), not read as junk lines.
import gzip  # noqa: E402
st, text = d.request("POST", "/api/v1/ingest?format=prom",
                     gzip.compress(b'cpu{host="gz"} 99\n'),
                     {"Content-Encoding": "gzip"})
check(st == 415 and "Content-Encoding" in text,
      "a gzip body is answered 415 (got %d %s)" % (st, text))
check("gz" not in {a["labels"].get("host") for a in d.alerts()},
      "and nothing of it is ingested")
# OpenMetrics stamps in seconds: refused, not read as milliseconds.
st, text = d.request("POST", "/api/v1/ingest",
                     b'cpu{host="om"} 99 1767225600\n# EOF\n',
                     {"Content-Type": "application/openmetrics-text; "
                      "version=1.0.0; charset=utf-8"})
check(st == 415 and "OpenMetrics" in text,
      "an OpenMetrics body is answered 415 (got %d %s)" % (st, text))
check("om" not in {a["labels"].get("host") for a in d.alerts()},
      "and nothing of it is ingested")
st, text = d.request("GET", "/healthz")
check(st == 200 and text.strip() == "ok", "/healthz answers 200 ok")
rc = d.stop()
check(rc == 0, "SIGTERM exits 0 (got %s)" % rc)
rcv.stop()
