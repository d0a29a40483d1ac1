"""The daemon's StatsD input over UDP: counters, gauges and timers with
DogStatsD tags, several lines per datagram, fire rules; bad lines are
counted as rejected. Gauge deltas move the gauge's last value whichever
way it came (UDP packet, HTTP request), with the tags in any order, and
across a restart (the store keeps the gauge values)."""
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, check, config, wait_until  # noqa: E402

rules = """rules:
  - name: queue_deep
    metric: queue.depth
    by: [queue]
    severity:
      warning: {above: 100}
  - name: slow_api
    metric: api.latency
    by: [service]
    severity:
      critical: {above: 500}
  - name: errors_counted
    metric: api.errors
    by: [service]
    severity:
      warning: {above: 2}
  - name: pool_used
    metric: pool.used
    by: [host]
    severity:
      warning: {above: 10}
"""
inputs = 'inputs:\n  - statsd: {listen: "127.0.0.1:0"}\n'
d = Daemon(".", config(rules, inputs=inputs)).start()
m = d.wait_log(r"statsd: listening on 127\.0\.0\.1:(\d+)")
check(m is not None, "the StatsD listener logs its port")
port = int(m.group(1))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"queue.depth:250|g|#queue:mail\n"
         b"api.latency:900|ms|#service:api\n"
         b"api.errors:5|c|#service:api\n"
         b"garbage line without a type\n", ("127.0.0.1", port))


def rules_firing():
    got = {a["rule"]: a for a in (d.alerts() or [])}
    return {"queue_deep", "slow_api", "errors_counted"} <= set(got) and got


got = wait_until(rules_firing, 20)
check(bool(got), "gauge, timer and counter from one datagram fire their "
      "rules (%s)" % (sorted(got) if got else None))
check(got and got["queue_deep"]["labels"].get("queue") == "mail",
      "DogStatsD tags become labels")


def rejected():
    mm = re.search(r'tocsin_samples_rejected_total\{input="statsd"\} (\d+)',
                   d.metrics())
    return mm and int(mm.group(1)) >= 1


check(bool(wait_until(rejected, 10)), "the garbage line is counted as "
      "rejected")
check(d.healthy(), "a bad line is never fatal")

# A gauge set over UDP, then moved by deltas in two HTTP requests: 5 + 4 + 3
# is 12, above 10. Were each request its own gauge, the last value would
# be 3 (or 4) and nothing would fire.
s.sendto(b"pool.used:5|g|#host:gd,env:prod\n", ("127.0.0.1", port))


def gauge_seen():
    mm = re.search(r'tocsin_samples_ingested_total\{input="statsd"\} (\d+)',
                   d.metrics())
    return mm and int(mm.group(1)) >= 4


check(bool(wait_until(gauge_seen, 10)), "the UDP gauge was ingested")
r1 = d.ingest("pool.used:+4|g|#env:prod,host:gd\n", fmt="statsd")
r2 = d.ingest("pool.used:+3|g|#host:gd,env:prod\n", fmt="statsd")
check(r1[0] == 204 and r2[0] == 204, "both deltas accepted (%s, %s)"
      % (r1[0], r2[0]))
pool = [a for a in (d.alerts() or []) if a["rule"] == "pool_used"]
check(len(pool) == 1 and pool[0].get("value") == 12,
      "deltas over HTTP add to the gauge's last value (%s)" % pool)
check(d.stop() == 0, "SIGTERM exits 0")

# The gauge's value outlives a restart: 12 - 8 is 4 (the alert resolves),
# where a gauge forgotten at the stop would read -8.
d.start()
r = d.ingest("pool.used:-8|g|#host:gd,env:prod\n", fmt="statsd")
check(r[0] == 204, "the delta after the restart is accepted (%s)" % r[0])
pool = [a for a in (d.alerts() or []) if a["rule"] == "pool_used"]
check(pool == [], "after a restart the delta applies to the kept value "
      "(the alert resolved: %s)" % pool)
r = d.ingest("pool.used:+7|g|#host:gd,env:prod\n", fmt="statsd")
pool = [a for a in (d.alerts() or []) if a["rule"] == "pool_used"]
check(len(pool) == 1 and pool[0].get("value") == 11,
      "and goes on from there (4 + 7 = 11: %s)" % pool)
check(d.stop() == 0, "SIGTERM exits 0 again")
