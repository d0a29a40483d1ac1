"""The daemon's file input on a stream: a named FIFO and the daemon's own
stdin (`path: /dev/stdin`). Lines are taken as they come; the daemon
starts without waiting for a FIFO's writer, takes a last line without a
newline when the writer closes, reads the next writer of the FIFO, never
calls a stream truncated or rotated, and stops at SIGTERM (exit 0) while a
writer holds the stream open and quiet."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import CPU_RULE, Daemon, check, config, wait_until  # noqa: E402


def line(host, value=99, nl=True):
    return ('{"metric":"cpu","labels":{"host":"%s"},"value":%d,"ts":%.3f}%s'
            % (host, value, time.time(), "\n" if nl else ""))


def firing(d):
    return {a["labels"].get("host") for a in (d.alerts() or [])}


def stops_cleanly(d, what):
    rc = d.stop()  # SIGTERM; killed after 30 s
    check(rc == 0, "SIGTERM stops the daemon (exit 0) while %s (%s)"
          % (what, rc))
    log = d.log()
    check("truncated" not in log and "rotated" not in log,
          "the stream is never called truncated or rotated")


# --- a named FIFO, followed ---
fifo = os.path.abspath("metrics.fifo")
os.mkfifo(fifo)
d = Daemon(".", config(CPU_RULE, inputs='inputs:\n  - file: {path: "%s", '
                       'format: json, follow: true}\n' % fifo), name="fifo")
d.start()  # healthy without any writer: opening the FIFO did not block
check(d.wait_log(r"reading .*metrics\.fifo \(a stream") is not None,
      "the FIFO is read as a stream")
w = open(fifo, "w")
w.write(line("a"))
w.flush()
check(wait_until(lambda: firing(d) == {"a"}),
      "a line is taken while the writer keeps the FIFO open")
w.write(line("b", nl=False))  # the writer's last line, unterminated
w.close()
check(wait_until(lambda: firing(d) == {"a", "b"}),
      "an unterminated last line is taken when the writer closes")
with open(fifo, "w") as w2:
    w2.write(line("a", 0) + line("c"))
check(wait_until(lambda: firing(d) == {"b", "c"}),
      "the FIFO's next writer is read too")
quiet = open(fifo, "w")  # a writer that holds the FIFO open and says nothing
stops_cleanly(d, "a writer holds the FIFO open")
quiet.close()

# --- the daemon's stdin ---
d = Daemon(".", config(CPU_RULE, inputs='inputs:\n  - file: {path: '
                       '/dev/stdin, format: json, follow: true}\n'),
           name="stdin")
d.start(stdin=subprocess.PIPE)
d.proc.stdin.write(line("s").encode())
d.proc.stdin.flush()
check(wait_until(lambda: firing(d) == {"s"}), "a line on stdin is taken")
stops_cleanly(d, "stdin is open and quiet")
