"""SIGTERM while the daemon is busy: four clients ingesting, deliveries in
flight to a slow receiver, a scrape target, StatsD datagrams. The daemon
exits 0; every ingest it answered 204 has its alert in the store, and a
restarted daemon delivers whatever was still pending, once per alert."""
import os
import signal
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check, config,  # noqa: E402
                            wait_until, webhook_notifier)
from receiver import free_port  # noqa: E402

rcv = HttpReceiver({"/hook": [{"status": 200, "body": "ok", "delay": 0.05}],
                    "/metrics": [{"status": 200, "body": "up_gauge 1\n"}]})
rcv.start()
statsd_port = free_port()
inputs = ("inputs:\n  - scrape: {url: \"%s\", interval: 1s, timeout: 1s}\n"
          "  - statsd: {listen: \"127.0.0.1:%d\"}\n"
          % (rcv.url("/metrics"), statsd_port))
d = Daemon(".", config(CPU_RULE, webhook_notifier(rcv.url("/hook")),
                       "defaults:\n  notify: [hook]\n", inputs)).start()
acked = []
stop = threading.Event()


def client(k):
    for i in range(400):
        if stop.is_set():
            return
        try:
            st, _ = d.request("POST", "/api/v1/ingest?format=json",
                              '{"metric":"cpu","labels":{"host":"s%d-%d"},'
                              '"value":95}\n' % (k, i), timeout=30)
        except OSError:
            return  # the daemon has stopped
        if st == 204:
            acked.append("s%d-%d" % (k, i))


def datagrams():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(5000):
        if stop.is_set():
            break
        u.sendto(b"side.hits:1|c", ("127.0.0.1", statsd_port))
        stop.wait(0.001)
    u.close()


threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
threads.append(threading.Thread(target=datagrams))
for t in threads:
    t.start()
check(bool(wait_until(lambda: len(acked) >= 100, 60)),
      "the clients are ingesting (%d acknowledged)" % len(acked))
check(bool(rcv.wait_for(5, 30, path="/hook")), "deliveries are going out")
check(d.stop() == 0, "SIGTERM in the middle of it all exits 0")
stop.set()
for t in threads:
    t.join(60)
hosts = {e["labels"]["host"] for e in d.history() if e["event"] == "firing"}
lost = [h for h in acked if h not in hosts]
check(not lost, "every acknowledged ingest's alert is in the store "
      "(%d acknowledged, %d lost)" % (len(acked), len(lost)))

d.start()
want = len(hosts)


def keys():
    """Distinct idempotency keys delivered (a delivery in flight at the
    stop may come again: at least once)."""
    return {r["headers"].get("webhook-id") for r in rcv.on("/hook")}


wait_until(lambda: len(keys()) >= want, 120)
check(len(keys()) == want, "after a restart every alert's notification "
      "is delivered (%d of %d)" % (len(keys()), want))
check(d.stop() == 0, "the restarted daemon stops with 0")
rcv.stop()
