"""A followed file goes on where it was left across restarts: lines written
while the daemon was stopped (SIGTERM) or dead (kill -9) are read when it
starts again, and no committed line is read twice (the file input's sample
count grows by exactly the new lines); a file replaced while the daemon was
down is read from its start. Lines have no timestamp, so a line read twice
would be ingested twice, not dropped as late."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config, wait_until  # noqa: E402

path = os.path.abspath("app.jsonl")
with open(path, "w") as f:
    f.write('{"metric":"cpu","labels":{"host":"old"},"value":99}\n')
inputs = ('inputs:\n  - file: {path: "%s", format: json, follow: true}\n'
          % path)
d = Daemon(".", config(CPU_RULE, inputs=inputs))


def write(*hosts, mode="a"):
    with open(path, mode) as f:
        for h in hosts:
            f.write('{"metric":"cpu","labels":{"host":"%s"},"value":99}\n'
                    % h)


def hosts():
    return {a["labels"].get("host") for a in (d.alerts() or [])}


def file_samples():
    m = re.search(r'^tocsin_samples_ingested_total\{input="file"\} (\d+)',
                  d.metrics(), re.M)
    return int(m.group(1)) if m else -1


def arrive(*want):
    return wait_until(lambda: set(want) <= hosts(), 20)


d.start()
write("a1", "a2")
check(arrive("a1", "a2"), "lines appended after start arrive")
check("old" not in hosts(), "the first start reads the file from its end")
check(d.stop() == 0, "SIGTERM exits 0")

write("b1", "b2", "b3")  # while stopped
d.start()
check(arrive("b1", "b2", "b3"), "lines written while stopped are read")
check(wait_until(lambda: file_samples() == 3, 10) and file_samples() == 3,
      "and only they: 3 samples from the file, not the lines read before "
      "(%d)" % file_samples())
write("c1")
check(arrive("c1"), "following goes on")
d.kill9()

write("d1", "d2")  # while dead
d.start()
check(arrive("d1", "d2"), "lines written after a kill -9 are read")
check(wait_until(lambda: file_samples() == 2, 10) and file_samples() == 2,
      "and no committed line twice (%d samples)" % file_samples())
check(d.stop() == 0, "SIGTERM exits 0")

os.rename(path, path + ".1")  # rotated while stopped
write("e1", mode="w")
d.start()
check(arrive("e1"), "a file replaced while stopped is read from its start")
check(wait_until(lambda: file_samples() == 1, 10) and file_samples() == 1,
      "its one line (%d samples)" % file_samples())
check("replaced or truncated" in d.log(), "and the log says why")
check(d.stop() == 0, "SIGTERM exits 0")
print("daemon file resume: all checks passed")
