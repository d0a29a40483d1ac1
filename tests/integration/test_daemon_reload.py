"""SIGHUP: a good config is swapped in (a new rule takes effect, existing
alerts keep their state); a bad one is logged with FILE:LINE:COL and the old
config keeps running. Alerts of a rule a reload removes resolve (reason
"reload"), and so do those of a rule redefined while the daemon was down."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config  # noqa: E402

d = Daemon(".", config(CPU_RULE)).start()
st, _ = d.ingest('{"metric":"cpu","labels":{"host":"a"},"value":99}\n'
                 '{"metric":"mem","labels":{"host":"a"},"value":99}\n',
                 fmt="json")
check(st == 204, "ingest before reload")
rules = {a["rule"] for a in d.alerts()}
check(rules == {"cpu_high"}, "only cpu_high exists before the reload")

good = config(CPU_RULE + """  - name: mem_high
    metric: mem
    by: [host]
    severity:
      warning: {above: 90}
""")
d.write_config(good)
off = len(d.log())
d.signal(signal.SIGHUP)
check(d.wait_log(r"config reloaded: 2 rules", 20, off) is not None,
      "the good config is reloaded (logged)")
st, _ = d.ingest('{"metric":"mem","labels":{"host":"a"},"value":99}\n',
                 fmt="json")
rules = {a["rule"] for a in d.alerts()}
check(rules == {"cpu_high", "mem_high"},
      "the new rule takes effect after SIGHUP (%s)" % sorted(rules))


def gauge(name):
    for line in d.metrics().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


check(gauge("tocsin_config_last_reload_successful") == 1,
      "/metrics: the last reload was successful")
loaded = gauge("tocsin_config_last_reload_success_timestamp_seconds")
check(loaded is not None and abs(loaded - time.time()) < 3600,
      "/metrics: when the running config was loaded (%s)" % loaded)

# Bad config: an unknown severity on line 9.
bad = good.replace("critical: {above: 90}", "crit: {above: 90}")
d.write_config(bad)
off = len(d.log())
d.signal(signal.SIGHUP)
m = d.wait_log(r"config rejected", 20, off)
check(m is not None, "the bad config is rejected (logged)")
log = d.log()[off:]
check(re.search(re.escape(d.cfg) + r":\d+:\d+: \S", log) is not None,
      "the error is logged as FILE:LINE:COL")
check(gauge("tocsin_config_last_reload_successful") == 0,
      "/metrics: the last reload failed")
check(gauge("tocsin_config_last_reload_success_timestamp_seconds") == loaded,
      "/metrics: the running config is still the one loaded before")
st, _ = d.ingest('{"metric":"mem","labels":{"host":"b"},"value":99}\n'
                 '{"metric":"cpu","labels":{"host":"b"},"value":99}\n',
                 fmt="json")
check(st == 204, "ingest works after a rejected reload")
hosts = {(a["rule"], a["labels"]["host"]) for a in d.alerts()}
check({("mem_high", "b"), ("cpu_high", "b")} <= hosts,
      "the old (good) config keeps running: both rules fire")
hist = [e for e in d.history() if e["event"] == "firing"]
check(len([e for e in hist if e["rule"] == "cpu_high"
           and e["labels"]["host"] == "a"]) == 1,
      "an alert firing before the reloads fired exactly once")

# Remove mem_high: its alerts resolve, cpu_high's go on.
d.write_config(config(CPU_RULE))
off = len(d.log())
d.signal(signal.SIGHUP)
check(d.wait_log(r"config reloaded: 1 rule", 20, off) is not None,
      "the config without mem_high is reloaded")
rules = {a["rule"] for a in d.alerts()}
check(rules == {"cpu_high"}, "mem_high's alerts are no longer firing (%s)"
      % sorted(rules))
gone = [e for e in d.history() if e["rule"] == "mem_high"
        and e["event"] == "resolved"]
check(len(gone) == 2 and all(e["reason"] == "reload" and
                             e["previous"] == "warning" for e in gone),
      "each mem_high alert got a resolved event, reason reload (%s)" % gone)
check(d.stop() == 0, "SIGTERM exits 0")

# cpu_high redefined (a window) while the daemon is down: at start its
# alerts resolve; a new sample fires the new definition.
d.write_config(config(CPU_RULE.replace("    by: [host]\n",
                                       "    by: [host]\n    window: 1m\n"
                                       "    aggregate: max\n")))
d.start()
check(d.alerts() == [], "the redefined rule's alerts resolved at start (%s)"
      % d.alerts())
resolved = [e for e in d.history() if e["rule"] == "cpu_high"
            and e["event"] == "resolved" and e["reason"] == "reload"]
check(len(resolved) == 2, "one resolved (reload) per cpu_high alert")
st, _ = d.ingest('{"metric":"cpu","labels":{"host":"a"},"value":99}\n',
                 fmt="json")
check(st == 204 and [a["rule"] for a in d.alerts()] == ["cpu_high"],
      "a new sample fires the new definition")
check(d.stop() == 0, "SIGTERM exits 0 after the restart")

# A bad config at start: exit 1, each error a log line with its level and
# FILE:LINE:COL, like the reload's.
import subprocess  # noqa: E402
with open("bad-start.yaml", "w") as f:
    f.write("rules:\n  - name: a\n    metrc: m\n")
p = subprocess.run([os.environ["TOCSIN"], "run", "-c", "bad-start.yaml"],
                   capture_output=True, text=True, timeout=30)
lines = p.stderr.splitlines()
check(p.returncode == 1, "a bad config at start exits 1 (%d)" % p.returncode)
check(lines and all(re.match(r"^\d{4}-\d\d-\d\dT\S+Z error config: "
                             r"bad-start\.yaml:\d+:\d+: ", ln)
                    for ln in lines),
      "every start error is a log line with a level and FILE:LINE:COL (%s)"
      % lines)
check(any('unknown key "metrc"' in ln for ln in lines),
      "the unknown key is among them")
