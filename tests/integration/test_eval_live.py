"""`tocsin eval` and `tocsin parse` on a live pipe (`tail -f app.log | tocsin
eval`): an event line shows up while the pipe is still open, and with
--store it is committed by then (another process reads it from the store).
A pipe that never falls quiet shows its events too (a batch is committed
once it is a second old), even one busy with rejected lines only, which
SIGINT still stops; with --notify its deliveries keep going between
commits, past one round of transfers. SIGINT or SIGTERM ends the input like its end: exit 0, the summary, the
series saved, so a later run over the same store continues the stream
without repeating a firing. Stdout lines are exactly what the store
recorded. --notify delivers as the pipe goes; a signal during the
deliveries after its end ends eval at once, the notification left pending
in the outbox."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, check, outbox_rows, read_lines,  # noqa: E402
                      run_tocsin, write)

TOCSIN = os.environ["TOCSIN"]
write("cfg.yaml", """rules:
  - name: lat_high
    metric: lat
    by: [host]
    severity:
      warning: {above: 100, clear: 80, clear_for: 30s}
""")


def line(host, value, ts):
    return json.dumps({"metric": "lat", "labels": {"host": host},
                       "value": value, "ts": ts}) + "\n"


class Feeder:
    """Writes make(k) to p's stdin every 10 ms, k = 0, 1, ... (at most
    limit lines) until stopped: a pipe that never falls quiet."""

    def __init__(self, p, make, limit):
        self.p, self.make, self.limit = p, make, limit
        self.done, self.sent = threading.Event(), 0
        self.t = threading.Thread(target=self._run)
        self.t.start()

    def _run(self):
        while not self.done.is_set() and self.sent < self.limit:
            try:
                self.p.stdin.write(self.make(self.sent))
                self.p.stdin.flush()
            except (BrokenPipeError, ValueError):
                return
            self.sent += 1
            time.sleep(0.01)  # pacing the writer, not waiting for tocsin

    def going(self):
        """Still writing (not stopped, not at its bound)."""
        return self.t.is_alive() and self.sent < self.limit

    def stop(self):
        """Stop writing; True when it was still writing."""
        going = self.going()
        self.done.set()
        self.t.join()
        return going


def junk_feeder(p):
    """A rejected line every 10 ms (at most 3,000: 30 s of lines): a pipe
    that never falls quiet and brings no sample."""
    return Feeder(p, lambda k: b"not a metric line\n", 3000)


def notify_config(path, rcv):
    """cfg.yaml plus a webhook to rcv (retries 100 ms apart) for every
    event, written to path."""
    write(path, open("cfg.yaml").read() + """notifiers:
  hook: {type: webhook, url: %s, retry_backoff: 100ms}
