#!/bin/sh
# check-deps.sh: make check's first step. Fails early, with the command that
# fixes it, when a Debian package the tests need is missing; as root it
# installs them instead. The list lives in scripts/deps.sh.

set -eu

here=$(dirname "$0")
if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "check-deps: not a Debian system; the packages needed are:" \
	    "$(sh "$here/deps.sh" --list | tr '\n' ' ')" >&2
	exit 0
fi
missing=$(sh "$here/deps.sh" --missing | tr '\n' ' ')
missing=${missing% }
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
	echo "check-deps: installing missing packages: $missing"
	exec sh "$here/deps.sh"
fi
echo "missing packages: $missing; run: sudo scripts/deps.sh" >&2
exit 1
