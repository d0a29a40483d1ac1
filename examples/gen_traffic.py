#!/usr/bin/env python3
"""Generate examples/traffic.jsonl: one hour of a small web service's metrics
with a latency incident, an error burst, a CPU spike and a batch job that
stops sending its heartbeat. Deterministic (fixed seed)."""
import json
import random
import sys

rng = random.Random(42)
T0 = 1763888400  # 2025-11-23T09:00:00Z
STEP = 10
out = []


def emit(ts, metric, labels, value):
    out.append((ts, json.dumps({"metric": metric, "labels": labels,
                                "value": round(value, 3), "ts": ts},
                               separators=(",", ":"))))


counters = {"api": 0, "web": 0}
for step in range(360):
    ts = T0 + step * STEP
    minute = step * STEP / 60
    for svc in ("api", "web"):
        base = 120 if svc == "api" else 80
        slow = svc == "api" and 12 <= minute < 30
        worse = svc == "api" and 16 <= minute < 22
        errors = svc == "web" and 36 <= minute < 42
        for i in range(5):
            lat = rng.gauss(base, base * 0.2)
            if slow:
                lat = rng.gauss(420, 60)
            if worse:
                lat = rng.gauss(1100, 150)
            status = "200"
            if errors and rng.random() < 0.3:
                status = "503"
            emit(ts + i, "http_request_duration_ms",
                 {"service": svc, "status": status}, max(lat, 1))
        rate = 12 if not (svc == "web" and 48 <= minute < 54) else 0.2
        counters[svc] += rate * STEP
        emit(ts, "http_requests_total", {"service": svc}, counters[svc])
    if step % 3 == 0:
        for host in ("app-1", "app-2"):
            cpu = rng.uniform(0.3, 0.5)
            if host == "app-2" and 24 <= minute < 34:
                cpu = rng.uniform(0.9, 0.99)
            emit(ts, "node_cpu_utilisation", {"host": host}, cpu)
            emit(ts, "node_memory_utilisation", {"host": host},
                 rng.uniform(0.55, 0.65))
    if step % 3 == 0 and minute < 40:
        emit(ts, "batch_heartbeat", {"job": "nightly-export"}, 1)

out.sort(key=lambda x: x[0])
sys.stdout.write("".join(line + "\n" for _, line in out))
