"""An ordinary HTTP client that sends an oversized body without waiting for
"100 Continue" (Python's http.client) reads the 413 answer instead of
failing on a closed socket; a curl client, which waits, gets it at once.
The daemon keeps serving afterwards."""
import http.client
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config  # noqa: E402

d = Daemon(".", config(CPU_RULE)).start()
for size in (20 << 20, 40 << 20):
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=60)
    try:
        c.request("POST", "/api/v1/ingest?format=json", body=b"x" * size)
        r = c.getresponse()
        status, body = r.status, r.read()
    except OSError as ex:
        status, body = None, str(ex).encode()
    check(status == 413 and b"16 MiB" in body,
          "%d MiB from http.client is answered 413 (%s %r)" % (size >> 20, status, body[:60]))
with open("big.json", "wb") as f:
    f.write(b"x" * (20 << 20))
r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    "--data-binary", "@big.json",
                    "http://127.0.0.1:%d/api/v1/ingest?format=json" % d.port],
                   capture_output=True, text=True, timeout=60)
check(r.stdout == "413", "curl (Expect: 100-continue) gets 413 (%s)" % r.stdout)
st, _ = d.ingest('{"metric":"cpu","labels":{"host":"a"},"value":99}\n', fmt="json")
check(st == 204, "ingest still works afterwards")
check(d.stop() == 0, "SIGTERM exits 0")
