#!/bin/bash
# run.sh: the black-box suite. Every tests/integration/test_*.py runs
# against the porterd given as $1 (or $PORTERD); the last line is
# "N passed, M failed" for make check.
set -u
cd "$(dirname "$0")/../.."
export PORTERD=$(readlink -f "${1:-${PORTERD:-build/porterd}}")
exec python3 tests/integration/runner.py "${@:2}"
