#!/usr/bin/python3
# Integration: `tocsin report` over a store filled by `tocsin eval --store`
# (a flapping rule and a steady rule over two days): checks every figure of
# the JSON, the CSV (parsed by Python's csv module), the HTML (parsed by
# html.parser: an inline <svg> chart with one series per rule, no external
# URLs), markdown, text, -o FILE and usage errors.
import csv
import html.parser
import io
import json
import os
import subprocess
import sys

TOCSIN = os.environ["TOCSIN"]
T0 = 1767225600  # 2026-01-01T00:00:00Z
SINCE = "2026-01-01T00:00:00Z"
UNTIL = "2026-01-03T00:00:00Z"

CONFIG = """\
store: t.db
rules:
  - name: flappy
    metric: temp
    by: [host]
    severity:
      warning: {above: 80}
  - name: steady
    metric: disk
    by: [host]
    severity:
      critical: {above: 0.95}
"""


def sample(metric, host, value, ts):
    return json.dumps({"metric": metric, "labels": {"host": host},
                       "value": value, "ts": ts})


def run(*args, check=True):
    p = subprocess.run([TOCSIN] + list(args), capture_output=True, text=True,
                       timeout=60)
    if check and p.returncode != 0:
        print("FAILED:", args, p.returncode, p.stdout, p.stderr)
        sys.exit(1)
    return p


