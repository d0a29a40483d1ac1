"""test_delivery_many_receivers.py - with more receivers busy at once than
a transfer thread has connections, no notification waits for a connection
inside libcurl, where its timeout would run down (and it would be sent
again after a client-side timeout the receiver never saw). 18 webhook
receivers each answer after 1.5 s, with `timeout: 3s`: their 32 slots
each are more than the threads' connections. 100 alerts notify every
receiver. Checks: every notification is delivered on its first attempt,
each receiver gets each one once, and nothing timed out."""
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, RULE_YAML, T0, check, eval_notify,  # noqa
                      outbox_rows, stream, write)

NR, N = 18, 100
rcvs = [HttpReceiver(script={"/hook": [{"delay": 1.5}]}).start()
        for _ in range(NR)]
names = ["r%02d" % i for i in range(NR)]
write("cfg.yaml", "notifiers:\n" + "".join(
    "  %s:\n    type: webhook\n    url: %s\n    timeout: 3s\n"
    % (n, r.url("/hook")) for n, r in zip(names, rcvs))
    + "defaults:\n  notify: [%s]\n" % ", ".join(names) + RULE_YAML)
stream([("s%03d" % i, 600, T0 + i * 0.01) for i in range(N)])
p = eval_notify(timeout=300)
check(p.returncode == 0, "eval --notify exits 0")
check("timeout" not in p.stderr.lower(),
      "no delivery timed out (%d mentions)" % p.stderr.lower().count("timeout"))
rows, _ = outbox_rows("store.db")
attempts = collections.Counter(r["attempts"] for r in rows)
check(len(rows) == NR * N and all(r["status"] == "sent" for r in rows),
      "all %d outbox rows sent" % (NR * N))
check(set(attempts) == {1}, "each on its first attempt (attempts: %s)"
      % dict(attempts))
for name, r in zip(names, rcvs):
    ids = [q["headers"].get("webhook-id") for q in r.requests]
    if len(ids) != N or len(set(ids)) != N:
        check(False, "%s got %d requests, %d distinct (want %d once each)"
              % (name, len(ids), len(set(ids)), N))
check(True, "every receiver got each of its %d notifications once" % N)
for r in rcvs:
    r.stop()
print("many receivers: all checks passed")
