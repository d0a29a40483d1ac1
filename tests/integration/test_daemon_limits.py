"""The daemon's HTTP server against hostile clients: a 64 MiB body gets 413
(answered from Content-Length, without reading it all) while another
client's ingest still succeeds; 50 slow-header clients (one byte a second)
do not stop ingest; 600 clients that trickle header lines (more than the
512 connection slots) are closed at the header deadline, after which the
server answers others again; 600 clients that trickle a body are closed
at the body deadline; bodies held past the memory bound get 503."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config  # noqa: E402

d = Daemon(".", config(CPU_RULE)).start()

# --- 413 for a 64 MiB body, while another client ingests ---
result = {}


def big_upload():
    s = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    size = 64 << 20
    s.sendall(b"POST /api/v1/ingest?format=json HTTP/1.1\r\n"
              b"Host: x\r\nContent-Length: %d\r\n\r\n" % size)
    chunk = b"x" * (1 << 20)
    sent = 0
    try:
        while sent < size:
            s.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass  # the server answered and closed: expected
    result["sent"] = sent
    data = b""
    try:
        while b"\r\n" not in data:
            more = s.recv(4096)
            if not more:
                break
            data += more
    except OSError:
        pass
    result["status_line"] = data.split(b"\r\n", 1)[0].decode(errors="replace")
    s.close()


t = threading.Thread(target=big_upload)
t.start()
st, _ = d.ingest('{"metric":"cpu","labels":{"host":"small"},"value":99}\n',
                 fmt="json")
check(st == 204, "a small ingest succeeds while a 64 MiB upload is "
      "in progress (got %d)" % st)
t.join(60)
check(not t.is_alive(), "the oversized upload finished")
check(" 413 " in result.get("status_line", "") + " ",
      "the 64 MiB body is answered 413 (%r)" % result.get("status_line"))

# A chunked body past the limit also gets 413.
s = socket.create_connection(("127.0.0.1", d.port), timeout=60)
s.sendall(b"POST /api/v1/ingest?format=json HTTP/1.1\r\nHost: x\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n")
piece = b"y" * (1 << 20)
try:
    for _ in range(20):
        s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
    s.sendall(b"0\r\n\r\n")
except OSError:
    pass
data = b""
try:
    while b"\r\n" not in data:
        more = s.recv(4096)
        if not more:
            break
        data += more
except OSError:
    pass
s.close()
check(data.startswith(b"HTTP/1.1 413"), "a 20 MiB chunked body is answered "
      "413 (%r)" % data[:40])

# --- 50 slow-header clients ---
stop = threading.Event()
socks = []
for i in range(50):
    c = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    c.sendall(b"GET /healthz HTTP/1.1\r\n")
    socks.append(c)


def drip():
    n = 0
    while not stop.is_set() and n < 60:
        for c in socks:
            try:
                c.sendall(b"X")
            except OSError:
                pass
        n += 1
        stop.wait(1.0)


dt = threading.Thread(target=drip)
dt.start()
ok = 0
t0 = time.monotonic()
for i in range(10):
    st, _ = d.ingest('{"metric":"cpu","labels":{"host":"slow%d"},'
                     '"value":99}\n' % i, fmt="json")
    ok += st == 204
    stop.wait(0.3)
check(ok == 10, "10 ingests succeed while 50 slow-header clients hold "
      "connections (%d ok)" % ok)
hosts = {a["labels"]["host"] for a in d.alerts()}
check({"slow%d" % i for i in range(10)} <= hosts,
      "their alerts are listed")
stop.set()
dt.join(10)
for c in socks:
    c.close()

def closed_by_server(c):
    c.settimeout(10)
    try:
        while True:
            data = c.recv(4096)
            if not data:
                return True
            if data.startswith(b"HTTP/1.1 2"):
                return False  # answered: the request was never finished
    except OSError:
        return True  # reset: closed too


def trickle(head, drip, part, secs, who, closed):
    """600 clients (more than the 512 slots) send head, then drip once a
    second, which resets an idle timeout: only the deadline on the
    request's part frees the slots, after which others are answered."""
    log_at = len(d.log())
    stop = threading.Event()
    socks = []
    for i in range(600):
        try:
            c = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            c.sendall(head)
            socks.append(c)
        except OSError:
            pass  # over the limit: refused or reset
    check(len(socks) >= 512, "600 %s connect (%d)" % (who, len(socks)))

    def drip_all():
        for _ in range(60):
            if stop.wait(1.0):
                return
            for c in socks:
                try:
                    c.sendall(drip)
                except OSError:
                    pass

    dt = threading.Thread(target=drip_all)
    dt.start()
    m = d.wait_log(r"closed (\d+) connections? that did not send a "
                   r"request's %s within %d s" % (part, secs),
                   timeout=secs + 30, start=log_at)
    check(m is not None,
          "the server closes the clients past the %s deadline" % part)
    held = [c for c in socks[:50] if not closed_by_server(c)]
    check(not held, "every trickling %s is closed (%d answered)"
          % (closed, len(held)))
    st, body = d.request("GET", "/healthz", timeout=20)
    check(st == 200, "a new client is answered once the slots are free (%s)"
          % st)
    stop.set()
    dt.join(10)
    for c in socks:
        c.close()


