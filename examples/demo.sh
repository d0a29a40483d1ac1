#!/bin/sh
# demo.sh - tocsin in one minute: start the daemon on the quickstart config,
# post the example traffic, show the notifications the log notifier wrote and
# the alerts firing, then stop cleanly. Run from the repository root after
# `make` (uses ./tocsin and curl). Everything goes to a temporary folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${TOCSIN:-$root/tocsin}
work=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-demo.XXXXXX")
port=${TOCSIN_DEMO_PORT:-9464}
export TOCSIN_STORE="$work/tocsin-demo.db"
export TOCSIN_LISTEN="127.0.0.1:$port"
export TOCSIN_NOTIFY_LOG="$work/notifications.jsonl"

[ -x "$bin" ] || { echo "demo: build first (make), no $bin" >&2; exit 1; }
command -v curl >/dev/null || { echo "demo: needs curl" >&2; exit 1; }

echo "== starting: tocsin run -c examples/quickstart.yaml (store $TOCSIN_STORE)"
"$bin" run -c "$root/examples/quickstart.yaml" 2>"$work/daemon.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT

i=0
until curl -fsS "http://$TOCSIN_LISTEN/healthz" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
        echo "demo: the daemon did not come up:" >&2
        cat "$work/daemon.log" >&2
        exit 1
    fi
    sleep 0.1
done
echo "== healthy on $TOCSIN_LISTEN"

echo "== POST examples/traffic.jsonl to /api/v1/ingest"
code=$(curl -sS -o "$work/ingest.out" -w '%{http_code}' \
    --data-binary @"$root/examples/traffic.jsonl" \
    "http://$TOCSIN_LISTEN/api/v1/ingest?format=json")
echo "HTTP $code $(cat "$work/ingest.out")"

# The log notifier writes asynchronously: wait (bounded) for its lines.
i=0
while [ ! -s "$TOCSIN_NOTIFY_LOG" ] && [ $i -lt 50 ]; do
    i=$((i + 1))
    sleep 0.1
done
echo "== notifications written by the log notifier (first 5 of $(wc -l <"$TOCSIN_NOTIFY_LOG" 2>/dev/null || echo 0))"
head -n 5 "$TOCSIN_NOTIFY_LOG" 2>/dev/null | cut -c1-240 || true

echo "== GET /api/v1/alerts"
curl -sS "http://$TOCSIN_LISTEN/api/v1/alerts"

echo "== stopping (SIGTERM)"
kill -TERM $pid
rc=0
wait $pid || rc=$?
trap - EXIT
echo "== tocsin exited with status $rc; daemon log: $work/daemon.log"
[ $rc -eq 0 ]