def expect(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def main():
    with open("tocsin.yaml", "w") as f:
        f.write(CONFIG)
    lines = [
        sample("temp", "a", 90, T0),            # firing
        sample("temp", "a", 70, T0 + 60),       # resolved after 60s
        sample("temp", "a", 90, T0 + 120),      # flap (60s after resolve)
        sample("temp", "a", 70, T0 + 180),      # 60s
        sample("temp", "a", 90, T0 + 240),      # flap
        sample("temp", "a", 70, T0 + 1000),     # 760s
        sample("disk", "b", 0.99, T0 + 3600),   # firing
        sample("disk", "b", 0.5, T0 + 10800),   # 7200s
        sample("disk", "b", 0.99, T0 + 86500),  # 2026-01-02, open at until
    ]
    with open("stream.jsonl", "w") as f:
        f.write("\n".join(lines) + "\n")
    run("eval", "-c", "tocsin.yaml", "--store", "t.db", "stream.jsonl")

    # JSON: every figure.
    out = run("report", "-c", "tocsin.yaml", "--since", SINCE, "--until",
              UNTIL, "--format", "json").stdout
    rep = json.loads(out)
    expect(rep["since"] == T0 and rep["until"] == T0 + 2 * 86400,
           "since/until are the period")
    names = [r["rule"] for r in rep["rules"]]
    expect(names == ["flappy", "steady"], "rules noisiest first: %s" % names)
    fl, st = rep["rules"]
    want_fl = {"fired": 3, "escalated": 0, "resolved": 3, "series": 1,
               "notifications": {"sent": 0, "failed": 0, "silenced": 0},
               "median_firing_seconds": 60, "p90_firing_seconds": 620,
               "short_lived": 2, "flapping": 2,
               "per_day": {"2026-01-01": 3}}
    for k, v in want_fl.items():
        expect(fl[k] == v, "flappy %s == %s (got %s)" % (k, v, fl[k]))
    expect(abs(fl["noise_score"] - 6.5) < 1e-3, "flappy noise_score 6.5")
    expect(fl["noisy"] is True and "clear" in fl["suggestion"],
           "flappy is flagged noisy with a clear/clear_for suggestion")
    want_st = {"fired": 2, "escalated": 0, "resolved": 1, "series": 1,
               "median_firing_seconds": 46750, "p90_firing_seconds": 78390,
               "short_lived": 0, "flapping": 0,
               "per_day": {"2026-01-01": 1, "2026-01-02": 1}}
    for k, v in want_st.items():
        expect(st[k] == v, "steady %s == %s (got %s)" % (k, v, st[k]))
    expect(abs(st["noise_score"] - 1.0) < 1e-3, "steady noise_score 1")
    expect(st["noisy"] is False, "steady is not noisy")

    # A date alone is its midnight UTC, for --since and --until alike.
    out = run("report", "-c", "tocsin.yaml", "--since", "2026-01-01",
              "--until", "2026-01-03", "--format", "json").stdout
    expect(json.loads(out) == rep, "dates alone give the same report")
    # --until alone: the week before it, not a week before now.
    p = run("report", "-c", "tocsin.yaml", "--until", "2026-01-03",
            "--format", "json")
    alone = json.loads(p.stdout) if p.returncode == 0 else {}
    expect(alone.get("until") == T0 + 2 * 86400 and
           alone.get("since") == T0 + 2 * 86400 - 7 * 86400 and
           [r["rule"] for r in alone["rules"]] ==
           [r["rule"] for r in rep["rules"]],
           "--until alone reports the 7 days before it (%d %s)"
           % (p.returncode, p.stderr.strip()))
    out = run("history", "-c", "tocsin.yaml", "--since", "2026-01-02",
              "--json").stdout
    expect([json.loads(x)["ts"] for x in out.splitlines()] == [T0 + 86500],
           "history --since a date starts at its midnight UTC")

    # CSV: header + one row per rule, same figures.
    out = run("report", "-c", "tocsin.yaml", "--since", SINCE, "--until",
              UNTIL, "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    expect(len(rows) == 2 and rows[0]["rule"] == "flappy",
           "csv has one row per rule, flappy first")
    expect(rows[0]["fired"] == "3" and rows[0]["flapping"] == "2"
           and rows[0]["p90_firing_seconds"] == "620"
           and rows[0]["per_day"] == "2026-01-01:3",
           "csv flappy figures")
    expect(rows[1]["per_day"] == "2026-01-01:1;2026-01-02:1"
           and rows[1]["median_firing_seconds"] == "46750",
           "csv steady figures")
    expect("," in rows[0]["suggestion"], "a quoted field with commas reads back")

    # HTML: parsed by a real parser.
    run("report", "-c", "tocsin.yaml", "--since", SINCE, "--until", UNTIL,
        "--format", "html", "-o", "report.html")
    with open("report.html") as f:
        page = f.read()
    # "-o -" is stdout, as for most tools, not a file named "-".
    dash = run("report", "-c", "tocsin.yaml", "--since", SINCE, "--until",
               UNTIL, "--format", "html", "-o", "-")
    expect(dash.stdout == page and not os.path.exists("-"),
           "-o - writes the report to stdout")

    class P(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.svg = 0
            self.series = []
            self.external = []
            self.stack = []
            self.text = []
            self.rows = 0

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "svg":
                self.svg += 1
            if tag == "g" and a.get("class") == "series":
                self.series.append(a.get("data-rule"))
            if tag == "tr":
                self.rows += 1
            for k in ("src", "href"):
                v = a.get(k) or ""
                if v.startswith("http") or v.startswith("//"):
                    self.external.append(v)
            if tag in ("script", "link", "img", "iframe"):
                self.external.append(tag)

        def handle_data(self, d):
            self.text.append(d)

    p = P()
    p.feed(page)
    p.close()
    expect(page.startswith("<!DOCTYPE html>"), "html is a full page")
    expect(p.svg == 1, "one inline <svg> chart")
    expect(p.series == ["flappy", "steady"],
           "one chart series per rule: %s" % p.series)
    expect(p.external == [], "no external assets: %s" % p.external)
    text = "".join(p.text)
    expect("2026-01-01" in text and "2026-01-02" in text,
           "dated axis labels")
    expect("firings per day" in text, "axis label")
    expect(p.rows == 3, "table: header + 2 rule rows")

    # Markdown and text.
    out = run("report", "-c", "tocsin.yaml", "--since", SINCE, "--until",
              UNTIL, "--format", "markdown").stdout
    expect("| **flappy** | 3 |" in out and "### Suggestions" in out,
           "markdown table and suggestions")
    out = run("report", "-c", "tocsin.yaml", "--since", SINCE, "--until",
              UNTIL).stdout
    expect("RULE" in out and "SCORE" in out and "flappy: flapping" in out,
           "text table with suggestion")
    first = [l.split()[0] for l in out.splitlines()
             if l.startswith("flappy") or l.startswith("steady")]
    expect(first[:2] == ["flappy", "steady"], "text rows noisiest first")

    # --store without a config; an empty period.
    out = run("report", "--store", "t.db", "--since", "2025-01-01T00:00:00Z",
              "--until", "2025-01-02T00:00:00Z", "--format", "json").stdout
    expect(json.loads(out)["rules"] == [], "empty period gives rules: []")

    # --short widens short-lived.
    out = run("report", "--store", "t.db", "--since", SINCE, "--until",
              UNTIL, "--short", "1h", "--format", "json").stdout
    expect(json.loads(out)["rules"][0]["short_lived"] == 3,
           "--short 1h counts all three flappy episodes as short")

    # The --opt=value forms, as every subcommand takes them.
    out = run("report", "--store=t.db", "--since=" + SINCE, "--until=" + UNTIL,
              "--short=1h", "--format=json").stdout
    expect(json.loads(out)["rules"][0]["short_lived"] == 3,
           "--store=, --since=, --until=, --short=, --format= are read")

    # Usage errors exit 2.
    p = run("report", "--store", "t.db", "--format", "xml", check=False)
    expect(p.returncode == 2, "unknown format is a usage error (exit 2)")
    p = run("report", "--store", "t.db", "--bogus", "x", check=False)
    expect(p.returncode == 2, "unknown option is a usage error (exit 2)")
    p = run("report", "--store", "missing-dir/none.db", check=False)
    expect(p.returncode == 1, "unreadable store exits 1")
    print("test_report_formats: all passed")


if __name__ == "__main__":
    main()