# --- slowloris: a header line a second ---
trickle(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-a: b\r\n", "headers",
        10, "slow clients", "client")
# --- slow bodies: headers sent at once, the body a few bytes at a time ---
trickle(b"POST /api/v1/ingest?format=prom HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 1000000\r\n\r\nslow_m 1\n", b"slow_m 1\n", "body",
        30, "slow-body clients", "body")

# --- bodies held at once: a body's bytes are booked against 256 MiB as
# they come. Clients that declare 16 MiB and send none book
# nothing (a few such clients must not starve ingest); once 16 bodies of
# 16,000,000 bytes are in (all but their last byte), a 17th that waits for
# "100 Continue" is answered 503 before it sends anything. ---
def expect_body(n=16000000):
    c = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    c.sendall(b"POST /api/v1/ingest?format=prom HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % n)
    data = b""
    while b"\r\n\r\n" not in data:
        more = c.recv(4096)
        if not more:
            break
        data += more
    return c, data


idle = []
for i in range(20):  # 16 of them would have booked all of 256 MiB
    c, data = expect_body(16 << 20)
    idle.append(c)
st, _ = d.ingest('{"metric":"cpu","labels":{"host":"small1"},"value":99}\n',
                 fmt="json")
check(st == 204, "clients that declared big bodies and sent nothing book "
      "nothing: a small ingest goes through (%s)" % st)
for c in idle:
    c.close()

chunk = b"m 1\n" * 4000000  # 16,000,000 bytes
held_socks = []
for i in range(16):
    c, data = expect_body()
    check(data.startswith(b"HTTP/1.1 100"), "body %d of 16,000,000 bytes is "
          "let in (%r)" % (i + 1, data[:30]))
    c.sendall(chunk[:-1])
    held_socks.append(c)
data = b""
for _ in range(100):  # until the server has read (booked) the bytes sent
    c, data = expect_body()
    c.close()
    if data.startswith(b"HTTP/1.1 503"):
        break
    time.sleep(0.1)
check(data.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in data,
      "the 17th, past 256 MiB of bodies held, gets 503 with Retry-After "
      "(%r)" % data[:60])
st, _ = d.ingest('{"metric":"cpu","labels":{"host":"small2"},"value":99}\n',
                 fmt="json")
check(st in (204, 503), "a small body is answered (%s)" % st)
held_socks.pop(0).close()
data = b""
for _ in range(50):  # the server gives the booking back once it sees the close
    c, data = expect_body()
    c.close()
    if data.startswith(b"HTTP/1.1 100"):
        break
    time.sleep(0.2)
check(data.startswith(b"HTTP/1.1 100"),
      "a body is let in again once one of them is gone (%r)" % data[:30])
for c in held_socks:
    c.close()

check(d.stop() == 0, "SIGTERM exits 0 with slow clients just gone")
