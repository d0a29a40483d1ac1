"""SIGHUP while the daemon is busy: 21 reloads (alternating two configs
that differ in a rule, a notifier and its inputs: a scrape target, a StatsD
listener and a followed file) while four clients ingest, read alerts and
metrics, StatsD datagrams and file lines arrive, and deliveries go out. Every request is
answered as without the reloads, every reload is taken, each alert fires
once, and every notification is delivered; under the sanitizers this is
also the check that config swaps race with nothing."""
import json
import os
import signal
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check, config,  # noqa: E402
                            wait_until, webhook_notifier)
from receiver import free_port  # noqa: E402

rcv = HttpReceiver({"/hook": [{"status": 200, "body": "ok"}],
                    "/metrics": [{"status": 200, "body": "up_gauge 1\n"}]})
rcv.start()
EXTRA_RULE = """  - name: mem_high
    metric: mem
    severity:
      warning: {above: 90}
"""


statsd_port = free_port()
feed = os.path.abspath("feed.jsonl")
open(feed, "w").close()


def cfg(variant):
    notifiers = webhook_notifier(rcv.url("/hook"))
    inputs = ""
    rules = CPU_RULE
    if variant:
        notifiers += "  spare:\n    type: log\n    path: spare.jsonl\n"
        inputs = ("inputs:\n  - scrape: {url: \"%s\", interval: 1s, "
                  "timeout: 1s}\n"
                  "  - statsd: {listen: \"127.0.0.1:%d\"}\n"
                  "  - file: {path: \"%s\", format: json, follow: true}\n"
                  % (rcv.url("/metrics"), statsd_port, feed))
        rules += EXTRA_RULE
    return config(rules, notifiers, "defaults:\n  notify: [hook]\n", inputs)


d = Daemon(".", cfg(0)).start()
answers = []
stop = threading.Event()


def client(k):
    i = 0
    while not stop.is_set() and i < 200:
        st, _ = d.request("POST", "/api/v1/ingest?format=json",
                          '{"metric":"cpu","labels":{"host":"r%d-%d"},'
                          '"value":95}\n' % (k, i))
        answers.append(("ingest", st == 204))
        st, body = d.request("GET", "/api/v1/alerts")
        answers.append(("alerts", st == 200 and isinstance(json.loads(body),
                                                           list)))
        answers.append(("metrics", "tocsin_series " in d.metrics()))
        i += 1


def side_inputs():
    """StatsD datagrams and file lines, whether or not they are listened to
    at the moment."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    i = 0
    while not stop.is_set() and i < 20000:
        u.sendto(b"side.hits:1|c", ("127.0.0.1", statsd_port))
        with open(feed, "a") as f:
            f.write('{"metric":"side","value":1}\n')
        i += 1
        stop.wait(0.002)
    u.close()


threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
threads.append(threading.Thread(target=side_inputs))
for t in threads:
    t.start()
taken = 0
for n in range(21):  # the last config listens to the side inputs
    d.write_config(cfg((n + 1) % 2))
    off = len(d.log())
    d.signal(signal.SIGHUP)
    if d.wait_log(r"config reloaded", 20, off) is not None:
        taken += 1


def side_fed():
    m = d.metrics()
    fed = {i: [ln for ln in m.splitlines() if ln.startswith(
        'tocsin_samples_ingested_total{input="%s"}' % i)]
        for i in ("statsd", "file")}
    return all(v and not v[0].endswith(" 0") for v in fed.values()) and fed


fed = wait_until(side_fed, 30)
stop.set()
for t in threads:
    t.join(120)
check(taken == 21, "every reload is taken (%d of 21)" % taken)
check(bool(fed), "the StatsD and file inputs take samples after the "
      "reloads (%s)" % fed)
bad = [a for a in answers if not a[1]]
check(answers and not bad, "all %d requests answered right (%s)"
      % (len(answers), bad[:3]))
sent = sum(1 for a in answers if a[0] == "ingest")
hist = [e for e in d.history() if e["event"] == "firing"
        and e["rule"] == "cpu_high"]
check(len(hist) == sent and len({e["fingerprint"] for e in hist}) == sent,
      "each of the %d alerts fired once (%d events)" % (sent, len(hist)))
got = rcv.wait_for(sent, 60, path="/hook")
check(len(got) == sent, "every notification is delivered (%d of %d)"
      % (len(got), sent))
check(d.stop() == 0, "SIGTERM exits 0")
rcv.stop()
