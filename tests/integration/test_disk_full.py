"""A real full disk (the store on a small tmpfs, which root can mount here):
nothing is lost and nothing is told twice.

eval --store: exit 1 with the store's error and how many events were not
recorded; stdout holds exactly the events the store recorded, also when a
live pipe had some batches committed before the disk filled. With room
again, the same stream over the same store records every alert's firing
once.

The daemon: an ingest it cannot commit is answered 503 and /healthz says
503, the log says why, and the daemon keeps running. With room again, the
client's retries are answered 204 and a real webhook receiver gets every
alert's firing exactly once. Deliveries answered while the disk is full
(a slow receiver answers after a filler file took the last byte) are
recorded as sent once there is room again, not left pending to be sent a
second time by the next run."""
import errno
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, fill_disk, wait_until  # noqa: E402
from receiver import (HttpReceiver, check, read_lines, run_tocsin,  # noqa: E402
                      write)

RULE = """rules:
  - name: lat_high
    metric: lat
    by: [service]
    severity:
      critical: {above: 500}
"""


def mount(size):
    mnt = tempfile.mkdtemp(prefix="tocsin-full.", dir=os.getcwd())
    rc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size,
                         "tmpfs", mnt], capture_output=True).returncode
    return mnt if rc == 0 else None


def grow(mnt):
    subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)


def lines(services, ts):
    return "".join('{"metric":"lat","labels":{"service":"s%05d"},'
                   '"value":600,"ts":%.3f}\n' % (i, ts) for i in services)


def firings(store):
    p = run_tocsin(["history", "--store", store, "--json", "--since",
                    "36500d"])
    check(p.returncode == 0, "history reads the store (%s)" % p.stderr.strip())
    return [json.loads(x)["labels"]["service"] for x in p.stdout.splitlines()
            if json.loads(x)["event"] == "firing"]


probe = mount("256k")
if probe is None:
    print("SKIP: cannot mount a tmpfs here")
    sys.exit(0)
