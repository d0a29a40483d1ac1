"""A 429's Retry-After holds its whole receiver across a restart of
`tocsin run`: the receiver answers the first alert's notification 429 with
Retry-After: 6; a second alert's notification waits behind the hold; the
daemon is stopped (SIGTERM) and started again. No request reaches the
receiver before the 6 s have passed: not the held one, not the retry
(before, the restarted daemon sent the second at once). A real HTTP
receiver and a real `tocsin run` on 127.0.0.1."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, check, config,  # noqa: E402
                            webhook_notifier)
from receiver import HttpReceiver  # noqa: E402

RETRY_AFTER = 6
rcv = HttpReceiver({"/hook": [
    {"status": 429, "headers": {"Retry-After": str(RETRY_AFTER)}},
    {"status": 200, "body": "ok"}]}).start()
cfg = config(CPU_RULE, notifiers=webhook_notifier(rcv.url("/hook")),
             extra="defaults:\n  notify: [hook]\n")
d = Daemon(".", cfg).start()
try:
    now = time.time()
    check(d.ingest('{"metric":"cpu","labels":{"host":"x"},"value":95,'
                   '"ts":%.3f}\n' % now, fmt="json")[0] == 204, "x ingested")
    first = rcv.wait_for(1, 20, path="/hook")
    check(len(first) == 1, "the receiver answered x with 429")
    check(d.wait_log(r"429", 20) is not None, "tocsin took the 429 in")
    check(d.ingest('{"metric":"cpu","labels":{"host":"y"},"value":95,'
                   '"ts":%.3f}\n' % (now + 1), fmt="json")[0] == 204,
          "y ingested while the receiver is held")
    d.stop()
    d.start()
    got = rcv.wait_for(3, 30, path="/hook")
    check(len(got) >= 3, "x retried and y delivered after the restart (%d)"
          % len(got))
    t429 = got[0]["t"]
    later = sorted(r["t"] - t429 for r in got[1:])
    check(later[0] >= RETRY_AFTER - 0.5,
          "no request within the %d s Retry-After, restart or not (first "
          "%.2f s after the 429)" % (RETRY_AFTER, later[0]))
    hosts = sorted(json.loads(r["body"])["alerts"][0]["labels"]["host"]
                   for r in got[1:3])
    check(hosts == ["x", "y"], "both delivered: %s" % hosts)
finally:
    d.stop()
    rcv.stop()
print("ok")
