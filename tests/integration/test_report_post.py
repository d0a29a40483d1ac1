#!/usr/bin/python3
# Integration: `tocsin report --post NOTIFIER` delivers the report payload to
# a real loopback HTTP receiver (a webhook notifier pointing at a tiny
# http.server that records each body): the JSON report arrives, the account
# is printed, a receiver answering 503 with Retry-After is tried again with
# the same webhook-id (SPEC section 7 retries every delivery), one answering
# 400 makes the command exit 1 after one attempt, and an unknown notifier
# name exits 1.
import http.server
import json
import os
import subprocess
import sys
import threading

TOCSIN = os.environ["TOCSIN"]
T0 = 1767225600  # 2026-01-01T00:00:00Z

bodies = []
answer = {"code": 200, "first": None}  # first: the next request's answer
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with lock:
            bodies.append((self.path, dict(self.headers), body))
            code = answer["first"] or answer["code"]
            answer["first"] = None
        self.send_response(code)
        if code == 503:
            self.send_header("Retry-After", answer.get("after", "1"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def expect(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def run(*args):
    return subprocess.run([TOCSIN] + list(args), capture_output=True,
                          text=True, timeout=120)


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with open("tocsin.yaml", "w") as f:
        f.write("""\
store: t.db
notifiers:
  hook:
    type: webhook
    url: http://127.0.0.1:%d/hook
    max_retry_time: 5s
rules:
  - name: flappy
    metric: temp
    severity:
      warning: {above: 80}
""" % port)
    with open("s.jsonl", "w") as f:
        for i, v in enumerate([90, 70, 90, 70, 90]):
            f.write(json.dumps({"metric": "temp", "value": v,
                                "ts": T0 + 60 * i}) + "\n")
    p = run("eval", "-c", "tocsin.yaml", "--store", "t.db", "s.jsonl")
    expect(p.returncode == 0, "eval filled the store: %s" % p.stderr)

    p = run("report", "-c", "tocsin.yaml", "--since", "2026-01-01T00:00:00Z",
            "--until", "2026-01-02T00:00:00Z", "--post", "hook")
    expect(p.returncode == 0, "report --post exits 0 (%s %s)"
           % (p.stdout, p.stderr))
    expect(p.stdout.strip() != "", "the account is printed: %r" % p.stdout)
    with lock:
        got = list(bodies)
    expect(len(got) == 1, "the receiver got one request")
    path, headers, body = got[0]
    expect(path == "/hook", "posted to the configured path")
    doc = json.loads(body)
    # The webhook sends the report's JSON object (or the whole payload).
    rep = doc.get("report", doc)
    if isinstance(rep, dict) and "json" in rep:
        rep = rep["json"]
    expect(rep["since"] == T0 and rep["until"] == T0 + 86400,
           "the report period arrived")
    expect([r["rule"] for r in rep["rules"]] == ["flappy"],
           "the rules arrived")
    r = rep["rules"][0]
    expect(r["fired"] == 3 and r["resolved"] == 2 and r["flapping"] == 2,
           "the figures arrived (fired 3, resolved 2, flapping 2)")

    with lock:
        bodies.clear()
        answer["first"] = 503
    p = run("report", "-c", "tocsin.yaml", "--since", "2026-01-01T00:00:00Z",
            "--until", "2026-01-02T00:00:00Z", "--post", "hook")
    expect(p.returncode == 0, "a 503 with Retry-After is retried, then "
           "delivered (%s %s)" % (p.stdout, p.stderr))
    with lock:
        got = list(bodies)
    expect(len(got) == 2, "two requests: %d" % len(got))
    ids = [h.get("webhook-id") for _, h, _ in got]
    expect(ids[0] and ids[0] == ids[1], "the retry has the same webhook-id")
    expect(ids[0] and ids[0].startswith("msg_report_"),
           "a report's webhook-id says it is one (%s)" % ids[0])
    expect("retry in" in p.stderr, "the retry is logged: %r" % p.stderr)

    # A Retry-After past the notifier's max_retry_time (5s) ends it at
    # once, saying so.
    with lock:
        bodies.clear()
        answer["code"], answer["after"] = 503, "60"
    p = run("report", "-c", "tocsin.yaml", "--since", "2026-01-01T00:00:00Z",
            "--until", "2026-01-02T00:00:00Z", "--post", "hook")
    with lock:
        n = len(bodies)
    expect(p.returncode == 1 and n == 1 and "past the retry budget" in
           p.stderr and "would be retried" not in p.stderr,
           "a Retry-After past the budget ends it at once, saying why (%d, "
           "%d requests, %s)" % (p.returncode, n, p.stderr.strip()))

    with lock:
        bodies.clear()
        answer["code"] = 400
    p = run("report", "-c", "tocsin.yaml", "--since", "2026-01-01T00:00:00Z",
            "--until", "2026-01-02T00:00:00Z", "--post", "hook")
    expect(p.returncode == 1, "a receiver answering 400 gives exit 1 (%s)"
           % p.stderr.strip())
    with lock:
        expect(len(bodies) == 1, "a 400 is not retried")

    p = run("report", "-c", "tocsin.yaml", "--post", "nobody")
    expect(p.returncode == 1 and "nobody" in p.stderr,
           "an unknown notifier gives exit 1 and names it")
    srv.shutdown()
    print("test_report_post: all passed")


if __name__ == "__main__":
    main()
