"""A reload that redefines a rule resolves its alerts (reason reload); an
alert the new definition fires afterwards must survive the next restart,
SIGTERM or kill -9: still firing in the store, the API and the engine,
with no second "resolved" (SPEC section 5: a restart resumes from the
stored state). The series a reload drops are deleted from the store with
it: a start with the rule defined back as it was must not restore them
as firing when their alerts were resolved."""
import os
import re
import signal
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config, wait_until  # noqa: E402


def rule(window):
    return ("rules:\n  - name: cpu\n    metric: cpu\n    by: [host]\n"
            "    window: %s\n    aggregate: max\n    severity:\n"
            "      critical: {above: 90}\n" % window)


def sample(host, v):
    return '{"metric":"cpu","labels":{"host":"%s"},"value":%d}\n' % (host, v)


def firing_gauge(d):
    m = re.search(r'^tocsin_alerts_firing\{severity="critical"\} (\d+)$',
                  d.metrics(), re.M)
    return m and int(m.group(1))


def api_hosts(d):
    return sorted(a["labels"]["host"] for a in d.alerts())


def events(d, host):
    return [(e["event"], e.get("reason")) for e in d.history()
            if e["labels"]["host"] == host]


def series_rows(d):
    db = sqlite3.connect(d.store, timeout=10)
    try:
        return sorted(r[0] for r in db.execute(
            "SELECT key FROM series WHERE rule = 'cpu'"))
    finally:
        db.close()


for how in ("SIGTERM", "kill -9"):
    work = os.path.abspath(how.replace(" ", "").replace("-", ""))
    os.makedirs(work)
    d = Daemon(work, config(rule("1s"))).start()
    st, _ = d.ingest(sample("a", 95) + sample("b", 95), fmt="json")
    check(st == 204 and api_hosts(d) == ["a", "b"], "%s: a and b fire" % how)
    d.write_config(config(rule("2s")))
    d.signal(signal.SIGHUP)
    check(wait_until(lambda: api_hosts(d) == [], 20) is True,
          "%s: the reload that redefines the rule resolves them" % how)
    st, _ = d.ingest(sample("a", 95), fmt="json")
    check(st == 204 and api_hosts(d) == ["a"],
          "%s: a fires again under the new definition" % how)
    if how == "SIGTERM":
        check(d.stop() == 0, "SIGTERM exits 0")
    else:
        d.kill9()
    d.start()
    check(api_hosts(d) == ["a"], "%s: after the restart a is still firing "
          "(API: %s)" % (how, api_hosts(d)))
    check(events(d, "a") == [("firing", "threshold"), ("resolved", "reload"),
                             ("firing", "threshold")],
          "%s: and no second resolved was recorded (%s)"
          % (how, events(d, "a")))
    check(firing_gauge(d) == 1, "%s: /metrics agrees (%s)"
          % (how, firing_gauge(d)))
    check(series_rows(d) == ["cpu\x1fa"],
          "%s: b's row saved under the old definition is gone (%s)"
          % (how, series_rows(d)))
    # The engine agrees with the store: a recovers, then fires again.
    st, _ = d.ingest(sample("a", 10), fmt="json")
    check(st == 204, "%s: a recovering sample" % how)
    check(wait_until(lambda: api_hosts(d) == [], 20) is True,
          "%s: a resolves once its window no longer holds 95" % how)
    st, _ = d.ingest(sample("a", 95), fmt="json")
    check(api_hosts(d) == ["a"], "%s: and fires again" % how)
    check(d.stop() == 0, "%s: the restarted daemon stops" % how)
# The rule defined back as it was, across a restart: the alert the reload
# resolved must not come back firing in the engine only (where a breaching
# sample would then change nothing).
work = os.path.abspath("back")
os.makedirs(work)
d = Daemon(work, config(rule("1s"))).start()
st, _ = d.ingest(sample("a", 95), fmt="json")
check(st == 204 and api_hosts(d) == ["a"], "back: a fires")
d.write_config(config(rule("2s")))
d.signal(signal.SIGHUP)
check(wait_until(lambda: api_hosts(d) == [], 20) is True,
      "back: the reload resolves it")
check(series_rows(d) == [], "back: and deletes its saved series (%s)"
      % series_rows(d))
check(d.stop() == 0, "back: SIGTERM exits 0")
d.write_config(config(rule("1s")))
d.start()
check(firing_gauge(d) == 0, "back: started on the first definition, "
      "nothing is firing (%s)" % firing_gauge(d))
st, _ = d.ingest(sample("a", 95), fmt="json")
check(api_hosts(d) == ["a"] and events(d, "a")[-1] == ("firing", "threshold"),
      "back: a breaching sample fires it again (%s)" % events(d, "a"))
check(d.stop() == 0, "back: the daemon stops")
print("ok")
