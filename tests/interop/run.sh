#!/bin/bash
# run.sh: the interop suite. Every tests/interop/test_*.py runs against the
# porterd given as $1 (or $PORTERD), each serving a real Debian daemon to a
# real client; tests/integration/runner.py runs them and prints the last
# line, "N passed, M failed", for make check. Further arguments select
# tests by unittest name (test_vsftpd, test_rsyncd.RsyncdTest.test_tree_then_incremental).
set -u
cd "$(dirname "$0")/../.." || exit 1
PORTERD=$(readlink -f "${1:-${PORTERD:-build/porterd}}")
export PORTERD
export PYTHONPATH=$PWD/tests/interop${PYTHONPATH:+:$PYTHONPATH}
# No __pycache__ left in the source tree.
export PYTHONDONTWRITEBYTECODE=1
if [ $# -gt 1 ]; then
	exec python3 tests/integration/runner.py "${@:2}"
fi
names=()
for f in tests/interop/test_*.py; do
	n=${f##*/}
	names+=("${n%.py}")
done
exec python3 tests/integration/runner.py "${names[@]}"
