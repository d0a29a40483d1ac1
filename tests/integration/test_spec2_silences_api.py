"""test_spec2_silences_api.py - SPEC sections 6 and 10 (audit2): silences
over HTTP accept the CLI's string form, an object of label: value and the
Alertmanager list form; a silenced alert's event is recorded but not
delivered while an unsilenced one is; run by tests/integration/run.sh."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check,  # noqa
                            config, webhook_notifier)

FAILS = []


def ok(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


rcv = HttpReceiver().start()
d = Daemon(os.getcwd(), config(CPU_RULE, webhook_notifier(rcv.url()),
                               "routes:\n  - match: {}\n    notify: [hook]\n"),
           name="spec2sil")
d.start()
forms = [
    ("string", {"matchers": "host=a", "for": "2h", "comment": "deploy"}),
    ("alertmanager list", {"matchers": [{"name": "host", "value": "b",
                                         "isRegex": False}],
                           "endsAt": "2099-01-01T00:00:00Z",
                           "createdBy": "t", "comment": "c"}),
    ("object", {"matchers": {"host": "~d|e"}, "duration": "1h"}),
    ("match alias", {"match": "host=f", "for": "1h"}),
    # Values with commas stay one value in every form.
    ("object with a comma", {"matchers": {"host": "g,h"}, "for": "1h"}),
    ("list regex with a comma", {"matchers": [{"name": "host",
                                               "value": "i{1,3}",
                                               "isRegex": True}],
                                 "for": "1h"}),
]
for name, body in forms:
    st, out = d.request("POST", "/api/v1/silences", json.dumps(body))
    ok(st == 201 and "id" in json.loads(out),
       "POST /api/v1/silences accepts the %s form (%d %s)" % (name, st, out))
# A silence set to start later (Alertmanager's startsAt) is kept and
# listed, but silences nothing yet: host=c is still delivered below.
st, out = d.request("POST", "/api/v1/silences", json.dumps(
    {"matchers": "host=c", "startsAt": "2099-01-01T00:00:00Z",
     "endsAt": "2099-01-02T00:00:00Z"}))
ok(st == 201, "a silence starting in 2099 is accepted (%d %s)" % (st, out))
for bad in [{"matchers": "host=c", "startsAt": "2099-01-02T00:00:00Z",
             "endsAt": "2099-01-01T00:00:00Z"},
            {"matchers": "host=c", "startsAt": "soon", "for": "1h"}]:
    st, out = d.request("POST", "/api/v1/silences", json.dumps(bad))
    ok(st == 400, "a start after the end, or not a time, is 400 (%s)" % out)
st, out = d.request("GET", "/api/v1/silences")
lst = json.loads(out) if st == 200 else []
ok(len(lst) == 7, "GET /api/v1/silences lists the 6 active silences and the "
   "later one")
ok(sorted(s["active"] for s in lst) == [False] + [True] * 6,
   "the later one is not active")
ok(any(s["matchers"] == "host=~d|e" for s in lst),
   "an object value \"~re\" becomes a regex matcher")
st, out = d.request("POST", "/api/v1/silences", json.dumps(
    {"matchers": {"host": "\\~tilde"}, "for": "1h"}))
sid = json.loads(out)["id"] if st == 201 else None
lst2 = json.loads(d.request("GET", "/api/v1/silences")[1])
ok(any(s["id"] == sid and s["matchers"] == 'host="~tilde"' for s in lst2),
   "an object value \"\\~lit\" is the literal ~lit, as in the config (%s)"
   % [s["matchers"] for s in lst2 if s["id"] == sid])
d.request("DELETE", "/api/v1/silences/%s" % sid)
st, _ = d.request("POST", "/api/v1/silences",
                  json.dumps({"matchers": [{"value": "x"}], "for": "1h"}))
ok(st == 400, "a list matcher without a name is 400")

# Fixed past timestamps: the daemon judges silences by wall clock.
lines = "".join(json.dumps({"metric": "cpu", "labels": {"host": h},
                            "value": 95, "ts": 1767225600}) + "\n"
                for h in ["a", "b", "c", "d", "e", "f", "g,h", "ii"])
st, _ = d.ingest(lines)
ok(st == 204, "ingest of 8 firing samples answers 204")
rcv.wait_for(1, timeout=20)

# Hostile bodies are refused whole, never stored cut or widened: a string
# holding \u0000 (cJSON would end it there), text that is not UTF-8, and
# label names carrying matcher syntax in the object and list forms.
before = d.request("GET", "/api/v1/silences")[1]
for what, raw in (
        ("\\u0000 in matchers",
         b'{"matchers":"host=c\\u0000,zzz=~(((","for":"1h"}'),
        ("\\u0000 in a key", b'{"matchers":{"host\\u0000x":"c"},"for":"1h"}'),
        ("invalid UTF-8", b'{"matchers":"host=c\xff\xfe","for":"1h"}'),
        ("an object key with matcher syntax",
         b'{"matchers":{"alertname=cpu_high,host":"c"},"for":"1h"}'),
        ("a list name with matcher syntax",
         b'{"matchers":[{"name":"host=~.+,x","value":"y","isEqual":false}],'
         b'"for":"1h"}')):
    st, text = d.request("POST", "/api/v1/silences", raw)
    ok(st == 400, "%s is refused with 400 (%d %s)" % (what, st, text.strip()))
# Bodies that are not one JSON object, times no clock reaches, and an
# overlong matchers text: 400, with the reason.
for what, raw, why in (
        ("trailing garbage", b'{"matchers":"host=c","for":"1h"}garbage',
         "JSON object"),
        ("an end past the year 9999",
         b'{"matchers":"host=c","ends_at":1e300}', "RFC 3339 or Unix"),
        ("both a duration and an end",
         b'{"matchers":"host=c","for":"1h","endsAt":"2099-01-01T00:00:00Z"}',
         "not both"),
        ("a duration past the year 9999",
         b'{"matchers":"host=c","for":"420000w"}', "year 9999"),
        ("70,000 characters of matchers",
         b'{"matchers":"host=' + b"c" * 70000 + b'","for":"1h"}',
         "too long")):
    st, text = d.request("POST", "/api/v1/silences", raw)
    ok(st == 400 and why in text,
       "%s is refused with 400 (%d %s)" % (what, st, text.strip()[:120]))
after = d.request("GET", "/api/v1/silences")[1]
ok(before == after, "and nothing of them is stored")
# A DELETE id is digits only, never cut to fit.
for what, path, body in (
        ("a long id with junk", "/api/v1/silences",
         '{"id":"0000000000000000000000000000001junk"}'),
        ("a signed id", "/api/v1/silences?id=%2B1", None),
        ("a spaced id", "/api/v1/silences/%201", None),
        ("an id with an encoded NUL", "/api/v1/silences/1%00zzz", None)):
    st, _ = d.request("DELETE", path, body)
    ok(st == 404, "%s expires nothing (%d)" % (what, st))
ok(d.request("GET", "/api/v1/silences")[1] == after,
   "the silences are all still there")
st, _ = d.request("GET", "/healthz%00junk")
ok(st == 404, "a path with an encoded NUL is not /healthz (%d)" % st)
ok(d.stop() == 0, "SIGTERM exits 0")
hosts = sorted(json.loads(r["body"])["alerts"][0]["labels"]["host"]
               for r in rcv.requests)
ok(hosts == ["c"], "only the unsilenced alert (host=c) is delivered: %s"
   % hosts)
hist = d.history()
ok(sorted(h["labels"]["host"] for h in hist) ==
   ["a", "b", "c", "d", "e", "f", "g,h", "ii"],
   "every event is recorded in the history, silenced or not")
p = __import__("subprocess").run(
    [os.environ["TOCSIN"], "history", "--since", "3650d", "--store", d.store],
    capture_output=True, text=True, timeout=60)
marked = [l for l in p.stdout.splitlines() if l.rstrip().endswith("silenced")]
ok(len(marked) == 7, "history marks the 7 silenced events (%d)" % len(marked))
rcv.stop()
if FAILS:
    print("%d check(s) failed" % len(FAILS))
    sys.exit(1)
print("all checks passed")
