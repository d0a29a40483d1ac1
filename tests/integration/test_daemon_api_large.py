# slow: 20 MB of alerts; run plain, skipped under the sanitizers
"""GET /api/v1/alerts and GET /api/v1/silences list everything, however
long the answer: 20,000 firing alerts with 1 kB labels (about 20 MB of
JSON, past the 16 MiB that other answers are held to) come back 200 with
every alert, as `tocsin alerts --json` prints them; silences with 2 MB
comments too."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config  # noqa: E402

N = 20000
PAD = "x" * 1000
d = Daemon(".", config(CPU_RULE)).start()
for s in range(0, N, 2000):
    body = "".join('{"metric":"cpu","labels":{"host":"%s%06d"},"value":95}\n'
                   % (PAD, i) for i in range(s, s + 2000))
    st, text = d.ingest(body, fmt="json")
    check(st == 204, "batch at %d ingested (%d %s)" % (s, st, text[:200]))
st, body = d.request("GET", "/api/v1/alerts")
check(st == 200 and len(body) > (16 << 20),
      "a %d-byte alert list is answered 200 (%d)" % (len(body), st))
alerts = json.loads(body)
hosts = {a["labels"]["host"] for a in alerts}
check(len(alerts) == N and len(hosts) == N, "with all %d alerts (%d)"
      % (N, len(alerts)))
for i in range(9):
    st, text = d.request("POST", "/api/v1/silences", json.dumps(
        {"matchers": "host=none%d" % i, "for": "5m", "comment": "c" * 2000000}))
    check(st == 201, "silence %d with a 2 MB comment is taken (%d)" % (i, st))
st, body = d.request("GET", "/api/v1/silences")
check(st == 200 and len(json.loads(body)) == 9,
      "the 18 MB silence list is answered 200 with all 9 (%d)" % st)
check(d.stop() == 0, "SIGTERM exits 0")
