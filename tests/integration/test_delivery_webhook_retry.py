"""test_delivery_webhook_retry.py - retries against a real HTTP receiver:
500 then 502 then 200 is three requests with one webhook-id; 429 with
Retry-After is honoured; 400 and 410 are not retried; an answer slower than
the timeout is retried; a refused connection is retried, then failed after
max_retry_time. One `tocsin eval --notify`, one alert per scenario."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, RULE_YAML, T0, check, eval_notify,  # noqa
                      free_port, outbox_rows, stream, write)

rcv = HttpReceiver({
    "/r5xx": [{"status": 500, "body": "boom"}, {"status": 502},
              {"status": 200, "body": "ok"}],
    "/r429": [{"status": 429, "headers": {"Retry-After": "1"},
               "body": "slow down"}, {"status": 200, "body": "ok"}],
    "/r400": [{"status": 400, "body": "invalid_payload"}],
    "/r410": [{"status": 410, "body": "gone"}],
    "/rslow": [{"status": 200, "body": "late", "delay": 3},
               {"status": 200, "body": "ok"}],
    # a 429 holds the whole endpoint, not only the message it answered
    "/rhold": [{"status": 429, "headers": {"Retry-After": "2"},
                "body": "rate_limited"}, {"status": 200, "body": "ok"}],
    # an answer cut off mid-body is a connection error: retried
    "/rcut": [{"status": 503, "body": "busy", "cut": True},
              {"status": 200, "body": "ok"}],
    # always down: retried until max_retry_time (2s) has passed
    "/rbudget": [{"status": 503, "body": "down"}],
    # a Retry-After past the retry budget: failed, and it says why
    "/rlong": [{"status": 429, "headers": {"Retry-After": "7200"},
                "body": "rate_limited"}],
}).start()
closed = free_port()  # nothing listens here: connection refused

scen = ["r5xx", "r429", "r400", "r410", "rslow", "refused", "rcut", "rlong",
        "rbudget"]
notifiers = ""
routes = ""
for s in scen:
    url = rcv.url("/" + s) if s != "refused" else \
        "http://127.0.0.1:%d/hook" % closed
    notifiers += """  %s:
    type: webhook
    url: %s
    timeout: 1s
    retry_backoff: 50ms
    max_retry_time: %s
""" % (s, url, "2s" if s in ("refused", "rbudget") else "30s")
    routes += """  - match: {service: %s}
    notify: [%s]
""" % (s, s)
# Three alerts to one receiver, one request a second: the first answer
# (429, Retry-After: 2) comes before the second request would start.
notifiers += """  rhold:
    type: webhook
    url: %s
    rate_limit: 1/s
    burst: 1
    retry_backoff: 50ms
""" % rcv.url("/rhold")
routes += """  - match: {service: "~rhold.*"}
    notify: [rhold]
"""
write("cfg.yaml", "notifiers:\n" + notifiers + "routes:\n" + routes +
      RULE_YAML)
stream([(s, 600, T0 + i) for i, s in
        enumerate(scen + ["rhold1", "rhold2", "rhold3"])])
p = eval_notify()
check(p.returncode in (0, 1), "eval --notify finished (exit %d)" %
      p.returncode)

rows, _ = outbox_rows("store.db")
by = {r["receiver"]: r for r in rows}
check(len(rows) == len(scen) + 3, "one outbox row per scenario: %d" %
      len(rows))

r5 = rcv.on("/r5xx")
check(len(r5) == 3, "500, 502, 200: three requests (got %d)" % len(r5))
check(len({r["headers"]["webhook-id"] for r in r5}) == 1,
      "the same webhook-id on every retry")
check(len({r["body"] for r in r5}) == 1, "the same body on every retry")
check(by["r5xx"]["status"] == "sent" and by["r5xx"]["attempts"] == 3,
      "5xx row sent after 3 attempts (%s, %d)" %
      (by["r5xx"]["status"], by["r5xx"]["attempts"]))

r4 = rcv.on("/r429")
check(len(r4) == 2, "429 then 200: two requests (got %d)" % len(r4))
if len(r4) == 2:
    gap = r4[1]["t"] - r4[0]["t"]
    check(gap >= 0.95, "second request came no sooner than Retry-After: 1 "
          "(%.2fs later)" % gap)
check(by["r429"]["status"] == "sent", "429 row sent in the end")

check(len(rcv.on("/r400")) == 1, "400: exactly one request, not retried")
check(by["r400"]["status"] == "failed" and by["r400"]["last_code"] == 400,
      "400 row failed with last_code 400")
check("invalid_payload" in (by["r400"]["last_error"] or ""),
      "400 row keeps the receiver's answer in last_error")
check(len(rcv.on("/r410")) == 1, "410: exactly one request, not retried")
check(by["r410"]["status"] == "failed", "410 row failed")
check("endpoint gone (410)" in p.stderr, "410 logged as endpoint gone")

rs = rcv.on("/rslow")
check(len(rs) >= 2, "slower-than-timeout answer retried (%d requests)" %
      len(rs))
check(by["rslow"]["status"] == "sent", "slow row sent on a later attempt")

check(by["refused"]["status"] == "failed", "refused row failed for good")
check(by["refused"]["attempts"] > 1, "refused connection retried (%d "
      "attempts) before giving up" % by["refused"]["attempts"])
check("could not connect" in (by["refused"]["last_error"] or ""),
      "refused row says it could not connect")

rb = rcv.on("/rbudget")
check(by["rbudget"]["status"] == "failed", "an endpoint always down: failed "
      "for good (%s)" % by["rbudget"]["status"])
check(len(rb) >= 2 and rb[-1]["t"] - rb[0]["t"] >= 1.95,
      "its last attempt comes once max_retry_time (2s) has passed, not "
      "when the next backoff would overshoot it (%d attempts over %.2f s)"
      % (len(rb), rb[-1]["t"] - rb[0]["t"] if rb else 0))

rh = rcv.on("/rhold")
check(len(rh) == 4, "429 then three 200s to the held endpoint (got %d)" %
      len(rh))
if len(rh) == 4:
    late = [r["t"] - rh[0]["t"] for r in rh[1:]]
    check(min(late) >= 1.95, "no request to the endpoint within its "
          "Retry-After: 2 of the 429 (%s s after it)" %
          ", ".join("%.2f" % x for x in late))
check(sorted(r["status"] for r in rows if r["receiver"] == "rhold") ==
      ["sent"] * 3, "the three held rows are sent in the end")

rc = rcv.on("/rcut")
check(len(rc) == 2, "a 503 cut off mid-body is retried (got %d requests)" %
      len(rc))
check(by["rcut"]["status"] == "sent", "the cut-off row is sent on a retry")

check(len(rcv.on("/rlong")) == 1 and by["rlong"]["status"] == "failed",
      "a Retry-After past the budget fails the row at once")
check("Retry-After of 7200 s is past the retry budget" in
      (by["rlong"]["last_error"] or "") and
      "Retry-After of 7200 s is past the retry budget" in p.stderr,
      "its last_error and log line say why")

check("/r5xx" not in p.stderr and "/hook" not in p.stderr,
      "logs never show the URL path")
rcv.stop()
print("webhook retries: all checks passed")
