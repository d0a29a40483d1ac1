"""A followed file goes on where it was left across restarts: lines written
while the daemon was stopped (SIGTERM) or dead (kill -9) are read when it
starts again, and no committed line is read twice (the file input's sample
count grows by exactly the new lines); a file replaced while the daemon was
down is read from its start; a reload that changes the input (its format)
loses no line written just before it (also when it fails); a second input
following the same file is a config error. Lines have no timestamp, so a line read twice
would be ingested twice, not dropped as late."""
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, check, config, cpu_lines,  # noqa: E402
                            run_tocsin, wait_until)

path = os.path.abspath("app.jsonl")
cpu_lines(path, "old", mode="w")
inputs = ('inputs:\n  - file: {path: "%s", format: json, follow: true}\n'
          % path)
d = Daemon(".", config(CPU_RULE, inputs=inputs))


def arrive(*want):
    return wait_until(lambda: set(want) <= d.alert_hosts(), 20)


d.start()
cpu_lines(path, "a1", "a2")
check(arrive("a1", "a2"), "lines appended after start arrive")
check("old" not in d.alert_hosts(),
      "the first start reads the file from its end")
check(d.stop() == 0, "SIGTERM exits 0")

cpu_lines(path, "b1", "b2", "b3")  # while stopped
d.start()
check(arrive("b1", "b2", "b3"), "lines written while stopped are read")
check(wait_until(lambda: d.ingested("file") == 3, 10) and d.ingested("file") == 3,
      "and only they: 3 samples from the file, not the lines read before "
      "(%d)" % d.ingested("file"))
cpu_lines(path, "c1")
check(arrive("c1"), "following goes on")
d.kill9()

cpu_lines(path, "d1", "d2")  # while dead
d.start()
check(arrive("d1", "d2"), "lines written after a kill -9 are read")
check(wait_until(lambda: d.ingested("file") == 2, 10) and d.ingested("file") == 2,
      "and no committed line twice (%d samples)" % d.ingested("file"))
check(d.stop() == 0, "SIGTERM exits 0")

os.rename(path, path + ".1")  # rotated while stopped
cpu_lines(path, "e1", mode="w")
d.start()
check(arrive("e1"), "a file replaced while stopped is read from its start")
check(wait_until(lambda: d.ingested("file") == 1, 10) and d.ingested("file") == 1,
      "its one line (%d samples)" % d.ingested("file"))
check("replaced or truncated" in d.log(), "and the log says why")

# A reload that changes how the file is read (its format) loses nothing
# written just before it: the replaced input stops first and the new one
# reads on from its position.
d.write_config(config(CPU_RULE, inputs=inputs.replace("format: json", "format: auto")))
for i in range(5):
    cpu_lines(path, "f%d" % i)
    off = len(d.log())
    d.signal(signal.SIGHUP)
    check(d.wait_log(r"config reloaded", 20, off) is not None,
          "reload %d is done" % i)
    d.write_config(config(CPU_RULE, inputs=inputs if i % 2 else
                          inputs.replace("format: json", "format: auto")))
check(arrive(*["f%d" % i for i in range(5)]),
      "every line written just before a reload arrives")
check(wait_until(lambda: d.ingested("file") == 6, 10) and d.ingested("file") == 6,
      "once each (%d samples)" % d.ingested("file"))
# Reloads that change the format back and forth with nothing written in
# between read nothing again.
for fmt in ("auto", "json", "auto"):
    d.write_config(config(CPU_RULE, inputs=inputs.replace(
        "format: json", "format: " + fmt)))
    off = len(d.log())
    d.signal(signal.SIGHUP)
    check(d.wait_log(r"config reloaded", 20, off) is not None,
          "reload to %s is done" % fmt)
cpu_lines(path, "f5")
check(arrive("f5"), "a line after them arrives")
check(wait_until(lambda: d.ingested("file") == 7, 10) and d.ingested("file") == 7,
      "nothing is read twice (%d samples)" % d.ingested("file"))
check(d.stop() == 0, "SIGTERM exits 0")
# A restart with another format reads on from the same position.
cpu_lines(path, "f6")
d.write_config(config(CPU_RULE, inputs=inputs))
d.start()
check(arrive("f6"), "a restart with another format reads on")
check(wait_until(lambda: d.ingested("file") == 1, 10) and d.ingested("file") == 1,
      "the line written while down only (%d samples)" % d.ingested("file"))
# A reload that changes the format but fails (its StatsD port is taken)
# leaves the running input reading on: nothing lost, nothing twice.
busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
busy.bind(("127.0.0.1", 0))
d.write_config(config(CPU_RULE, inputs=inputs.replace(
    "format: json", "format: auto") + '  - statsd: {listen: "127.0.0.1:%d"}\n'
    % busy.getsockname()[1]))
cpu_lines(path, "f7")
off = len(d.log())
d.signal(signal.SIGHUP)
check(d.wait_log(r"config rejected", 20, off) is not None,
      "the reload is rejected")
busy.close()
cpu_lines(path, "f8")
check(arrive("f7", "f8"), "lines around it arrive")
check(wait_until(lambda: d.ingested("file") == 3, 10) and d.ingested("file") == 3,
      "once each (%d samples)" % d.ingested("file"))
check(d.stop() == 0, "SIGTERM exits 0")

# One input per followed file (its position is the file's): a second one
# is a config error; format: auto reads lines of mixed formats.
d.write_config(config(CPU_RULE, inputs=inputs + (
    '  - file: {path: "%s", format: influx, follow: true}\n' % path)))
p = run_tocsin(["check", "-c", d.cfg])
check(p.returncode == 1 and "is followed by the input at line" in p.stdout
      + p.stderr, "two inputs following one file: check refuses (%s)"
      % (p.stdout + p.stderr).strip())
d.write_config(config(CPU_RULE, inputs=inputs.replace("format: json",
                                                      "format: auto")))
d.start()
with open(path, "a") as f:
    f.write("cpu,host=g1 value=99\n")
cpu_lines(path, "g2")
check(arrive("g1", "g2"), "format: auto reads both: %s" % d.alert_hosts())
check(d.stop() == 0, "SIGTERM exits 0")
# The position is the file's whatever spells its folder: the config read
# as `-c daemon.yaml` (its folder ".") and as `-c /abs/daemon.yaml` names
# one file with a relative `path`.
d.write_config(config(CPU_RULE, inputs=(
    'inputs:\n  - file: {path: app.jsonl, format: json, follow: true}\n')))
absolute = d.cfg
d.cfg = os.path.basename(absolute)  # the harness runs in the config's folder
d.start()
cpu_lines(path, "h1")
check(arrive("h1"), "read through -c daemon.yaml")
check(d.stop() == 0, "SIGTERM exits 0")
cpu_lines(path, "h2")
d.cfg = absolute
d.start()
check(arrive("h2"), "a line written while down is read through -c %s"
      % absolute)
check(wait_until(lambda: d.ingested("file") == 1, 10) and d.ingested("file") == 1,
      "and only it (%d samples)" % d.ingested("file"))
check(d.stop() == 0, "SIGTERM exits 0")
print("daemon file resume: all checks passed")
