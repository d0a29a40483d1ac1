"""SIGHUP to a config whose HTTP listen address or StatsD port is taken:
the config is rejected like an invalid file, and the running one keeps its
HTTP server and its StatsD listener; once the port is free, the same config
reloads. An input that cannot bind at start stops the start (exit 1)."""
import os
import re
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, check, config,  # noqa: E402
                            wait_until)

CPU = CPU_RULE


def statsd_cfg(port, listen="127.0.0.1:0"):
    return config(CPU, inputs='inputs:\n  - statsd: {listen: "127.0.0.1:%d"}'
                  '\n' % port).replace("listen: 127.0.0.1:0",
                                       "listen: " + listen)


def free_udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def sighup(config, outcome):
    """Write config (None: keep the file), send SIGHUP and wait for the log
    line "config OUTCOME"; returns the log written since."""
    if config is not None:
        d.write_config(config)
    off = len(d.log())
    d.signal(signal.SIGHUP)
    found = d.wait_log(r"config " + outcome, 20, off) is not None
    return found, d.log()[off:]


def sends_through(port, line):
    """Send line to the StatsD port; True once the daemon counts it."""
    n0 = ingested(d)
    tx.sendto(line, ("127.0.0.1", port))
    return bool(wait_until(lambda: ingested(d) > n0, 10))


def ingested(d):
    m = re.search(r'tocsin_samples_ingested_total\{input="statsd"\} (\d+)',
                  d.metrics())
    return int(m.group(1)) if m else 0


udp1 = free_udp()
d = Daemon(".", statsd_cfg(udp1)).start()
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
check(sends_through(udp1, b"cpu:95|g|#host:u1\n"),
      "the StatsD listener ingests before the reload")

# 1. listen moves to a port someone holds: rejected, the API stays.
taken = socket.socket()
taken.bind(("127.0.0.1", 0))
taken.listen(1)
tport = taken.getsockname()[1]
found, log = sighup(statsd_cfg(udp1, "127.0.0.1:%d" % tport), "rejected")
check(found, "a taken listen address rejects the config")
check("config reloaded" not in log, "it is not called reloaded")
check(d.healthy(), "the running HTTP server still answers")

# 2. the StatsD port moves to one someone holds: rejected, old one runs.
held = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
held.bind(("127.0.0.1", 0))
uport = held.getsockname()[1]
check(sighup(statsd_cfg(uport), "rejected")[0],
      "a taken StatsD port rejects the config")
check(sends_through(udp1, b"cpu:96|g|#host:u2\n"),
      "the old StatsD listener still ingests")

# 3. the port is free again: the same config reloads.
held.close()
check(sighup(None, "reloaded")[0],
      "with the port free, the same config reloads")
check(sends_through(uport, b"cpu:97|g|#host:u3\n"),
      "the new StatsD port ingests")
check(d.stop() == 0, "SIGTERM exits 0")

# 4. at start, a StatsD port in use is as fatal as a taken listen address.
held = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
held.bind(("127.0.0.1", 0))
d2 = Daemon(".", statsd_cfg(held.getsockname()[1]), name="taken")
p = subprocess.run([os.environ["TOCSIN"], "run", "-c", d2.cfg],
                   capture_output=True, text=True, timeout=60)
print(p.stderr[-600:])
check(p.returncode == 1, "a StatsD port in use at start: exit 1 (%d)"
      % p.returncode)
held.close()
taken.close()
print("all checks passed")
