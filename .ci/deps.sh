#!/bin/sh
# Install the Debian packages tocsin, its tests and benchmarks need.
# Idempotent: does nothing when all are present. Needs root (or sudo).
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev clang-format
libcurl4-openssl-dev libcjson-dev libsqlite3-dev sqlite3 libyaml-dev
check libsubunit-dev libmicrohttpd-dev libssl-dev
python3 python3-aiosmtpd curl openssl prometheus prometheus-node-exporter
prometheus-alertmanager nginx-light valgrind"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
