"""test_conform_email.py - mail as a standard parser sees it (aiosmtpd +
Python's email package, policy=default): exact From/To/Subject, a Date that
parses, unique Message-IDs in <local@domain> form, multipart/alternative with
text then HTML and no parser defects, RFC 2047 for a long non-ASCII subject
with header lines within 78 columns, and every later mail of one alert
(escalated, deescalated, resolved) threaded to the firing mail."""
import email
import email.policy
import email.utils
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (RULE_YAML, T0, SmtpReceiver, check,  # noqa: E402
                      eval_notify, stream, write)

srv = SmtpReceiver().start()
write("cfg.yaml", """
notifiers:
  mail:
    type: email
    smtp: %s
    starttls: "off"
    from: "Tocsin Alerts <alerts@example.com>"
    to: ["On Call <oncall@example.com>", lead@example.com]
routes:
  - match: {alertname: api_p90_latency}
    notify: [mail]
""" % srv.url() + RULE_YAML)
long_svc = "z\u00fcrich-" + "\u00fc" * 40
stream([("api", 600, T0), ("api", 100, T0 + 60),
        (long_svc, 300, T0 + 61), (long_svc, 600, T0 + 62),
        (long_svc, 300, T0 + 63), (long_svc, 100, T0 + 64)])
p = eval_notify()
check(p.returncode == 0, "eval --notify exits 0")
msgs = srv.wait_for(6)
srv.stop()
check(len(msgs) == 6, "six mails (got %d)" % len(msgs))
parsed = [email.message_from_bytes(m["data"], policy=email.policy.default)
          for m in msgs]
ids = []
for i, (m, raw) in enumerate(zip(parsed, msgs)):
    check(msgs[i]["mail_from"] == "alerts@example.com" and
          msgs[i]["rcpt_tos"] == ["oncall@example.com", "lead@example.com"],
          "mail %d envelope from/to" % i)
    check(str(m["From"]) == "Tocsin Alerts <alerts@example.com>",
          "mail %d From: %s" % (i, m["From"]))
    check([a.addr_spec for a in m["To"].addresses] ==
          ["oncall@example.com", "lead@example.com"],
          "mail %d To has both addresses" % i)
    check(email.utils.parsedate_to_datetime(str(m["Date"])) is not None and
          re.match(r"^[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} "
                   r"\d\d:\d\d:\d\d [+-]\d{4}$", str(m["Date"])) is not None,
          "mail %d Date is RFC 5322: %s" % (i, m["Date"]))
    mid = str(m["Message-ID"]).strip()
    check(re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", mid) is not None,
          "mail %d Message-ID is <local@domain>: %s" % (i, mid))
    ids.append(mid)
    check(m.get_content_type() == "multipart/alternative",
          "mail %d is multipart/alternative" % i)
    check([x.get_content_type() for x in m.iter_parts()] ==
          ["text/plain", "text/html"], "mail %d: text part, then html" % i)
    check(not m.defects and all(not x.defects for x in m.iter_parts()),
          "mail %d parses without defects" % i)
    head = raw["data"].split(b"\r\n\r\n", 1)[0]
    check(all(len(ln) <= 78 for ln in head.split(b"\r\n")),
          "mail %d header lines fit in 78 columns" % i)
    check(all(b < 128 for b in head), "mail %d header is 7-bit" % i)
check(len(set(ids)) == 6, "every Message-ID is unique")
# Different alerts are delivered in parallel: pick mails by subject; one
# alert's mails keep their order.
by = {}
for m, raw, mid in zip(parsed, msgs, ids):
    by.setdefault("api" if "service=api " in str(m["Subject"]) else "long",
                  []).append((str(m["Subject"]), m, raw, mid))
api, lng = by.get("api", []), by.get("long", [])
check(len(api) == 2 and len(lng) == 4, "2 mails for api, 4 for the other")
check(api[0][0] == "[CRITICAL] api_p90_latency service=api firing",
      "exact SPEC subject: %s" % api[0][0])
check(lng[0][0] == "[WARNING] api_p90_latency service=%s firing" % long_svc,
      "long non-ASCII subject decodes exactly: %s" % lng[0][0])
raw_subj = lng[0][2]["data"].split(b"\r\nSubject: ", 1)[1]
check(raw_subj.lower().startswith(b"=?utf-8?"), "it is RFC 2047 encoded")
for group in (api, lng):
    root = group[0][3]
    check(group[0][1]["In-Reply-To"] is None, "a firing mail starts a thread")
    for subj, m, _, _ in group[1:]:
        check(str(m["In-Reply-To"]).strip() == root and
              root in str(m["References"]),
              "%s threads to its firing mail" % subj)
check([x[0].split()[0] for x in lng] ==
      ["[WARNING]", "[CRITICAL]", "[WARNING]", "[RESOLVED]"],
      "one alert's mails arrive in event order")
print("email conformance: all checks passed")