mounts = [probe]
daemons = []
try:
    # --- eval --store on a full disk ---
    N = 20000
    write("cfg.yaml", RULE)
    write("big.jsonl", lines(range(N), 1767225600))
    db = os.path.join(probe, "eval.db")
    p = run_tocsin(["eval", "-c", "cfg.yaml", "--store", db, "big.jsonl"])
    print(p.stderr)
    check(p.returncode == 1, "eval on a full disk exits 1 (%d)" % p.returncode)
    check("database or disk is full" in p.stderr,
          "and names the store's error")
    check("not recorded and not printed" in p.stderr,
          "and says how many events were not recorded")
    printed = [json.loads(x)["labels"]["service"]
               for x in p.stdout.splitlines()]
    grow(probe)
    recorded = firings(db)
    check(sorted(printed) == sorted(recorded),
          "stdout holds exactly the events the store recorded (%d, %d)"
          % (len(printed), len(recorded)))
    check(len(recorded) < N, "the disk did fill (%d of %d recorded)"
          % (len(recorded), N))
    p = run_tocsin(["eval", "-c", "cfg.yaml", "--store", db, "big.jsonl"])
    check(p.returncode == 0, "with room again the same stream runs (%s)"
          % p.stderr.strip())
    again = [json.loads(x)["labels"]["service"] for x in p.stdout.splitlines()]
    check(sorted(printed + again) == ["s%05d" % i for i in range(N)],
          "the two runs print every alert's firing once (%d + %d)"
          % (len(printed), len(again)))
    got = firings(db)
    check(len(got) == N and len(set(got)) == N,
          "the store records every firing once (%d, %d distinct)"
          % (len(got), len(set(got))))

    # --- a live pipe: batches commit as it falls quiet, until the disk
    # fills; what was printed is what was recorded ---
    mnt = mount("2m")
    check(mnt is not None, "a tmpfs for the live eval mounts")
    mounts.append(mnt)
    db = os.path.join(mnt, "live.db")
    p = subprocess.Popen([os.environ["TOCSIN"], "eval", "-c", "cfg.yaml",
                          "--store", db], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    printed, sent = [], ""
    for k in range(100):  # 50,000 alerts: far more than 2 MiB holds
        chunk = lines(range(k * 500, k * 500 + 500), 1767225600)
        try:
            p.stdin.write(chunk.encode())
            p.stdin.flush()
        except BrokenPipeError:
            break  # eval ended at the failed commit
        sent += chunk
        # The chunk's events come once the quiet pipe's batch committed.
        got = read_lines(p, 500)
        printed += got
        if len(got) < 500:
            break
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
    rest = read_lines(p, sent.count("\n"))  # the rest, up to its end
    err = p.stderr.read().decode()
    p.wait(timeout=30)
    print(err)
    printed = [json.loads(x)["labels"]["service"] for x in printed + rest]
    check(p.returncode == 1 and "database or disk is full" in err,
          "the live eval stops with the store's error (%d)" % p.returncode)
    grow(mnt)
    recorded = firings(db)
    check(len(recorded) >= 500 and sorted(printed) == sorted(recorded),
          "it printed exactly the %d events the store recorded (%d)"
          % (len(recorded), len(printed)))
    write("sent.jsonl", sent)
    nsent = sent.count("\n")
    check(len(recorded) < nsent, "the disk filled before the end (%d of %d)"
          % (len(recorded), nsent))
    p = run_tocsin(["eval", "-c", "cfg.yaml", "--store", db, "sent.jsonl"])
    again = [json.loads(x)["labels"]["service"] for x in p.stdout.splitlines()]
    check(p.returncode == 0 and
          sorted(printed + again) == ["s%05d" % i for i in range(nsent)],
          "with room again the rest fires, each alert once (%d + %d)"
          % (len(printed), len(again)))

    # --- a pipe that never falls quiet and splits its lines across writes:
    # the batch a second old is committed between reads, in the middle of a
    # line; when the disk refuses it, eval ends there, the begun line is not
    # taken for a whole (rejected) one, and nothing after it is read ---
    mnt = mount("2m")
    check(mnt is not None, "a tmpfs for the busy eval mounts")
    mounts.append(mnt)
    db = os.path.join(mnt, "busy.db")
    write("after.txt", "a line after the refused batch\n")
    p = subprocess.Popen([os.environ["TOCSIN"], "eval", "-c", "cfg.yaml",
                          "--store", db, "-", "after.txt"],
                         stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = []
    reader = threading.Thread(target=lambda: out.append(p.stdout.read()))
    reader.start()
    nsent = 0
    try:
        for k in range(60000):  # bounded: far more than 2 MiB holds
            one = lines([k], 1767225600)
            p.stdin.write(one[:30].encode())  # half a line, then the rest
            p.stdin.flush()
            p.stdin.write(one[30:].encode())
            nsent += 1
            if k % 2 == 0:
                # Pacing the writer (about 1,000 lines/s, so that batches
                # are committed by age, a few before the disk fills), not
                # waiting for tocsin.
                time.sleep(0.001)
    except BrokenPipeError:
        pass  # eval ended at the refused commit
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    reader.join()
    print(err)
    check(p.returncode == 1 and "database or disk is full" in err,
          "the busy eval stops with the store's error (%d)" % p.returncode)
    last = err.splitlines()[-1]
    check(" 0 lines rejected" in last,
          "no line was cut in two by the stop: %s" % last)
    check("after.txt" not in err, "and the next input is not read")
    grow(mnt)
    recorded = firings(db)
    printed = [json.loads(x)["labels"]["service"]
               for x in out[0].decode().splitlines()]
    check(len(recorded) < nsent and sorted(printed) == sorted(recorded),
          "it printed exactly the %d events the store recorded (%d of %d)"
          % (len(recorded), len(printed), nsent))

    # --- the daemon on a full disk ---
    mnt = mount("1m")
    check(mnt is not None, "a second tmpfs mounts")
    mounts.append(mnt)
    rcv = HttpReceiver().start()
    d = Daemon(".", "store: %s/daemon.db\nlisten: 127.0.0.1:0\n"
               "notifiers:\n  hook: {type: webhook, url: %s}\n"
               "defaults: {notify: [hook]}\n%s" % (mnt, rcv.url(), RULE))
    daemons.append(d)
    d.start()
    now = time.time()
    batches = [lines(range(b * 200, b * 200 + 200), now) for b in range(40)]
    refused = []
    for i, body in enumerate(batches):
        st, text = d.ingest(body, fmt="json")
        if st not in (204, 503):
            check(False, "batch %d answered 204 or 503 (%d %s)"
                  % (i, st, text.strip()))
        if st == 503:
            refused.append(i)
            if len(refused) == 1:
                check("commit" in text, "the 503 says the commit failed (%s)"
                      % text.strip())
                st, text = d.request("GET", "/healthz")
                check(st == 503, "/healthz says 503 while the disk is full "
                      "(%d %s)" % (st, text.strip()))
    check(len(refused) > 0, "the disk filled up (%d batches refused)"
          % len(refused))
    check("database or disk is full" in d.log(), "the log says why")

    # A timer pass (evaluation_interval, 10s here) whose few rows may still
    # fit does not make /healthz say the store is fine again while the disk
    # is still full.
    def passes():
        m = re.search(r"^tocsin_evaluation_duration_seconds_count (\d+)$",
                      d.metrics(), re.M)
        return int(m.group(1)) if m else -1
    before = passes()
    check(bool(wait_until(lambda: passes() >= before + 1, 40)),
          "a timer pass went by (%d, then %d)" % (before, passes()))
    st, text = d.request("GET", "/healthz")
    check(st == 503, "/healthz still says 503 after them (%d %s)"
          % (st, text.strip()))
    accepted = 200 * (len(batches) - len(refused))
    grow(mnt)
    for i in refused:
        st, text = d.ingest(batches[i], fmt="json")
        if st != 204:
            check(False, "the retry of batch %d is answered 204 (%d %s)"
                  % (i, st, text.strip()))
    check(True, "the retries of the %d refused batches are answered 204"
          % len(refused))
    check(wait_until(d.healthy), "/healthz is 200 again")
    total = 200 * len(batches)
    check(accepted < total, "some batches were refused first (%d of %d)"
          % (accepted, total))
    drained = wait_until(lambda: re.search(r"^tocsin_outbox_pending 0$",
                                           d.metrics(), re.M), timeout=60)
    check(drained, "the outbox drains")
    got = rcv.wait_for(total, timeout=60)
    svc = [a["labels"]["service"] for r in got
           for a in json.loads(r["body"])["alerts"]]
    check(len(svc) == total and len(set(svc)) == total,
          "the receiver got every alert's firing once (%d, %d distinct)"
          % (len(svc), len(set(svc))))
    check(d.stop() == 0, "SIGTERM exits 0")
    rcv.stop()

    # --- deliveries answered while the disk is full ---
    mnt = mount("4m")
    check(mnt is not None, "a third tmpfs mounts")
    mounts.append(mnt)
    rcv = HttpReceiver(script={"/hook": [{"status": 200, "body": "ok",
                                          "delay": 2.0}]}).start()
    d = Daemon(".", "store: %s/slow.db\nlisten: 127.0.0.1:0\n"
               "notifiers:\n  hook: {type: webhook, url: %s}\n"
               "defaults: {notify: [hook]}\n%s" % (mnt, rcv.url(), RULE),
               name="slow")
    daemons.append(d)
    d.start()
    st, text = d.ingest(lines(range(20), time.time()), fmt="json")
    check(st == 204, "20 alerts committed (%d %s)" % (st, text.strip()))
    filler, why = fill_disk(mnt)
    check(why == errno.ENOSPC, "a filler file takes the rest of the disk "
          "(%s)" % os.strerror(why))
    check(len(rcv.wait_for(20, timeout=30)) == 20,
          "the slow receiver gets the 20 deliveries")
    check(d.wait_log(r"outbox update not saved \(kept", timeout=30),
          "the refused outcome write is logged and kept")
    os.unlink(filler)
    sent = wait_until(lambda: 'tocsin_notifications_total{notifier="hook",'
                      'outcome="sent"} 20' in d.metrics(), timeout=30)
    check(sent, "all 20 are answered and counted as sent")
    check(wait_until(lambda: re.search(r"^tocsin_outbox_pending 0$",
                                       d.metrics(), re.M), timeout=30),
          "with room again the outcomes are written: none pending")
    con = sqlite3.connect(os.path.join(mnt, "slow.db"))
    rows = con.execute("SELECT status, count(*) FROM outbox "
                       "GROUP BY status").fetchall()
    con.close()
    check(rows == [(1, 20)], "the store records the 20 as sent, none "
          "pending to be sent again (%s)" % rows)
    check("outbox updates saved again" in d.log(), "the log says so")
    check(d.stop() == 0, "SIGTERM exits 0")
    rcv.stop()
finally:
    for d in daemons:  # a failed check leaves its daemon running
        if d.proc is not None and d.proc.poll() is None:
            d.kill9()
    for m in mounts:
        subprocess.run(["umount", m])
