"""test_delivery_notify_test.py - `tocsin notify-test NAME` against real
receivers: delivered (exit 0, the answer printed), an HTTP error (exit 1),
a refused connection (exit 1), an unknown name (exit 1 listing the names),
and no NAME (usage, exit 2)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, check, free_port, run_tocsin,  # noqa
                      write)

rcv = HttpReceiver({"/ok": [{"status": 200, "body": "ok"}],
                    "/gone": [{"status": 404, "body": "no_service"}],
                    # Express's default 404 echoes the request line.
                    "/hooks/EXPRESSTOKEN": [{"status": 404, "body":
                                             "Cannot POST /hooks/EXPRESSTOKEN"
                                             "?token=QEXPRESS"}]}).start()
closed = free_port()
write("cfg.yaml", """
notifiers:
  good:
    type: webhook
    url: %s
  chat:
    type: slack
    url: %s
  refused:
    type: webhook
    url: http://127.0.0.1:%d/secret-token
  audit:
    type: log
    path: audit.jsonl
  echo:
    type: webhook
    url: %s
""" % (rcv.url("/ok"), rcv.url("/gone"), closed,
       rcv.url("/hooks/EXPRESSTOKEN?token=QEXPRESS")))

t = run_tocsin(["notify-test", "good", "-c", "cfg.yaml"])
print(t.returncode, t.stdout, t.stderr)
check(t.returncode == 0, "delivered: exit 0")
check('delivered: HTTP 200 "ok"' in t.stdout, "prints the receiver's answer")
reqs = rcv.on("/ok")
check(len(reqs) == 1, "exactly one request")
body = json.loads(reqs[0]["body"])
a = body["alerts"][0]
check(a["labels"].get("alertname") == "tocsin_test" and
      a["labels"].get("instance") == "notify-test", "sample alert labels")
check(a["annotations"].get("summary") ==
      "This is a test notification from tocsin", "sample summary")

t = run_tocsin(["notify-test", "chat", "-c", "cfg.yaml"])
print(t.returncode, t.stdout, t.stderr)
check(t.returncode == 1, "HTTP 404: exit 1")
check('failed: HTTP 404 "no_service"' in t.stdout, "prints 404 and the body")

t = run_tocsin(["notify-test", "refused", "-c", "cfg.yaml"])
print(t.returncode, t.stdout, t.stderr)
check(t.returncode == 1, "refused: exit 1")
check("could not connect to 127.0.0.1:%d" % closed in t.stdout,
      "says it could not connect, with host:port")
check("secret-token" not in t.stdout + t.stderr, "never prints the URL path")

t = run_tocsin(["notify-test", "audit", "-c", "cfg.yaml"])
check(t.returncode == 0 and os.path.exists("audit.jsonl"),
      "log notifier: exit 0 and the file written")

t = run_tocsin(["notify-test", "echo", "-c", "cfg.yaml"])
print(t.returncode, t.stdout, t.stderr)
check(t.returncode == 1 and "HTTP 404" in t.stdout and
      "Cannot POST" in t.stdout, "an echoing 404: exit 1 with the answer")
check("EXPRESSTOKEN" not in t.stdout + t.stderr and
      "QEXPRESS" not in t.stdout + t.stderr,
      "the URL's token the receiver echoed is cut out")

t = run_tocsin(["notify-test", "nosuch", "-c", "cfg.yaml"])
print(t.returncode, t.stdout, t.stderr)
check(t.returncode == 1, "unknown notifier: exit 1")
check("good" in t.stderr and "chat" in t.stderr and "audit" in t.stderr,
      "lists the configured names")

t = run_tocsin(["notify-test", "-c", "cfg.yaml"])
check(t.returncode == 2, "no NAME: usage error, exit 2")
t = run_tocsin(["notify-test", "--help"])
check(t.returncode == 0 and "notify-test NAME" in t.stdout, "--help")
rcv.stop()
print("notify-test: all checks passed")
