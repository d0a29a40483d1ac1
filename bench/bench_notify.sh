#!/bin/sh
# bench_notify.sh - webhook delivery throughput: 10,000 distinct alerts fire
# into one webhook receiver (nginx on 127.0.0.1 answering 200 "ok"), and we
# time how fast tocsin's dispatcher drains the filled outbox.
# Called by bench/run.sh (make bench); needs TOCSIN (default ./tocsin) and
# /usr/sbin/nginx (Debian nginx-light). Prints one "notify: ..." line.
set -eu
TOCSIN=${TOCSIN:-./tocsin}
N=${BENCH_NOTIFY_ALERTS:-10000}
PY=/usr/bin/python3
NGINX=${NGINX:-/usr/sbin/nginx}
case "$TOCSIN" in /*) ;; *) TOCSIN=$(pwd)/$TOCSIN ;; esac

if [ ! -x "$NGINX" ]; then
    echo "notify: skipped (no $NGINX; apt-get install nginx-light)"
    exit 0
fi
dir=$(mktemp -d /tmp/tocsin-bench-notify.XXXXXX)
cleanup() {
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$dir/tmp"
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$port;
        location / { return 200 "ok"; }
    }
}
CONF
"$NGINX" -c "$dir/nginx.conf" -p "$dir" 2>>"$dir/error.log"
# Wait (bounded) until nginx accepts connections.
$PY - "$port" <<'PYEOF'
import socket, sys, time
deadline = time.monotonic() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("nginx did not start")
        time.sleep(0.05)
PYEOF

cat > "$dir/cfg.yaml" <<CONF
notifiers:
  hook:
    type: webhook
    url: http://127.0.0.1:$port/hook
defaults:
  notify: [hook]
rules:
  - name: bench
    metric: lat
    by: [service]
    severity:
      critical: {above: 500}
CONF
$PY - "$N" > "$dir/stream.jsonl" <<'PYEOF'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"metric": "lat", "labels": {"service": "s%05d" % i},
                      "value": 600, "ts": 1767225600 + i * 0.001}))
PYEOF

# 1. Fill the outbox (eval without --notify records events and rows).
"$TOCSIN" eval -c "$dir/cfg.yaml" --store "$dir/s.db" "$dir/stream.jsonl" \
    > /dev/null 2> "$dir/fill.log"
# 2. Drain it: time only the delivery.
t0=$($PY -c 'import time; print(time.monotonic())')
"$TOCSIN" eval --notify -c "$dir/cfg.yaml" --store "$dir/s.db" /dev/null \
    > /dev/null 2> "$dir/drain.log" || { cat "$dir/drain.log"; exit 1; }
t1=$($PY -c 'import time; print(time.monotonic())')
$PY - "$dir/s.db" "$t0" "$t1" <<'PYEOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
sent = con.execute("SELECT count(*) FROM outbox WHERE status = 1").fetchone()[0]
other = con.execute("SELECT count(*) FROM outbox WHERE status != 1").fetchone()[0]
el = float(sys.argv[3]) - float(sys.argv[2])
print("notify: %d webhooks in %.2f s = %.0f/s%s" %
      (sent, el, sent / el if el > 0 else 0,
       "" if other == 0 else " (%d not sent)" % other))
PYEOF
# TODO: the same 10,000 alerts through prometheus-alertmanager 0.25 (Debian
# package) posting to the same nginx, for the tocsin/Alertmanager ratio.
