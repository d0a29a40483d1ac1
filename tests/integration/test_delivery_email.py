"""test_delivery_email.py - email through a real SMTP server (aiosmtpd in this
process): AUTH with username/password, two recipients, multipart/alternative
with text then html, the exact Subject, RFC 2047 for a non-ASCII label, the
resolved mail threaded to its firing mail; and `starttls: required` against
a server without STARTTLS fails without sending in plaintext. Also
notify-test's SMTP account."""
import email
import email.policy
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (RULE_YAML, SmtpReceiver, T0, check, eval_notify,  # noqa
                      outbox_rows, run_tocsin, stream, write)

srv = SmtpReceiver(username="alice", password="s3cret pw").start()
plain = SmtpReceiver().start()  # no STARTTLS offered, no AUTH
write("cfg.yaml", """
notifiers:
  mail:
    type: email
    smtp: %s
    starttls: "off"
    username: alice
    password: "s3cret pw"
    from: "tocsin <alerts@example.com>"
    to: [oncall@example.com, lead@example.com]
  strict:
    type: email
    smtp: %s
    starttls: required
    from: alerts@example.com
    to: [x@example.com]
routes:
  - match: {alertname: api_p90_latency}
    notify: [mail, strict]
""" % (srv.url(), plain.url()) + RULE_YAML)
stream([("api", 600, T0), ("z\u00fcrich", 600, T0 + 1),
        ("api", 100, T0 + 60)])
p = eval_notify()
msgs = srv.wait_for(3)
check(len(msgs) == 3, "three mails arrived (got %d)" % len(msgs))
check(all(m["rcpt_tos"] == ["oncall@example.com", "lead@example.com"]
          for m in msgs), "two envelope recipients on each mail")
check(any(a[1] == "alice" for a in srv.auth_attempts),
      "client authenticated as alice (%s)" % srv.auth_attempts)
check("s3cret" not in p.stderr, "password never in the logs")

parsed = [email.message_from_bytes(m["data"], policy=email.policy.default)
          for m in msgs]
subj = [str(m["Subject"]) for m in parsed]
print("subjects:", subj)
fire = parsed[subj.index("[CRITICAL] api_p90_latency service=api firing")] \
    if "[CRITICAL] api_p90_latency service=api firing" in subj else None
check(fire is not None, "exact Subject [CRITICAL] api_p90_latency "
      "service=api firing")
check(fire.get_content_type() == "multipart/alternative",
      "multipart/alternative")
parts = [pt.get_content_type() for pt in fire.iter_parts()]
check(parts == ["text/plain", "text/html"], "text part then html: %s" %
      parts)
for h in ("Date", "Message-ID", "From", "To", "Subject"):
    check(fire[h] is not None, "header %s present" % h)
check("oncall@example.com" in str(fire["To"]) and
      "lead@example.com" in str(fire["To"]), "To names both recipients")
zi = [i for i, s in enumerate(subj) if "z\u00fcrich" in s]
check(len(zi) == 1, "the non-ASCII subject decodes to service=z\u00fcrich")
raw = msgs[zi[0]]["data"].decode("ascii", "replace")
raw_subj = [ln for ln in raw.split("\r\n\r\n")[0].split("\r\n")
            if ln.lower().startswith("subject:")][0]
check("=?utf-8?" in raw_subj.lower(), "raw Subject is RFC 2047 encoded: %s" %
      raw_subj)
res = [m for m, s in zip(parsed, subj) if "api" in s and "resolved" in
       s.lower()]
check(len(res) == 1, "one resolved mail for service=api")
check(str(res[0]["In-Reply-To"]).strip() == str(fire["Message-ID"]).strip(),
      "resolved In-Reply-To equals the firing Message-ID")
check(str(fire["Message-ID"]).strip() in str(res[0]["References"]),
      "resolved References names the firing Message-ID")

check(len(plain.messages) == 0,
      "starttls: required against a server without STARTTLS sent nothing")
rows, _ = outbox_rows("store.db")
strict = [r for r in rows if r["receiver"] == "strict"]
check(strict and all(r["status"] == "failed" for r in strict),
      "its rows failed: %s" % [r["status"] for r in strict])
check(all(r["status"] == "sent" for r in rows if r["receiver"] == "mail"),
      "the mail rows were sent")

t = run_tocsin(["notify-test", "mail", "-c", "cfg.yaml"])
print("notify-test:", t.returncode, t.stdout.strip(), t.stderr.strip())
check(t.returncode == 0, "notify-test mail exits 0")
check("delivered: 250" in t.stdout and "2 recipients" in t.stdout,
      "notify-test says delivered: 250 ... to 2 recipients")
check(len(srv.wait_for(4)) == 4, "the test mail arrived")
t = run_tocsin(["notify-test", "strict", "-c", "cfg.yaml"])
print("notify-test strict:", t.returncode, t.stdout.strip())
check(t.returncode == 1 and "failed" in t.stdout and "STARTTLS" in t.stdout,
      "notify-test strict fails naming STARTTLS")

# A mailbox routed only critical first hears "escalated": that mail roots
# the thread, and the resolved mail replies to it.
crit = SmtpReceiver().start()


