"""A silence that begins while a notification waits (queued by an earlier
`eval --store`, retrying against a failing receiver) holds it back when it
is due (SPEC 6: silences suppress notifications for the alerts they match
while active): the row ends `silenced`, not sent; it is counted as silenced
by `eval --notify`, the report and /metrics; and the receiver, which never
got the alert, does not get its "resolved" either."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check,  # noqa: E402
                            config, wait_until, webhook_notifier)
from receiver import outbox_rows, run_tocsin, write  # noqa: E402

T0 = 1767225600


ROUTE_CRITICAL = "routes:\n  - match: {severity: critical}\n    notify: [hook]\n"
ROUTE_ALERTNAME = "routes:\n  - match: {alertname: cpu_high}\n    notify: [hook]\n"
DEFAULT_HOOK = "defaults:\n  notify: [hook]\n"


def sample(host, value, ts):
    return ('{"metric":"cpu","labels":{"host":"%s"},"value":%d,"ts":%d}\n'
            % (host, value, ts))


def live(host, value):
    """A sample for the daemon, stamped on arrival."""
    return '{"metric":"cpu","labels":{"host":"%s"},"value":%d}\n' % (host, value)


def cli_config(path, url, routing, hook_extra="", rules=CPU_RULE):
    """A config for eval and silence runs: webhook `hook` to url (its flow
    map ends with hook_extra), the routing block, the rules."""
    write(path, "notifiers:\n  hook: {type: webhook, url: %s%s}\n%s%s"
          % (url, hook_extra, routing, rules))


def daemon(url, routing, name, hook_extra="", backoff=None):
    """A started daemon with CPU_RULE and webhook `hook` to url."""
    hook = webhook_notifier(url, extra=hook_extra)
    if backoff:
        hook = hook.replace("retry_backoff: 100ms", "retry_backoff: " + backoff)
    dm = Daemon(".", config(CPU_RULE, hook, routing), name=name)
    dm.start()
    return dm


def statuses(store):
    return [r["status"] for r in outbox_rows(store)[0]]


def settled(store, timeout=30):
    """Every outbox row of store ended (bounded wait)."""
    return wait_until(lambda: "pending" not in statuses(store),
                      timeout) is True


def passes(dm):
    return int(re.search(r"^tocsin_evaluation_duration_seconds_count (\d+)$",
                         dm.metrics(), re.M).group(1))


# --- 1. Queued by eval --store, silenced before eval --notify sends it.
rcv = HttpReceiver().start()
# Only critical events are routed: a resolved event reaches a receiver only
# because it heard the alert fire.
cli_config("cfg.yaml", rcv.url(), ROUTE_CRITICAL)
write("fire.jsonl", sample("a", 99, T0) + sample("b", 99, T0))
p = run_tocsin(["eval", "-c", "cfg.yaml", "--store", "st.db", "fire.jsonl"])
check(p.returncode == 0, "eval --store queues two firings (%s)" % p.stderr)
fp_host = {e["fingerprint"]: e["labels"]["host"]
           for e in map(json.loads, p.stdout.splitlines())}
p = run_tocsin(["silence", "add", "-c", "cfg.yaml", "--store", "st.db",
                "--match", "host=a", "--for", "1h"])
check(p.returncode == 0, "silence add (%s)" % p.stderr)
p = run_tocsin(["eval", "--notify", "-c", "cfg.yaml", "--store", "st.db",
                "/dev/null"])
check(p.returncode == 0, "eval --notify exits 0 (%s)" % p.stderr)
check("1 sent, 0 failed, 1 silenced" in p.stderr,
      "its summary counts the held-back notification as silenced (%s)"
      % p.stderr.strip())
bodies = [r["body"] for r in rcv.requests]
check(len(bodies) == 1 and '"host":"b"' in bodies[0],
      "only the unsilenced alert reached the receiver (%d requests)"
      % len(bodies))
rows, _ = outbox_rows("st.db")
by_host = {}
for r in rows:
    by_host[fp_host[r["fingerprint"]]] = r
check(by_host["a"]["status"] == "silenced" and
      "silence" in (by_host["a"]["last_error"] or ""),
      "the held-back row is silenced and says why (%s, %s)"
      % (by_host["a"]["status"], by_host["a"]["last_error"]))
check(by_host["b"]["status"] == "sent", "the other row is sent")
p = run_tocsin(["report", "-c", "cfg.yaml", "--store", "st.db", "--since",
                str(T0 - 60), "--until", str(T0 + 3600), "--format", "json"])
rep = json.loads(p.stdout)
notes = rep["rules"][0]["notifications"]
check(notes == {"sent": 1, "failed": 0, "silenced": 1},
      "the report counts one sent, one silenced (%s)" % notes)

# The silence ends; both alerts resolve. The receiver heard b fire and
# gets its resolved; it never got a's firing, so no resolved for a.
p = run_tocsin(["silence", "list", "-c", "cfg.yaml", "--store", "st.db",
                "--json"])
sid = json.loads(p.stdout)[0]["id"]
p = run_tocsin(["silence", "expire", "-c", "cfg.yaml", "--store", "st.db",
                str(sid)])
check(p.returncode == 0, "silence expire (%s)" % p.stderr)
write("ok.jsonl", sample("a", 10, T0 + 60) + sample("b", 10, T0 + 60))
p = run_tocsin(["eval", "--notify", "-c", "cfg.yaml", "--store", "st.db",
                "ok.jsonl"])
check(p.returncode == 0, "the resolving run exits 0 (%s)" % p.stderr)
resolved = [r["body"] for r in rcv.requests if '"resolved"' in r["body"]]
check(len(resolved) == 1 and '"host":"b"' in resolved[0],
      "one resolved, for the alert the receiver heard (%s)"
      % [re.findall(r'"host":"(\w)"', b) for b in resolved])
rcv.stop()

# --- 2. Rows silenced when due take no rate-limit token: with one message
# a minute allowed, three silenced rows ahead of an unsilenced one do not
# hold it back for three minutes.
rl = HttpReceiver().start()
cli_config("rl.yaml", rl.url(), DEFAULT_HOOK,
           hook_extra=", rate_limit: 1/1m, burst: 1")
write("rl.jsonl", "".join(sample(h, 99, T0 + i)
                          for i, h in enumerate(["q1", "q2", "q3", "z"])))
p = run_tocsin(["eval", "-c", "rl.yaml", "--store", "rl.db", "rl.jsonl"])
check(p.returncode == 0, "four firings queued (%s)" % p.stderr)
p = run_tocsin(["silence", "add", "-c", "rl.yaml", "--store", "rl.db",
                "--match", "host=~q.*", "--for", "1h"])
check(p.returncode == 0, "silence add (%s)" % p.stderr)
try:
    p = run_tocsin(["eval", "--notify", "-c", "rl.yaml", "--store", "rl.db",
                    "/dev/null"], timeout=100)
    done = p.returncode == 0 and "1 sent, 0 failed, 3 silenced" in p.stderr
except subprocess.TimeoutExpired:
    done = False
check(done and len(rl.requests) == 1 and '"host":"z"' in rl.requests[0]["body"],
      "the unsilenced alert goes with the first token, the silenced rows "
      "took none (%d requests)" % len(rl.requests))
rl.stop()

# --- 3. The daemon: a firing retried against a failing receiver is held
# back once a silence is added over HTTP.
fail = HttpReceiver({"/hook": [{"status": 503, "body": "down"}]}).start()
d = daemon(fail.url(), DEFAULT_HOOK, "daemon")
st, _ = d.ingest(live("a", 99), fmt="json")
check(st == 204, "ingest")
check(len(fail.wait_for(2, 30)) >= 2,
      "the receiver is tried, and tried again (%d requests)"
      % len(fail.requests))
st, body = d.request("POST", "/api/v1/silences", json.dumps(
    {"matchers": "alertname=cpu_high", "for": "1h"}))
check(st == 201, "POST /api/v1/silences (%d %s)" % (st, body))
check(wait_until(lambda: statuses(d.store) == ["silenced"], 30) is True,
      "the retrying row ends silenced (%s)" % statuses(d.store))
tried = len(fail.requests)
m = re.search(r'^tocsin_notifications_total\{notifier="hook",'
              r'outcome="silenced"\} (\d+)$', d.metrics(), re.M)
check(m is not None and int(m.group(1)) == 1,
      "/metrics counts it as silenced (%s)" % (m.group(0) if m else None))
# A later evaluation pass delivers nothing more for it.
n = passes(d)
wait_until(lambda: passes(d) >= n + 2, 30)
check(len(fail.requests) == tried,
      "no attempt after it was silenced (%d, then %d)"
      % (tried, len(fail.requests)))
d.stop()
fail.stop()

# --- 4. A firing silenced when due takes its queued "resolved" with it:
# the receiver (routed critical only; it gets resolved events because it
# heard the alert) never got the firing, so no resolved either.
flaky = HttpReceiver({"/hook": [{"status": 503, "body": "down"},
                                {"status": 200, "body": "ok"}]}).start()
d2 = daemon(flaky.url(), ROUTE_CRITICAL, "d2", backoff="3s")
st, _ = d2.ingest(live("a", 99), fmt="json")
check(st == 204 and len(flaky.wait_for(1, 30)) == 1,
      "the firing is tried once (503) and waits to be retried")
st, _ = d2.ingest(live("a", 10), fmt="json")
check(st == 204, "the resolved is queued behind it")
st, _ = d2.request("POST", "/api/v1/silences", json.dumps(
    {"matchers": "alertname=cpu_high,severity=critical", "for": "1h"}))
check(st == 201, "a silence of the critical alerts")
check(wait_until(lambda: "pending" not in statuses(d2.store) and
                 len(statuses(d2.store)) == 2, 30) is True and
      statuses(d2.store) == ["silenced", "silenced"],
      "the firing and the resolved queued behind it both end silenced (%s)"
      % statuses(d2.store))
check(not [r for r in flaky.requests if '"resolved"' in r["body"]],
      "the receiver got no resolved for a firing it never got")
d2.stop()
flaky.stop()

# --- 5. A silence recorded with the firing ends before the resolved: a
# receiver routed by alertname (the resolved matches its route) gets no
# resolved for the firing it never got, as in Alertmanager.
rr = HttpReceiver().start()
cli_config("rr.yaml", rr.url(), ROUTE_ALERTNAME)
p = run_tocsin(["silence", "add", "-c", "rr.yaml", "--store", "rr.db",
                "--match", "host=a", "--start", str(T0 - 60), "--for", "2m"])
check(p.returncode == 0, "a silence around the firing only (%s)" % p.stderr)
write("rr.jsonl", sample("a", 99, T0) + sample("b", 99, T0) +
      sample("a", 10, T0 + 3600) + sample("b", 10, T0 + 3600))
p = run_tocsin(["eval", "--notify", "-c", "rr.yaml", "--store", "rr.db",
                "rr.jsonl"])
check(p.returncode == 0, "eval --notify (%s)" % p.stderr)
got = sorted((json.loads(r["body"])["alerts"][0]["labels"]["host"],
              json.loads(r["body"])["status"]) for r in rr.requests)
check(got == [("b", "firing"), ("b", "resolved")],
      "a's firing was silenced, and its resolved is not sent (%s)" % got)
rr.stop()

# --- 6. Requests rendered before a silence and still waiting in the
# senders for a connection are called back: only those already on the
# wire go out.
slow = HttpReceiver({"/hook": [{"status": 200, "body": "ok",
                                "delay": 3}]}).start()
d3 = daemon(slow.url(), DEFAULT_HOOK, "d3", hook_extra="    timeout: 20s\n")
st, _ = d3.ingest("".join(live("h%03d" % i, 99) for i in range(80)),
                  fmt="json")
check(st == 204, "80 alerts fire")
# At most 32 transfers per receiver run at once (README, Delivery): the
# first wave is on the wire, the other 48 wait.
first = slow.wait_for(32, 30)
check(len(first) == 32, "the slow receiver is sent a first wave of 32")
st, _ = d3.request("POST", "/api/v1/silences", json.dumps(
    {"matchers": "alertname=cpu_high", "for": "1h"}))
t_sil = time.monotonic()
check(st == 201, "a silence while most wait for a connection")
check(settled(d3.store, 60), "every row ends")
rows = outbox_rows(d3.store)[0]
sent = len([r for r in rows if r["status"] == "sent"])
check(len(slow.requests) == sent == 32 and
      len([r for r in rows if r["status"] == "silenced"]) == 48,
      "those on the wire were sent (%d of %d requests), none started after "
      "the silence: the other 48 are silenced" % (sent, len(slow.requests)))
d3.stop()
slow.stop()

# --- 7. A silence that matches none of the waiting requests still calls
# them back to be judged again; they get their rate-limit tokens back, so
# with 40 tokens an hour the 40 alerts all go out at once.
slow = HttpReceiver({"/hook": [{"status": 200, "body": "ok",
                                "delay": 2}]}).start()
d4 = daemon(slow.url(), DEFAULT_HOOK, "d4",
           hook_extra="    timeout: 20s\n    rate_limit: 40/1h\n"
           "    burst: 40\n")
st, _ = d4.ingest("".join(live("h%03d" % i, 99) for i in range(40)),
                  fmt="json")
check(st == 204 and len(slow.wait_for(32, 30)) == 32,
      "40 alerts fire: 32 on the wire, 8 waiting")
st, _ = d4.request("POST", "/api/v1/silences", json.dumps(
    {"matchers": "alertname=unrelated", "for": "1h"}))
check(st == 201, "an unrelated silence")
check(len(slow.wait_for(40, 30)) == 40,
      "the 8 called back are sent with the tokens they had (%d requests)"
      % len(slow.requests))
d4.stop()
slow.stop()

# --- 8. A receiver that heard the firing but whose escalation was silenced
# when due still gets the resolved (it is a hearer).
hr = HttpReceiver().start()
cli_config("hr.yaml", hr.url(), ROUTE_ALERTNAME, rules="""rules:
  - name: cpu_high
    metric: cpu
    by: [host]
    severity: {warning: {above: 50}, critical: {above: 90}}
