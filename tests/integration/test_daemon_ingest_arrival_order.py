"""Samples without a timestamp take their arrival time (SPEC section 3),
and two of them of one series are never late behind each other, whatever
order their requests finish parsing in: client A posts a 300,000-line body
whose last line is `reqs 1`, client B then posts `reqs 1` alone; B's small
body is parsed and evaluated while A's is still being parsed. Both are
answered 204, neither sample is dropped as late, and a count of 2 fires
the rule. Then eight clients post 50 `reqs 1` each at once: every one is
counted. Real sockets to a real `tocsin run` on 127.0.0.1."""
import os
import re
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config  # noqa: E402

RULES = """rules:
  - name: c
    metric: reqs
    window: 1h
    aggregate: count
    severity:
      warning: {above: 1}
      critical: {above: 401}
"""


def metric(d, name):
    m = re.search(r"^%s(?:\{[^}]*\})? (\d+)" % re.escape(name), d.metrics(),
                  re.M)
    return int(m.group(1)) if m else 0


def post_raw(port, body):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(b"POST /api/v1/ingest?format=prom HTTP/1.1\r\nHost: t\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return s


def status(s):
    head = b""
    while b"\r\n" not in head:
        chunk = s.recv(256)
        if not chunk:
            break
        head += chunk
    s.close()
    parts = head.split(b" ")
    return int(parts[1]) if len(parts) > 1 else 0


d = Daemon(".", config(RULES)).start()
try:
    big = ("".join('other{i="%d"} 1\n' % i for i in range(300000))
           + "reqs 1\n").encode()
    a = post_raw(d.port, big)
    b = post_raw(d.port, b"reqs 1\n")
    sa, sb = status(a), status(b)
    check(sa == 204 and sb == 204, "both answered 204 (%d, %d)" % (sa, sb))
    check(metric(d, "tocsin_samples_late_total") == 0,
          "no sample judged late: %d"
          % metric(d, "tocsin_samples_late_total"))
    al = d.alerts()
    check(len(al) == 1 and al[0]["severity"] == "warning",
          "both counted: the rule fires (%s)" % al)

    def client():
        for _ in range(50):
            st, _ = d.ingest("reqs 1\n", fmt="prom")
            if st != 204:
                errors.append(st)
    errors = []
    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    check(not errors, "every concurrent request answered 204: %s" % errors[:5])
    check(metric(d, "tocsin_samples_late_total") == 0,
          "none of the 400 concurrent samples late: %d"
          % metric(d, "tocsin_samples_late_total"))
    al = d.alerts()
    check(len(al) == 1 and al[0]["severity"] == "critical",
          "402 samples counted: critical (%s)" % al)
finally:
    d.stop()
print("ok")