def plain_mail_cfg(path, name, url, to, match="{}", extra=""):
    """A config whose one route sends matching events to email notifier
    name: SMTP without TLS at url, to the addresses to; extra: more keys
    of the notifier, each line indented by four spaces."""
    write(path, """
notifiers:
  %s:
    type: email
    smtp: %s
    starttls: "off"
    from: alerts@example.com
    to: [%s]
%sroutes:
  - match: %s
    notify: [%s]
""" % (name, url, ", ".join(to), extra, match, name) + RULE_YAML)


plain_mail_cfg("crit.yaml", "pager", crit.url(), ["pager@example.com"],
               match="{severity: critical}")
stream([("api", 300, T0), ("api", 600, T0 + 60), ("api", 100, T0 + 120)],
       path="crit.jsonl")
p = eval_notify(cfg="crit.yaml", store="crit.db", streams=("crit.jsonl",))
cm = [email.message_from_bytes(m["data"], policy=email.policy.default)
      for m in crit.wait_for(2)]
print("pager subjects:", [str(m["Subject"]) for m in cm])
check(len(cm) == 2 and "escalated" in str(cm[0]["Subject"]) and
      "resolved" in str(cm[1]["Subject"]), "the pager got escalated, then "
      "resolved")
check(len(cm) == 2 and cm[0]["In-Reply-To"] is None,
      "its first mail (escalated) starts the thread")
check(len(cm) == 2 and str(cm[1]["In-Reply-To"]).strip() ==
      str(cm[0]["Message-ID"]).strip(),
      "the resolved mail replies to the escalated one it got")
crit.stop()

# A recipient the server refuses (for now or for good): the others get the
# mail, and the log and notify-test name the refused ones.
picky = SmtpReceiver(refuse={"temp@example.com": "450 4.2.1 try later",
                             "gone@example.com": "550 5.1.1 no such user"})
picky.start()
plain_mail_cfg("picky.yaml", "team", picky.url(),
               ["ok@example.com", "temp@example.com", "gone@example.com"])
stream([("api", 600, T0)], path="picky.jsonl")
p = eval_notify(cfg="picky.yaml", store="picky.db", streams=("picky.jsonl",))
got = picky.wait_for(1)
check(len(got) == 1 and got[0]["rcpt_tos"] == ["ok@example.com"],
      "the accepted recipient got the mail")
check("sent to 1 of 3 recipients" in p.stderr and
      "temp@example.com (450 4.2.1 try later)" in p.stderr and
      "gone@example.com (550 5.1.1 no such user)" in p.stderr,
      "the log names the refused recipients and their replies")
t = run_tocsin(["notify-test", "team", "-c", "picky.yaml"])
print("notify-test team:", t.returncode, t.stdout.strip())
check(t.returncode == 0 and "to 1 of 3 recipients; refused: "
      "temp@example.com" in t.stdout, "notify-test says who was refused")
picky.stop()

# A refusal that echoes the login (the password, AUTH PLAIN's base64) is
# logged and shown without it.
echo = SmtpReceiver(username="mailer", password="SMTPSECRET99",
                    refuse={"gone@example.com":
                            "550 5.1.1 no such user (login mailer/"
                            "SMTPSECRET99 AG1haWxlcgBTTVRQU0VDUkVUOTk=)"})
echo.start()
plain_mail_cfg("echo.yaml", "team", echo.url(),
               ["ok@example.com", "gone@example.com"],
               extra="    username: mailer\n    password: SMTPSECRET99\n")
stream([("api", 600, T0)], path="echo.jsonl")
p = eval_notify(cfg="echo.yaml", store="echo.db", streams=("echo.jsonl",))
got = echo.wait_for(1)
check(len(got) == 1 and "gone@example.com (550 5.1.1 no such user" in
      p.stderr, "the refusal is logged: %s" % p.stderr[-300:])
t = run_tocsin(["notify-test", "team", "-c", "echo.yaml"])
for out, what in ((p.stderr, "the log"), (t.stdout + t.stderr, "notify-test")):
    check("SMTPSECRET99" not in out and "AG1haWxlcgBTTVRQU0VDUkVUOTk" not in out,
          "%s shows the refusal without the password" % what)
echo.stop()

# A server that stops answering DATA: the send times out and is retried on
# a new connection, and eval exits once the mail is in. The timed-out
# connection, left to libcurl, was closed at exit with a QUIT whose answer
# libcurl awaited 120 s.
slow = SmtpReceiver(stall=100).start()
plain_mail_cfg("slow.yaml", "team", slow.url(), ["ops@example.com"],
               extra="    timeout: 1s\n    retry_backoff: 100ms\n")
stream([("api", 600, T0)], path="slow.jsonl")
try:
    p = eval_notify(cfg="slow.yaml", store="slow.db",
                    streams=("slow.jsonl",), timeout=60)
    check(p.returncode == 0 and "1 sent" in p.stderr,
          "the mail is sent on a retry and eval exits")
except subprocess.TimeoutExpired:
    check(False, "eval --notify did not exit within 60 s after a timed-out "
          "SMTP send")
check(len(slow.wait_for(1)) == 1, "the server got the mail once")
slow.stop()
srv.stop()
plain.stop()
print("email: all checks passed")
