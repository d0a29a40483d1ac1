"""Silences over HTTP: POST creates one (201 {"id"}), GET lists the active
ones, a matching alert is recorded but its notification is silenced, DELETE
expires it (204, then 404), and bad requests get 400."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check, config,  # noqa: E402
                            wait_until, webhook_notifier)
from receiver import outbox_rows  # noqa: E402

rcv = HttpReceiver().start()
d = Daemon(".", config(CPU_RULE, webhook_notifier(rcv.url()),
                       "defaults:\n  notify: [hook]\n")).start()
st, body = d.request("POST", "/api/v1/silences", json.dumps(
    {"matchers": "alertname=cpu_high,host=quiet", "for": "2h",
     "comment": "deploy", "created_by": "test"}))
check(st == 201, "POST /api/v1/silences answers 201 (%d %s)" % (st, body))
sid = json.loads(body)["id"]
st, body = d.request("GET", "/api/v1/silences")
lst = json.loads(body)
check(st == 200 and [s["id"] for s in lst] == [sid],
      "GET lists the active silence")
check(lst[0]["matchers"] == "alertname=cpu_high,host=quiet"
      and lst[0]["comment"] == "deploy" and lst[0]["created_by"] == "test",
      "the silence keeps its matchers, comment and author")

st, _ = d.ingest('{"metric":"cpu","labels":{"host":"quiet"},"value":99}\n'
                 '{"metric":"cpu","labels":{"host":"loud"},"value":99}\n',
                 fmt="json")
check(st == 204, "ingest")
hosts = {a["labels"]["host"] for a in d.alerts()}
check(hosts == {"quiet", "loud"}, "a silenced alert is still recorded")
rows, _ = outbox_rows(d.store)
statuses = sorted(r["status"] for r in rows)
check(statuses == ["pending", "silenced"] or statuses == ["sent", "silenced"],
      "one notification silenced, one pending/sent (%s)" % statuses)
got = wait_until(lambda: [r for r in rcv.requests if "loud" in r["body"]],
                 30)
check(bool(got), "the unsilenced alert is delivered")
check(not [r for r in rcv.requests if "quiet" in r["body"]],
      "the silenced alert was not delivered")

st, _ = d.request("DELETE", "/api/v1/silences/%d" % sid)
check(st == 204, "DELETE expires the silence (204)")
st, _ = d.request("DELETE", "/api/v1/silences/%d" % sid)
check(st == 404, "DELETE of an expired silence is 404")
check(json.loads(d.request("GET", "/api/v1/silences")[1]) == [],
      "no active silences after the expiry")
for bad in ['{"for":"2h"}', '{"matchers":"a=b"}', 'not json',
            '{"matchers":"a=~(","for":"1h"}', '{"matchers":"a=b","for":"x"}',
            '{"matchers":"service=","for":"1h"}',  # would silence everything
            '{"matchers":"a=~.*,b!=x","for":"1h"}']:
    st, _ = d.request("POST", "/api/v1/silences", bad)
    check(st == 400, "a bad silence request is 400: %s" % bad)
check(d.request("DELETE", "/api/v1/silences/abc")[0] == 404,
      "DELETE with a non-numeric id is 404")
# DELETE on the collection names the silence in ?id= or in the body.
for how, path, body in [("?id=", "/api/v1/silences?id=%d", None),
                        ("a body", "/api/v1/silences", '{"id": %d}'),
                        ("a string id", "/api/v1/silences", '{"id": "%d"}')]:
    st, b = d.request("POST", "/api/v1/silences",
                      '{"matchers":"host=x","for":"1h"}')
    sid = json.loads(b)["id"]
    st, _ = d.request("DELETE", path % sid if "%" in path else path,
                      body % sid if body else None)
    check(st == 204, "DELETE /api/v1/silences with the id in %s is 204 (%d)" % (how, st))
    check(json.loads(d.request("GET", "/api/v1/silences")[1]) == [],
          "and the silence is expired")
st, b = d.request("DELETE", "/api/v1/silences")
check(st == 400 and "silences/ID" in b,
      "DELETE /api/v1/silences without an id is 400 and says how (%d %r)" % (st, b))
check(d.request("DELETE", "/api/v1/silences?id=999")[0] == 404,
      "DELETE of an unknown id is 404")
check(d.stop() == 0, "SIGTERM exits 0")
rcv.stop()
