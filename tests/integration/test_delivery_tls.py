"""test_delivery_tls.py - receivers behind TLS with a private CA: a
certificate made here with openssl, an HTTPS receiver and an SMTP server
requiring STARTTLS. With `ca_file` (relative to the config's folder) the
webhook, Slack and email notifiers verify the receiver against that CA and
deliver; without it the webhook's delivery fails on the certificate and says
so; a missing ca_file is a config error at its position."""
import email
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, SmtpReceiver, check,  # noqa
                      run_tocsin, write)

# A self-signed certificate for 127.0.0.1 that is its own CA.
os.mkdir("certs")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", "certs/key.pem", "-out", "certs/ca.pem",
                "-days", "2", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1"],
               check=True, capture_output=True, timeout=60)
tls = ("certs/ca.pem", "certs/key.pem")

rcv = HttpReceiver({"/hook": [{"status": 200, "body": "ok"}],
                    "/slack": [{"status": 200, "body": "ok"}]},
                   tls=tls).start()
smtp = SmtpReceiver(tls=tls).start()
check(rcv.url().startswith("https://"), "the receiver speaks HTTPS")

os.mkdir("conf")
write("conf/cfg.yaml", """
notifiers:
  hook:
    type: webhook
    url: %s
    ca_file: ../certs/ca.pem
  chat:
    type: slack
    url: %s
    ca_file: ../certs/ca.pem
  mail:
    type: email
    smtp: %s
    starttls: required
    from: "tocsin <alerts@example.com>"
    to: [oncall@example.com]
    ca_file: ../certs/ca.pem
  untrusted:
    type: webhook
    url: %s
""" % (rcv.url("/hook"), rcv.url("/slack"), smtp.url(), rcv.url("/hook")))

t = run_tocsin(["check", "-c", "conf/cfg.yaml"])
print(t.returncode, t.stdout, t.stderr)
check(t.returncode == 0, "ca_file is a known key of webhook, slack, email")

t = run_tocsin(["notify-test", "hook", "-c", "conf/cfg.yaml"])
print(t.returncode, t.stdout, t.stderr)
check(t.returncode == 0 and "delivered: HTTP 200" in t.stdout,
      "webhook over HTTPS verified with ca_file: delivered")
reqs = rcv.on("/hook")
check(len(reqs) == 1 and
      json.loads(reqs[0]["body"]).get("version") == "4",
      "the receiver got the Alertmanager payload")

t = run_tocsin(["notify-test", "chat", "-c", "conf/cfg.yaml"])
print(t.returncode, t.stdout, t.stderr)
check(t.returncode == 0 and len(rcv.on("/slack")) == 1,
      "slack over HTTPS verified with ca_file: delivered")

t = run_tocsin(["notify-test", "mail", "-c", "conf/cfg.yaml"])
print(t.returncode, t.stdout, t.stderr)
msgs = smtp.wait_for(1, timeout=20)
check(t.returncode == 0 and len(msgs) == 1,
      "email with STARTTLS required, verified with ca_file: delivered")
if msgs:
    m = email.message_from_bytes(msgs[0]["data"])
    check(m.get_content_type() == "multipart/alternative",
          "the mail arrived whole")

# Without ca_file the system's CAs do not know this certificate.
t = run_tocsin(["notify-test", "untrusted", "-c", "conf/cfg.yaml"])
print(t.returncode, t.stdout, t.stderr)
check(t.returncode == 1, "an unverifiable certificate: exit 1")
check("certificate" in (t.stdout + t.stderr).lower(),
      "the failure names the certificate")
check(len(rcv.on("/hook")) == 1, "nothing reached the receiver unverified")

# A missing file is a config error at the ca_file value.
write("conf/bad.yaml", """notifiers:
  hook:
    type: webhook
    url: %s
    ca_file: nowhere.pem
""" % rcv.url("/hook"))
t = run_tocsin(["check", "-c", "conf/bad.yaml"])
print(t.returncode, t.stdout, t.stderr)
check(t.returncode == 1, "missing ca_file: check exits 1")
check(t.stderr.startswith("conf/bad.yaml:5:14: ") and
      "ca_file conf/nowhere.pem: No such file or directory" in t.stderr,
      "FILE:LINE:COL and the resolved path")

# A directory, or a file without a certificate, would only fail at the
# first TLS delivery: check refuses both.
os.makedirs("conf/cadir", exist_ok=True)
write("conf/empty.pem", "")
os.mkfifo("conf/ca.fifo")  # nothing writes to it: check must not wait
for ca, why in (("cadir", "not a regular file"),
                ("ca.fifo", "not a regular file"),
                ("empty.pem", "holds no PEM certificate")):
    write("conf/bad.yaml", """notifiers:
  hook:
    type: webhook
    url: %s
    ca_file: %s
""" % (rcv.url("/hook"), ca))
    t = run_tocsin(["check", "-c", "conf/bad.yaml"])
    print(t.returncode, t.stdout, t.stderr)
    check(t.returncode == 1 and t.stderr.startswith("conf/bad.yaml:5:14: ")
          and ("ca_file conf/%s: %s" % (ca, why)) in t.stderr,
          "ca_file %s: check says %s" % (ca, why))

rcv.stop()
smtp.stop()
print("ok")
