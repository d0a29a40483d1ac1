"""A counter of /metrics never drops: the silenced notifications of a
receiver that a reload removed stay counted (Prometheus would read a drop
as a counter reset, and the next rise as new silenced notifications)."""
import json
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config, wait_until  # noqa

both = ("notifiers:\n  audit: {type: log, path: a.jsonl}\n"
        "  audit2: {type: log, path: b.jsonl}\n"
        "defaults:\n  notify: [audit, audit2]\n")
one = ("notifiers:\n  audit: {type: log, path: a.jsonl}\n"
       "defaults:\n  notify: [audit]\n")
d = Daemon(".", config(CPU_RULE, both)).start()
st, _ = d.request("POST", "/api/v1/silences",
                  json.dumps({"matchers": "host=s1", "for": "1h"}))
check(st == 201, "silence added (%d)" % st)
st, _ = d.ingest('{"metric":"cpu","labels":{"host":"s1"},"value":95}\n')
check(st == 204, "ingest answers 204")


def silenced(name):
    m = re.search(r'tocsin_notifications_total\{notifier="%s",'
                  r'outcome="silenced"\} (\d+)' % name, d.metrics())
    return int(m.group(1)) if m else -1


check(bool(wait_until(lambda: silenced("audit2") == 1, 20)),
      "audit2 counts one silenced notification (%d)" % silenced("audit2"))
off = len(d.log())
d.write_config(config(CPU_RULE, one))
d.signal(signal.SIGHUP)
check(d.wait_log(r"config reloaded", 20, off) is not None, "reloaded")
check(silenced("audit2") == 1,
      "after audit2 is removed its silenced count stays 1 (%d)"
      % silenced("audit2"))
check(d.stop() == 0, "SIGTERM exits 0")
print("ok")
