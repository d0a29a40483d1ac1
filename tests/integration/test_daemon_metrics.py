"""GET /metrics is valid Prometheus text (promtool check metrics) and counts
what happened: samples ingested, events, firing alerts, notifications,
evaluation histogram, build info."""
import json
import os
import re
import shutil
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CPU_RULE, Daemon, HttpReceiver, check, config,  # noqa: E402
                            wait_until, webhook_notifier)

rcv = HttpReceiver().start()
d = Daemon(".", config(CPU_RULE, webhook_notifier(rcv.url()),
                       "defaults:\n  notify: [hook]\n")).start()
st, _ = d.ingest('{"metric":"cpu","labels":{"host":"a"},"value":99}\n'
                 '{"metric":"cpu","labels":{"host":"b"},"value":10}\n',
                 fmt="json")
check(st == 204, "ingest")


def sent():
    return re.search(r'tocsin_notifications_total\{notifier="hook",'
                     r'outcome="sent"\} [1-9]', d.metrics())


check(bool(wait_until(sent, 30)), "the delivery is counted as sent")
m = d.metrics()
with open("metrics.txt", "w") as f:
    f.write(m)
promtool = shutil.which("promtool")
check(promtool is not None, "promtool is installed")
p = subprocess.run([promtool, "check", "metrics"], input=m, text=True,
                   capture_output=True)
check(p.returncode == 0, "promtool check metrics accepts the page (%s%s)"
      % (p.stdout, p.stderr))
for want in ['tocsin_samples_ingested_total{input="http"} 2',
             'tocsin_series 2',
             'tocsin_alerts_firing{severity="critical"} 1',
             'tocsin_events_total{event="firing"} 1',
             'tocsin_outbox_pending ',
             'tocsin_evaluation_duration_seconds_count ',
             'tocsin_build_info{version="']:
    check(want in m, "metrics contain %r" % want)
mm = re.search(r"tocsin_evaluation_duration_seconds_count (\d+)", m)
check(mm and int(mm.group(1)) >= 1, "the ingest batch was observed in the "
      "evaluation histogram")


# The timer's passes (evaluation_interval: 1s here) are evaluations too:
# with no more ingest, the histogram still counts on.
def eval_count():
    found = re.search(r"tocsin_evaluation_duration_seconds_count (\d+)",
                      d.metrics())
    return int(found.group(1)) if found else -1


before = eval_count()
check(bool(wait_until(lambda: eval_count() >= before + 2, 30)),
      "timer passes are observed in the evaluation histogram (%d, then %d)"
      % (before, eval_count()))

# Scrapes from several clients at once (each request has its own thread):
# every page is whole. Under the sanitizers this also checks that the
# per-receiver counters are read without a race.
pages = []


def scraper():
    for _ in range(25):
        pages.append(d.metrics())


threads = [threading.Thread(target=scraper) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join(120)
check(len(pages) == 100 and all('notifier="hook",outcome="sent"} 1' in x
                                for x in pages),
      "100 concurrent /metrics pages, each with the receiver's counters "
      "(%d)" % len(pages))

# Every endpoint at once: ingest, alerts, silences added, listed and
# expired, metrics. Each answer is the one a lone request gets.
answers = []


def client(k):
    for i in range(10):
        st, _ = d.request("POST", "/api/v1/ingest?format=json",
                          '{"metric":"cpu","labels":{"host":"c%d-%d"},'
                          '"value":95}\n' % (k, i))
        answers.append(("ingest", st == 204))
        st, body = d.request("POST", "/api/v1/silences", json.dumps(
            {"matchers": "host=c%d-%d" % (k, i), "for": "1h"}))
        answers.append(("silence", st == 201))
        if st == 201:
            st, _ = d.request("DELETE", "/api/v1/silences/%d"
                              % json.loads(body)["id"])
            answers.append(("expire", st in (200, 204)))
        st, body = d.request("GET", "/api/v1/alerts")
        answers.append(("alerts", st == 200 and isinstance(json.loads(body),
                                                           list)))
        st, body = d.request("GET", "/api/v1/silences")
        answers.append(("silences", st == 200))
        answers.append(("metrics", "tocsin_series " in d.metrics()))


threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join(120)
bad = [a for a in answers if not a[1]]
check(len(answers) == 240 and not bad,
      "240 concurrent requests to every endpoint answered right (%d, %s)"
      % (len(answers), bad[:3]))
hosts = {a["labels"]["host"] for a in d.alerts()}
check({"c%d-%d" % (k, i) for k in range(4) for i in range(10)} <= hosts,
      "the 40 concurrent ingests' alerts are firing")
check(d.stop() == 0, "SIGTERM exits 0")

# After a restart the resumed state is in /metrics at once, not only after
# the first evaluation pass (none comes here within the test: 1h).
d.write_config(config(CPU_RULE, webhook_notifier(rcv.url()),
                      "defaults:\n  notify: [hook]\n").replace(
    "evaluation_interval: 1s\n", "evaluation_interval: 1h\n"))
d.start()
firing = len([a for a in d.alerts() if a["severity"] == "critical"])
text = d.metrics()
m = re.search(r'^tocsin_alerts_firing\{severity="critical"\} (\d+)$', text,
              re.M)
check(firing > 40 and m is not None and int(m.group(1)) == firing,
      "after a restart /metrics shows the %d firing alerts at once (%s)"
      % (firing, m.group(0) if m else None))
m = re.search(r"^tocsin_series (\d+)$", text, re.M)
check(m is not None and int(m.group(1)) > 40,
      "and the resumed series (%s)" % (m.group(0) if m else None))
check(d.stop() == 0, "the restarted daemon stops")
rcv.stop()
