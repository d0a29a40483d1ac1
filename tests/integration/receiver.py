"""receiver.py - real receivers for tocsin's delivery integration tests.

HttpReceiver: a ThreadingHTTPServer on 127.0.0.1:0 that records every request
(method, path, headers, body, arrival time) in memory and to a JSON-lines file,
and answers from a per-path script of responses (status, body, headers,
delay, cut: hang up mid-body). SmtpReceiver: an aiosmtpd server on 127.0.0.1 recording each message
(envelope and raw bytes), with optional AUTH checking. Used by
tests/integration/test_delivery_*.py; also runnable alone:

    /usr/bin/python3 receiver.py --log requests.jsonl --port-file port \
        --script '{"/hook": [{"status": 500}, {"status": 200, "body": "ok"}]}'
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_RESPONSE = {"status": 200, "body": "ok"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY each
    # answer waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet
        pass

    def _handle(self):
        rcv = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rec = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "t": time.monotonic(),
        }
        resp = rcv._record_and_pick(rec)
        delay = float(resp.get("delay", 0))
        if delay > 0:
            # A slow answer: the client is expected to time out first.
            time.sleep(delay)
        out = resp.get("body", "").encode()
        try:
            self.send_response(int(resp.get("status", 200)))
            for k, v in resp.get("headers", {}).items():
                self.send_header(k, str(v))
            self.send_header("Content-Type", "text/plain")
            # "cut": promise more than is sent, then hang up mid-body
            self.send_header("Content-Length",
                             str(len(out) + (100 if resp.get("cut") else 0)))
            self.end_headers()
            self.wfile.write(out)
            if resp.get("cut"):
                self.wfile.flush()
                self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_POST = _handle
    do_PUT = _handle
    do_GET = _handle


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a burst of new connections
    # past it has its SYNs dropped and retried by the kernel a second later,
    # which looks like a delivery held back.
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A client that went away mid-request (a killed tocsin) is part of
        # what the tests do, not an error worth a traceback in their log.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class HttpReceiver:
    """Records requests; answers per path from script (lists of responses;
    the last one repeats once the list is used up). tls=(certfile, keyfile):
    HTTPS instead of HTTP."""

    def __init__(self, script=None, log_path=None, tls=None):
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.log_path = log_path
        self.requests = []
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.receiver = self
        self.port = self.server.server_address[1]
        self._thread = None
        self.scheme = "http"
        if tls:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket,
                                                 server_side=True)
            self.scheme = "https"

    def url(self, path="/hook"):
        return "%s://127.0.0.1:%d%s" % (self.scheme, self.port, path)

    def _record_and_pick(self, rec):
        with self._cv:
            self.requests.append(rec)
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            path = rec["path"].split("?")[0]
            seq = self.script.get(path)
            if not seq:
                resp = DEFAULT_RESPONSE
            elif len(seq) > 1:
                resp = seq.pop(0)
            else:
                resp = seq[0]
            self._cv.notify_all()
            return resp

    def start(self):
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, n, timeout=20.0, path=None):
        """Wait until at least n requests (to path, if given) arrived;
        returns them. Bounded by timeout."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                got = [r for r in self.requests
                       if path is None or r["path"] == path]
                left = deadline - time.monotonic()
                if len(got) >= n or left <= 0:
                    return got
                self._cv.wait(left)

    def on(self, path):
        with self._lock:
            return [r for r in self.requests if r["path"] == path]


def free_port():
    """A port free right now on 127.0.0.1 (for servers that cannot bind 0)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1 recording every message: {"mail_from",
    "rcpt_tos", "data" (bytes)}. With username/password, AUTH PLAIN/LOGIN is
    required and checked (without TLS, for tests). tls=(certfile, keyfile):
    the server offers STARTTLS and requires it before MAIL. refuse:
    {address: "550 reply"} refuses those recipients. stall: seconds the
    first DATA waits before it is answered (a server that stopped)."""

    def __init__(self, username=None, password=None, out_dir=None, tls=None,
                 refuse=None, stall=0):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages = []
        self.stall = stall
        self.auth_attempts = []
        self.out_dir = out_dir
        self._cv = threading.Condition()
        outer = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address,
                                  rcpt_options):
                # refuse: {address: "550 reply"} answers those RCPTs so.
                if refuse and address in refuse:
                    return refuse[address]
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                if outer.stall > 0:
                    import asyncio
                    wait, outer.stall = outer.stall, 0
                    await asyncio.sleep(wait)
                    return "451 4.3.0 too late"
                msg = {"mail_from": envelope.mail_from,
                       "rcpt_tos": list(envelope.rcpt_tos),
                       "data": envelope.original_content or envelope.content}
                with outer._cv:
                    outer.messages.append(msg)
                    if outer.out_dir:
                        n = len(outer.messages)
                        with open(os.path.join(outer.out_dir,
                                               "mail-%d.eml" % n), "wb") as f:
                            f.write(msg["data"])
                        with open(os.path.join(outer.out_dir,
                                               "mail-%d.json" % n), "w") as f:
                            json.dump({"mail_from": msg["mail_from"],
                                       "rcpt_tos": msg["rcpt_tos"]}, f)
                    outer._cv.notify_all()
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, data):
            login = getattr(data, "login", b"")
            pw = getattr(data, "password", b"")
            if isinstance(login, bytes):
                login = login.decode()
            if isinstance(pw, bytes):
                pw = pw.decode()
            outer.auth_attempts.append((mechanism, login))
            ok = login == username and pw == password
            return AuthResult(success=ok)

        kwargs = {}
        if username is not None:
            kwargs = {"authenticator": authenticator, "auth_required": True,
                      "auth_require_tls": False}
        if tls:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            kwargs.update({"tls_context": ctx, "require_starttls": True})
        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1",
                                     port=self.port, **kwargs)

    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def wait_for(self, n, timeout=20.0):
        deadline = time.monotonic() + timeout
        with self._cv:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)
            return list(self.messages)