defaults: {notify: [hook]}
""" % rcv.url())


def read_line(proc):
    """The next stdout line of proc within 20 s, or None."""
    got = read_lines(proc, 1, 20.0)
    return got[0] if got else None


def history(store):
    p = run_tocsin(["history", "-c", "cfg.yaml", "--store", store, "--json",
                    "--since", "36500d"])
    check(p.returncode == 0, "history reads the store while eval runs (%s)"
          % p.stderr.strip())
    return [json.loads(x) for x in p.stdout.splitlines() if x.strip()]


def live(args, sig):
    """Feed a live eval (stdin kept open), check each event comes while the
    pipe is open and is in the store by then, then stop it with sig."""
    p = subprocess.Popen([TOCSIN, "eval", "-c", "cfg.yaml"] + args,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdin.write(line("a", 50, 1000).encode())
    p.stdin.write(line("a", 300, 1010).encode())
    p.stdin.flush()
    first = read_line(p)
    check(first is not None and json.loads(first)["event"] == "firing",
          "the firing event is printed while the pipe is open (%r)" % first)
    if "--store" in args:
        ev = history(args[args.index("--store") + 1])
        check([e["event"] for e in ev] == ["firing"],
              "and it is committed to the store by then (%s)"
              % [e["event"] for e in ev])
    # A recovery held for clear_for (no event yet), then a second alert
    # whose firing line shows that the recovery was read before the signal.
    p.stdin.write(line("a", 10, 1020).encode())
    p.stdin.write(line("b", 300, 1020).encode())
    p.stdin.flush()
    second = read_line(p)
    check(second is not None and json.loads(second)["labels"]["host"] == "b",
          "the second alert's firing is printed too (%r)" % second)
    p.send_signal(sig)
    out, err = p.communicate(timeout=30)
    err = err.decode()
    print(err)
    check(p.returncode == 0, "%s ends the live eval with exit 0 (%d)"
          % (signal.Signals(sig).name, p.returncode))
    check("stopped by %s" % signal.Signals(sig).name in err,
          "it says it was stopped")
    check("4 samples read" in err and "2 events" in err,
          "and prints the summary: %s" % err.strip().splitlines()[-1])
    check(out == b"", "no event line after the signal (%r)" % out)
    return p


# --- in memory: the event shows up live; SIGINT ends it ---
live([], signal.SIGINT)

# --- with a store: committed when the pipe falls quiet; SIGTERM saves the
# series, so the continuation resolves without a repeated firing ---
live(["--store", "live.db"], signal.SIGTERM)
write("rest.jsonl", line("a", 10, 1040) + line("a", 10, 1060))
p = run_tocsin(["eval", "-c", "cfg.yaml", "--store", "live.db",
                "rest.jsonl"])
events = [json.loads(x) for x in p.stdout.splitlines()]
check(p.returncode == 0 and [e["event"] for e in events] == ["resolved"],
      "the continuation resolves after clear_for, no second firing (%s)"
      % [e["event"] for e in events])
check(events[0]["ts"] == 1060.0,
      "clear_for counted from the sample before the signal (ts %s)"
      % events[0]["ts"])
check([(e["labels"]["host"], e["event"]) for e in history("live.db")] ==
      [("a", "firing"), ("b", "firing"), ("a", "resolved")],
      "the store holds each event once")

# --- a pipe that never falls quiet (a line every 10 ms) still shows its
# events: a batch is committed once it is a second old ---
p = subprocess.Popen([TOCSIN, "eval", "-c", "cfg.yaml"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
p.stdin.write(line("busy", 300, 2000).encode())
busy = Feeder(p, lambda k: line("busy", 300, 2001 + k).encode(), 2000)
got = read_line(p)
busy.stop()
check(got is not None and json.loads(got)["labels"]["host"] == "busy",
      "a busy pipe's firing is printed while lines keep coming (%r)" % got)
p.stdin.close()
p.wait(timeout=30)

# --- a pipe busy with rejected lines only: the batch is still committed
# once a second old (its event shows), and SIGINT still ends the input ---
p = subprocess.Popen([TOCSIN, "eval", "-c", "cfg.yaml"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
p.stdin.write(line("junk", 300, 3000).encode())
p.stdin.flush()
junk = junk_feeder(p)
got = read_line(p)
check(got is not None and json.loads(got)["labels"]["host"] == "junk",
      "the firing is printed while rejected lines keep coming (%r)" % got)
check(junk.going(), "the rejected lines are still coming")
p.send_signal(signal.SIGINT)
try:
    p.wait(timeout=20)
except subprocess.TimeoutExpired:
    pass
junk.stop()
check(p.returncode == 0,
      "SIGINT ends eval while the rejected lines keep coming (%s)"
      % p.returncode)
if p.returncode is None:
    p.kill()
    p.wait()
err = p.stderr.read().decode()
check("stopped by SIGINT" in err and "1 samples read" in err,
      "it says it was stopped: %s" % err.strip().splitlines()[-1:])

# --- --notify on a pipe that never falls quiet: after the batch's commit
# no further commit comes (only rejected lines), yet every one of its 600
# notifications goes out, more than one round of transfers, and a 503 is
# retried, all while the lines keep coming ---
rcv = HttpReceiver(script={"/hook": [{"status": 503}] +
                           [{"status": 200, "body": "ok"}] * 600}).start()
notify_config("busy-notify.yaml", rcv)
p = subprocess.Popen([TOCSIN, "eval", "--notify", "-c", "busy-notify.yaml",
                      "--store", "busy-notify.db"], stdin=subprocess.PIPE,
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
p.stdin.write("".join(line("h%03d" % i, 300, 5000)
                      for i in range(600)).encode())
p.stdin.flush()
junk = junk_feeder(p)
got = rcv.wait_for(601, timeout=25)
check(junk.stop() and len(got) == 601,
      "all 600 notifications and the retry are sent while the pipe stays "
      "busy (%d)" % len(got))
check(len({r["headers"].get("webhook-id") for r in got}) == 600,
      "one webhook-id per notification, the retry's repeated")
out, err = p.communicate(timeout=60)  # closes stdin: EOF
check(p.returncode == 0 and b"600 sent" in err,
      "at EOF nothing is left to deliver: %s" % err.decode().strip())
check(len(rcv.requests) == 601, "nothing is sent twice (%d)"
      % len(rcv.requests))
rcv.stop()


# --- parse: each sample line shows up while the pipe is open ---
p = subprocess.Popen([TOCSIN, "parse"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
p.stdin.write(b"cpu,host=a value=0.5 1767225600000000000\n")
p.stdin.flush()
got = read_line(p)
check(got is not None and json.loads(got)["metric"] == "cpu",
      "parse prints a sample while the pipe is open (%r)" % got)
out, err = p.communicate(timeout=30)  # closes stdin: EOF
check(p.returncode == 0 and b"1 samples" in err,
      "parse ends at EOF with its summary (%s)" % err.decode().strip())

# --- parse on a pipe busy with rejected lines still shows its sample
# (past the first 100 rejections, which flush stdout before their message)
p = subprocess.Popen([TOCSIN, "parse"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
p.stdin.write(b"not a metric line\n" * 120 +
              b"cpu,host=b value=0.5 1767225600000000000\n")
p.stdin.flush()
junk = junk_feeder(p)
got = read_line(p)
check(junk.stop() and got is not None and json.loads(got)["metric"] == "cpu",
      "parse prints a sample while rejected lines keep coming (%r)" % got)
p.communicate(timeout=30)

# --- --notify on a live pipe delivers as it goes, not at the end; a retry
# goes out while the pipe stays open and quiet ---
rcv = HttpReceiver(script={"/hook": [{"status": 503},
                                     {"status": 200, "body": "ok"}]}).start()
notify_config("live-notify.yaml", rcv)
p = subprocess.Popen([TOCSIN, "eval", "--notify", "-c", "live-notify.yaml",
                      "--store", "live-notify.db"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
p.stdin.write(line("d", 300, 1000).encode())
p.stdin.flush()
got = rcv.wait_for(2)
check([json.loads(r["body"])["status"] for r in got] == ["firing"] * 2,
      "the firing is sent while the pipe is open, and retried after its "
      "503 while the pipe stays quiet (%d)" % len(got))
p.stdin.write((line("d", 10, 1010) + line("d", 10, 1050)).encode())
p.stdin.flush()  # recovered for clear_for: resolved at 1050
got = rcv.wait_for(3)
check([json.loads(r["body"])["status"] for r in got[2:]] == ["resolved"],
      "then the resolve, in order (%d)" % len(got))
out, err = p.communicate(timeout=60)
check(p.returncode == 0 and b"2 sent" in err,
      "at EOF the outbox is drained: %s" % err.decode().strip())
check(len(rcv.requests) == 3, "nothing more is sent (%d)"
      % len(rcv.requests))
rcv.stop()

# --- a signal during --notify's deliveries ends eval at once; the outbox
# keeps the notification for the next run ---
rcv = HttpReceiver(script={"/hook": [{"status": 503}]}).start()
notify_config("notify.yaml", rcv)
write("one.jsonl", line("n", 300, 1000))
p = subprocess.Popen([TOCSIN, "eval", "--notify", "-c", "notify.yaml",
                      "--store", "notify.db", "one.jsonl"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
check(len(rcv.wait_for(1)) >= 1, "the delivery is under way (503, retried)")
p.send_signal(signal.SIGTERM)
try:
    p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
check(p.returncode == -signal.SIGTERM,
      "SIGTERM during the deliveries ends eval at once (%s)" % p.returncode)
rows, _ = outbox_rows("notify.db")
check([r["status"] for r in rows] == ["pending"],
      "the notification stays pending in the outbox (%s)"
      % [r["status"] for r in rows])
rcv.stop()
