"""A followed file's lines read while the store's disk is full are not
lost: the store refuses them (logged once), the follower hands the same
lines again until it takes them, and once there is room every line's
alert fires, each line counted once. (The store on a small tmpfs, which
root can mount here.)"""
import errno
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, check, config, cpu_lines,  # noqa: E402
                            fill_disk, wait_until)

mnt = tempfile.mkdtemp(prefix="tocsin-full.", dir=os.getcwd())
if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt],
                  capture_output=True).returncode != 0:
    print("SKIP: cannot mount a tmpfs here")
    sys.exit(0)
d = None
try:
    path = os.path.abspath("app.jsonl")
    open(path, "w").close()
    inputs = ('inputs:\n  - file: {path: "%s", format: json, follow: true}\n'
              % path)
    cfg = config(CPU_RULE, inputs=inputs).replace(
        "store: @STORE@", "store: %s/d.db" % mnt)
    d = Daemon(".", cfg).start()

    cpu_lines(path, *["a%d" % i for i in range(10)])
    check(wait_until(lambda: len(d.alert_hosts()) == 10, 20),
          "10 lines arrive")
    filler, why = fill_disk(mnt)
    check(why == errno.ENOSPC, "a filler file takes the rest of the disk "
          "(%s)" % os.strerror(why))
    cpu_lines(path, *["b%d" % i for i in range(200)])
    check(d.wait_log(r"the store did not take its lines", 30) is not None,
          "the refused lines are logged")
    check(len(re.findall(r"the store did not take its lines", d.log())) == 1,
          "once, however often they are handed again")
    os.unlink(filler)
    subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
    check(wait_until(lambda: len(d.alert_hosts()) == 210, 30),
          "with room again every line read while the disk was full fires "
          "(%d alerts)" % len(d.alert_hosts()))
    check(wait_until(lambda: d.ingested("file") == 210, 10),
          "each line counted once (%d samples)" % d.ingested("file"))
    check(d.wait_log(r"the store takes its lines again", 10) is not None,
          "and the log says it is over")
    check(d.stop() == 0, "SIGTERM exits 0")
    d = None
finally:
    if d is not None:
        d.kill9()
    subprocess.run(["umount", mnt])
print("daemon file disk full: all checks passed")
