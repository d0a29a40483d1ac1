"""test_conform_http_api.py - the HTTP API (SPEC section 10) and the CLI
agree: GET /api/v1/alerts has the same objects (keys, order, values) as
`tocsin alerts --json`; GET/POST/DELETE /api/v1/silences has the shape of
`tocsin silence list --json`, and silences made on one side are seen and
expired from the other."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config  # noqa: E402
from receiver import run_tocsin  # noqa: E402

d = Daemon(".", config(CPU_RULE, "notifiers:\n  audit: {type: log, path: "
                       "@DIR@/audit.jsonl}\n", "defaults:\n  notify: [audit]\n"))
d.start()
try:
    st, _ = d.ingest('{"metric":"cpu","labels":{"host":"a"},"value":95}\n'
                     '{"metric":"cpu","labels":{"host":"b"},"value":99.5}\n',
                     fmt="json")
    check(st == 204, "ingest accepted (%d)" % st)
    st, body = d.request("GET", "/api/v1/alerts")
    check(st == 200, "GET /api/v1/alerts is 200")
    api = json.loads(body)
    p = run_tocsin(["alerts", "--json", "-c", d.cfg, "--store", d.store])
    check(p.returncode == 0, "tocsin alerts --json exits 0: %s" % p.stderr)
    cli = json.loads(p.stdout)
    key = lambda a: a["fingerprint"]  # noqa: E731
    api.sort(key=key)
    cli.sort(key=key)
    check(len(api) == len(cli) == 2, "both list the two firing alerts")
    for a, c in zip(api, cli):
        check(list(a) == list(c), "same keys in the same order: %s vs %s"
              % (list(a), list(c)))
        same = all(abs(a[k] - c[k]) < 1e-6
                   if isinstance(a[k], float) or isinstance(c[k], float)
                   else a[k] == c[k] for k in a)
        check(same, "same values: %s vs %s" % (a, c))
        for k, t in (("fingerprint", str), ("rule", str), ("labels", dict),
                     ("severity", str), ("value", float), ("reason", str),
                     ("since", (int, float)), ("updated", (int, float))):
            check(isinstance(a[k], t if t is not float else (int, float)),
                  "alerts.%s has the expected JSON type" % k)
        check(a["severity"] == "critical" and a["rule"] == "cpu_high",
              "severity and rule as recorded")
        check(a["labels"].get("alertname") == "cpu_high",
              "labels carry alertname")

    # silences: API-made, seen by the CLI.
    st, body = d.request("POST", "/api/v1/silences", json.dumps(
        {"matchers": "alertname=cpu_high,host=a", "for": "2h",
         "comment": "deploy", "created_by": "ops"}))
    check(st == 201, "POST /api/v1/silences is 201 (%d %s)" % (st, body))
    sid = json.loads(body)["id"]
    st, body = d.request("GET", "/api/v1/silences")
    api_s = json.loads(body)
    p = run_tocsin(["silence", "list", "--json", "-c", d.cfg, "--store",
                    d.store])
    cli_s = json.loads(p.stdout)
    check(st == 200 and len(api_s) == len(cli_s) == 1,
          "API and CLI each list the one active silence")
    check(list(api_s[0]) == list(cli_s[0]),
          "silence objects have the same keys: %s vs %s"
          % (list(api_s[0]), list(cli_s[0])))
    check(all(abs(api_s[0][k] - cli_s[0][k]) < 1e-6
              if k in ("starts", "ends") else api_s[0][k] == cli_s[0][k]
              for k in api_s[0]), "and the same values: %s vs %s"
          % (api_s[0], cli_s[0]))
    check(api_s[0]["id"] == sid and api_s[0]["active"] is True and
          abs(api_s[0]["ends"] - api_s[0]["starts"] - 7200) < 1e-3,
          "id, active and a 2h span")

    def ms(t):
        return abs(t * 1000 - round(t * 1000)) < 1e-3

    # CLI-made, expired over HTTP.
    p = run_tocsin(["silence", "add", "-c", d.cfg, "--store", d.store,
                    "--match", "host=b", "--for", "1h"])
    check(p.returncode == 0, "silence add exits 0: %s" % p.stderr)
    sid2 = int(p.stdout)
    listed = json.loads(d.request("GET", "/api/v1/silences")[1])
    ids = sorted(s["id"] for s in listed)
    check(ids == sorted([sid, sid2]), "the CLI's silence is listed over "
          "HTTP: %s" % ids)
    check(all(ms(s["starts"]) and ms(s["ends"]) for s in listed),
          "silence times are whole milliseconds, as event times: %s"
          % listed)
    check(d.request("DELETE", "/api/v1/silences/%d" % sid2)[0] == 204,
          "DELETE of the CLI's silence is 204")
    p = run_tocsin(["silence", "expire", str(sid), "-c", d.cfg, "--store",
                    d.store])
    check(p.returncode == 0, "silence expire of the API's silence exits 0")
    check(json.loads(d.request("GET", "/api/v1/silences")[1]) == [],
          "no active silence over HTTP after both expiries")
    p = run_tocsin(["silence", "list", "--json", "-c", d.cfg, "--store",
                    d.store])
    check(json.loads(p.stdout) == [], "none in the CLI either")
finally:
    rc = d.stop()
check(rc == 0, "SIGTERM exits 0")
print("http api conformance: all checks passed")
