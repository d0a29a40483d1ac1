"""The daemon's file input with follow: true behaves like tail -F: lines
written before and after a rotation (rename + new file) and after a
truncation all arrive, also when the truncated file is written past the
follower's offset before it looks again (copytruncate with a busy writer)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config, wait_until  # noqa: E402

path = os.path.abspath("app-metrics.jsonl")
inputs = ('inputs:\n  - file: {path: "%s", format: json, follow: true}\n'
          % path)
d = Daemon(".", config(CPU_RULE, inputs=inputs)).start()
check(d.wait_log(r"waiting for it") is not None,
      "a missing file is waited for, not fatal")


def line(host):
    return ('{"metric":"cpu","labels":{"host":"%s"},"value":99,"ts":%.3f}\n'
            % (host, time.time()))


def hosts():
    return {a["labels"].get("host") for a in (d.alerts() or [])}


with open(path, "w") as f:
    f.write(line("first"))
check("first" in wait_until(lambda: "first" in hosts() and hosts(), 20),
      "a line of the new file arrives")
with open(path, "a") as f:
    f.write(line("second"))
    f.write('{"metric":"cpu","labels":{"host":"par')  # no newline yet
check("second" in wait_until(lambda: "second" in hosts() and hosts(), 20),
      "an appended line arrives")
with open(path, "a") as f:
    f.write('tial"},"value":99}\n')
check("partial" in wait_until(lambda: "partial" in hosts() and hosts(), 20),
      "a line written in two pieces arrives whole")

# Rotation: the old file keeps a last line written just before the rename.
with open(path, "a") as f:
    f.write(line("before-rotate"))
os.rename(path, path + ".1")
with open(path, "w") as f:
    f.write(line("after-rotate"))
got = wait_until(lambda: {"before-rotate", "after-rotate"} <= hosts()
                 and hosts(), 20)
check(bool(got), "samples from both the rotated and the new file arrive "
      "(%s)" % sorted(hosts()))

# Truncation (copytruncate style).
# (after-rotate arrived above, so the follower's offset is past it and the
# shorter new content is seen as a truncation)
with open(path, "w") as f:
    f.write(line("t"))
got = wait_until(lambda: "t" in hosts() and hosts(), 20)
check(bool(got), "a line written after truncation arrives")

# Truncated and at once written past the follower's offset: the size alone
# does not show the truncation; the bytes before the offset do.
refill = "".join(line("r%d" % i) for i in range(6))
with open(path, "w") as f:
    f.write(refill)
want = {"r%d" % i for i in range(6)}
got = wait_until(lambda: want <= hosts() and hosts(), 20)
check(bool(got), "every line of a file truncated and refilled past the "
      "offset arrives (%s)" % sorted(hosts()))
check(d.log().count("was truncated") == 2,
      "both truncations are logged")
check(d.stop() == 0, "SIGTERM exits 0")