# --- helpers shared by the tests ---

def tocsin():
    return os.environ["TOCSIN"]


def run_tocsin(args, timeout=120, env=None):
    """Run $TOCSIN with args; returns CompletedProcess (text)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([tocsin()] + args, capture_output=True, text=True,
                          timeout=timeout, env=e)


def read_lines(proc, n, timeout=30.0):
    """The next n lines of proc's stdout, each with its newline, waiting at
    most timeout seconds in all (the process may keep running); fewer if
    its stdout ends or the time passes. Bytes after the n-th line are kept
    for the next call."""
    deadline = time.monotonic() + timeout
    buf, fd = getattr(proc, "unread", b""), proc.stdout.fileno()
    while buf.count(b"\n") < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
    parts = buf.split(b"\n")
    k = min(n, len(parts) - 1)
    proc.unread = b"\n".join(parts[k:])
    return [x.decode() + "\n" for x in parts[:k]]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


T0 = 1767225600

RULE_YAML = """
rules:
  - name: api_p90_latency
    metric: lat
    by: [service]
    severity:
      warning: {above: 200}
      critical: {above: 500}
    labels: {team: web}
    annotations:
      summary: "p90 latency {{ value }} ms on {{ labels.service }}"
"""


def stream(points, path="stream.jsonl"):
    """Write a JSON-lines stream of (service, value, ts) for metric lat."""
    with open(path, "w") as f:
        for svc, value, ts in points:
            f.write(json.dumps({"metric": "lat", "labels": {"service": svc},
                                "value": value, "ts": ts}) + "\n")
    return path


def eval_notify(cfg="cfg.yaml", store="store.db", streams=("stream.jsonl",),
                timeout=120):
    """tocsin eval --notify over the stream into a store file."""
    p = run_tocsin(["eval", "--notify", "-c", cfg, "--store", store] +
                   list(streams), timeout=timeout)
    print("eval exit %d; stderr:\n%s" % (p.returncode, p.stderr), flush=True)
    return p


def standard_webhooks_verify(secret, headers, body):
    """Verify like the official standard-webhooks python library: strip
    whsec_, base64-decode the key, HMAC-SHA256 over id.timestamp.body,
    base64, compare against each "v1,<sig>" of the space-separated list."""
    key = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    key = base64.b64decode(key)
    msg_id = headers["webhook-id"]
    ts = headers["webhook-timestamp"]
    to_sign = ("%s.%s.%s" % (msg_id, ts, body)).encode()
    expected = base64.b64encode(
        hmac.new(key, to_sign, hashlib.sha256).digest()).decode()
    for part in headers["webhook-signature"].split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


def check(cond, what):
    """Print what was checked; exit 1 on failure."""
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        sys.exit(1)


def outbox_rows(store_path):
    """Outbox rows of a store file: list of dicts (receiver, status,
    attempts, last_code, last_error, key) read with sqlite3."""
    import sqlite3
    con = sqlite3.connect(store_path)
    con.row_factory = sqlite3.Row
    cols = [r[1] for r in con.execute("PRAGMA table_info(outbox)")]
    rows = [dict(r) for r in con.execute("SELECT * FROM outbox ORDER BY id")]
    con.close()
    for r in rows:
        st = r.get("status")
        if isinstance(st, int):
            r["status"] = ["pending", "sent", "failed", "silenced",
                           "skipped"][st]
    return rows, cols


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", help="JSON-lines file of requests")
    ap.add_argument("--port-file", help="write the port here")
    ap.add_argument("--script", default="{}",
                    help='{"/path": [{"status": 500}, ...]}')
    a = ap.parse_args()
    r = HttpReceiver(json.loads(a.script), a.log).start()
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(r.port))
        os.rename(a.port_file + ".tmp", a.port_file)
    print(r.port, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        r.stop()


if __name__ == "__main__":
    main()
