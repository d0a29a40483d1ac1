#!/bin/sh
# make bench: run every benchmark and print its figures. Programs are
# build/bench/* (from bench/*.c); scripts are bench/bench_*.sh and *.py.
set -u
cd "$(dirname "$0")/.."
export TOCSIN="$PWD/tocsin"
status=0
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
for b in build/bench/*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b" || status=1
done
for s in bench/bench_*.sh; do
    [ -e "$s" ] || continue
    echo "== $(basename "$s")"
    sh "$s" || status=1
done
for s in bench/bench_*.py; do
    [ -e "$s" ] || continue
    echo "== $(basename "$s")"
    /usr/bin/python3 "$s" || status=1
done
exit $status
