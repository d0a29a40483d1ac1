#!/bin/sh
# Runs every integration test (tests/integration/test_*.py and test_*.sh)
# against $TOCSIN, each in its own temporary folder; prints a summary line.
# --quick skips tests marked slow (a "# slow" line near the top).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${TOCSIN:?set TOCSIN to the binary}"
export TOCSIN
export TOCSIN_ROOT=$(cd "$here/../.." && pwd)
quick=0
[ "${1:-}" = "--quick" ] && quick=1
PY=/usr/bin/python3
pass=0
fail=0
failed=""
for t in "$here"/test_*.py "$here"/test_*.sh; do
    [ -e "$t" ] || continue
    if [ $quick -eq 1 ] && head -n 5 "$t" | grep -q '^# slow'; then
        continue
    fi
    name=$(basename "$t")
    dir=$(mktemp -d /tmp/tocsin-it.XXXXXX)
    case "$t" in
    *.py) (cd "$dir" && timeout 600 $PY "$t") > "$dir/out.log" 2>&1 ;;
    *.sh) (cd "$dir" && timeout 600 sh "$t") > "$dir/out.log" 2>&1 ;;
    esac
    rc=$?
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1))
        echo "PASS $name"
        rm -rf "$dir"
    else
        fail=$((fail + 1))
        failed="$failed $name"
        echo "FAIL $name (exit $rc), output:"
        tail -n 60 "$dir/out.log" | sed 's/^/    /'
    fi
done
echo "integration: $pass passed, $fail failed"
[ $fail -eq 0 ]