""")
write("hr1.jsonl", sample("a", 60, T0))
write("hr2.jsonl", sample("a", 99, T0 + 60))
write("hr3.jsonl", sample("a", 10, T0 + 120))
p = run_tocsin(["eval", "--notify", "-c", "hr.yaml", "--store", "hr.db",
                "hr1.jsonl"])
check(p.returncode == 0 and len(hr.requests) == 1, "the warning firing is sent")
p = run_tocsin(["eval", "-c", "hr.yaml", "--store", "hr.db", "hr2.jsonl"])
check(p.returncode == 0, "the escalation is queued")
p = run_tocsin(["silence", "add", "-c", "hr.yaml", "--store", "hr.db",
                "--match", "host=a", "--for", "1h"])
sid = p.stdout.strip()
p = run_tocsin(["eval", "--notify", "-c", "hr.yaml", "--store", "hr.db",
                "/dev/null"])
check("0 sent, 0 failed, 1 silenced" in p.stderr,
      "the escalation is silenced when due (%s)" % p.stderr.strip())
run_tocsin(["silence", "expire", "-c", "hr.yaml", "--store", "hr.db", sid])
p = run_tocsin(["eval", "--notify", "-c", "hr.yaml", "--store", "hr.db",
                "hr3.jsonl"])
got = [json.loads(r["body"])["status"] for r in hr.requests]
check(got == ["firing", "resolved"],
      "it still gets the resolved (%s)" % got)
hr.stop()

# --- 9. The next episode's firing is silenced when recorded while the last
# episode's resolved still retries; timer passes in between (reminders wait
# behind the retrying row) do not make the receiver a hearer of the new
# episode, so its resolved is not sent either.
ep = HttpReceiver({"/hook": [{"status": 200, "body": "ok"},
                             {"status": 503, "body": "down"},
                             {"status": 503, "body": "down"},
                             {"status": 200, "body": "ok"}]}).start()
d5 = daemon(ep.url(), ROUTE_CRITICAL, "d5", backoff="2s")
d5.ingest(live("a", 95), fmt="json")
check(len(ep.wait_for(1, 30)) == 1, "episode 1's firing is sent")
d5.ingest(live("a", 10), fmt="json")
check(len(ep.wait_for(2, 30)) == 2, "its resolved is tried (503)")
st, body = d5.request("POST", "/api/v1/silences", json.dumps(
    {"matchers": "severity=critical", "for": "1h"}))
d5.ingest(live("a", 95), fmt="json")
n = passes(d5)
check(wait_until(lambda: passes(d5) >= n + 2, 30) is True,
      "timer passes go by while the resolved retries")
sid = json.loads(body)["id"]
check(d5.request("DELETE", "/api/v1/silences/%d" % sid)[0] == 204,
      "the silence is expired")
d5.ingest(live("a", 10), fmt="json")
check(settled(d5.store), "every row ends")
rows = outbox_rows(d5.store)[0]
ids = {r["headers"].get("webhook-id") for r in ep.requests}
check(len(rows) == 3 and ids == {rows[0]["key"], rows[1]["key"]},
      "episode 2: its firing recorded silenced, no resolved sent (%s; %d "
      "keys received)" % ([r["status"] for r in rows], len(ids)))
d5.stop()
ep.stop()
print("ok")
