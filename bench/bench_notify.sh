#!/bin/sh
# bench_notify.sh - webhook delivery throughput and memory, tocsin against
# Alertmanager 0.25: N distinct alerts (2,000 and 10,000) fire into one
# webhook receiver (nginx on 127.0.0.1 answering 200 "ok", one access-log
# line per request); deliveries/s until nginx has logged N requests, and the
# peak RSS of each side. Then tocsin's RSS with 100,000 notifications queued.
# Called by bench/run.sh (make bench); needs TOCSIN (default ./tocsin),
# /usr/sbin/nginx (nginx-light) and /usr/bin/prometheus-alertmanager; the
# peers' configs and the measuring code are in bench/peers/. Method and
# figures: docs/benchmarks.md. Knobs: BENCH_NOTIFY_SIZES, BENCH_QUEUED,
# BENCH_REPEAT (runs per figure; the median is printed).
set -eu
TOCSIN=${TOCSIN:-./tocsin}
SIZES=${BENCH_NOTIFY_SIZES:-2000 10000}
QUEUED=${BENCH_QUEUED:-100000}
REPEAT=${BENCH_REPEAT:-5}
PY=/usr/bin/python3
NGINX=${NGINX:-/usr/sbin/nginx}
AM=${ALERTMANAGER:-/usr/bin/prometheus-alertmanager}
case "$TOCSIN" in /*) ;; *) TOCSIN=$(pwd)/$TOCSIN ;; esac
export TOCSIN
peers=$(cd "$(dirname "$0")/peers" && pwd)
lib="$peers/peerlib.py"

if [ ! -x "$NGINX" ]; then
    echo "notify: skipped (no $NGINX; apt-get install nginx-light)"
    exit 0
fi
dir=$(mktemp -d /tmp/tocsin-bench-notify.XXXXXX)
cleanup() {
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$dir/tmp"
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" "$peers/nginx.conf.in" \
    > "$dir/nginx.conf"
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
url="http://127.0.0.1:$port/hook"
access="$dir/access.log"

cat > "$dir/cfg.yaml" <<CONF
notifiers:
  hook:
    type: webhook
    url: $url
defaults:
  notify: [hook]
rules:
  - name: bench
    metric: lat
    by: [service]
    severity:
      critical: {above: 500}
CONF
# stream N FILE: N breaching samples of N distinct series (N alerts),
# stamped just before now so that the daemon sees no repeat_interval due.
stream() {
    $PY - "$1" > "$2" <<'PYEOF'
import sys, time
n = int(sys.argv[1])
t = time.time() - n * 0.0001 - 1
for i in range(n):
    print('{"metric":"lat","labels":{"service":"s%06d"},"value":600,'
          '"ts":%.4f}' % (i, t + i * 0.0001))
PYEOF
}

echo "notify machine: $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at start (other processes compete for the cores)"
status=0
for n in $SIZES; do
    stream "$n" "$dir/stream$n.jsonl"
    # 1. Fill the outbox (eval without --notify records events and rows).
    "$TOCSIN" eval -c "$dir/cfg.yaml" --store "$dir/s$n.db" \
        "$dir/stream$n.jsonl" > /dev/null 2> "$dir/fill$n.log"
    # 2. Drain it: from spawning `eval --notify` to nginx's n-th line.
    $PY "$lib" timed --access-log "$access" --n "$n" --repeat "$REPEAT" \
        --stderr "$dir/drain$n.log" \
        --fresh-from "$dir/s$n.db" --fresh-to "$dir/run$n.db" -- \
        "$TOCSIN" eval --notify -c "$dir/cfg.yaml" --store "$dir/run$n.db" \
        /dev/null || { status=1; cat "$dir/drain$n.log"; }
    # 3. The same load through the daemon, fed over HTTP like Alertmanager.
    $PY "$lib" daemon-notify --dir "$dir" --access-log "$access" \
        --url "$url" --n "$n" --repeat "$REPEAT" || status=1
    # 4. Alertmanager 0.25 into the same nginx.
    if [ -x "$AM" ]; then
        $PY "$lib" am-notify --dir "$dir" --access-log "$access" \
            --url "$url" --n "$n" --repeat "$REPEAT" || status=1
    else
        echo "notify alertmanager: skipped (no $AM)"
    fi
done

# 5. Memory with QUEUED notifications pending and the receiver down.
stream "$QUEUED" "$dir/queued.jsonl"
"$TOCSIN" eval -c "$dir/cfg.yaml" --store "$dir/queued.db" \
    "$dir/queued.jsonl" > /dev/null 2> "$dir/fillq.log"
$PY "$lib" queued-rss --dir "$dir" --store "$dir/queued.db" --n "$QUEUED" \
    || status=1
exit $status
