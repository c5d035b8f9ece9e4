#!/bin/sh
# run-configs.sh: the configuration corpus. Every good configuration must
# check clean and survive a dump and re-read byte for byte; every bad one
# must be refused with exit 78 and exactly the diagnostics of its .err file,
# so the wording of each message is pinned.
#
#   tests/run-configs.sh PORTERD [CASE...]
#
# Cases are the top-level files of tests/configs/good and tests/configs/bad
# (subdirectories hold included files):
#   good/X.conf    porterd -t -f X.conf: exit 0, stdout "configuration OK",
#                  stderr = good/X.stderr or empty; then -T dumps the
#                  configuration, the dump checks clean and dumps to itself.
#   good/X.inetd   the same with -i X.inetd (the dump is read back with -f).
#   good/X.inetutils  the same with -inetd_dialect inetutils -i X.inetutils.
#   bad/X.conf     porterd -t -f X.conf: exit 78, stderr = bad/X.err.
#   bad/X.inetd    the same with -i, stderr = bad/X.err.
#   bad/X.inetutils   the same with -inetd_dialect inetutils -i.
# CASE arguments (e.g. bad/x.conf) restrict the run to those cases.
# It runs from the repository root so that diagnostics name files as
# tests/configs/bad/x.conf:3: ...

set -u

if [ $# -lt 1 ]; then
	echo "usage: tests/run-configs.sh PORTERD [CASE...]" >&2
	exit 64
fi
porterd=$1
shift
case $porterd in
/*) ;;
*) porterd=$PWD/$porterd ;;
esac
if [ ! -x "$porterd" ]; then
	echo "run-configs: $porterd: no such executable" >&2
	exit 1
fi
cd "$(dirname "$0")/.." || exit 1

# A parser that loops must fail the case, not hang make check.
limit=${PORTER_TEST_TIMEOUT:-60}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/porter-configs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

pass=0
fail=0
printf 'configuration OK\n' >"$tmp/ok"
: >"$tmp/empty"

# run ARGS...: runs porterd; leaves $rc, $tmp/out and $tmp/err.
run() {
	LC_ALL=C timeout -k 5 "$limit" "$porterd" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
}

# why MESSAGE: records the first reason a case failed; details go to
# $tmp/why and are printed after the FAIL line.
why() {
	[ -n "$reason" ] || reason=$1
}

# same LABEL EXPECTED ACTUAL: true when the files are identical, else a
# unified diff is kept for the report.
same() {
	if cmp -s "$2" "$3"; then
		return 0
	fi
	{
		echo "[$1: - expected, + actual]"
		diff -u --label expected --label actual "$2" "$3" | tail -n +3
	} >>"$tmp/why"
	return 1
}

# show LABEL FILE: keeps a file's content for the report.
show() {
	if [ -s "$2" ]; then
		echo "[$1]"
		cat "$2"
	fi >>"$tmp/why"
}

finish() {
	if [ -z "$reason" ]; then
		pass=$((pass + 1))
		echo "ok   $1"
	else
		fail=$((fail + 1))
		echo "FAIL $1: $reason"
		sed 's/^/    /' "$tmp/why"
	fi
}

# good FILE FLAGS (FLAGS is split into words)
good() {
	file=$1
	flag=$2
	want_err=${file%.*}.stderr
	[ -f "$want_err" ] || want_err=$tmp/empty

	run -t $flag "$file"
	[ "$rc" -eq 0 ] || why "porterd -t $flag exited $rc, expected 0"
	same "stdout of -t" "$tmp/ok" "$tmp/out" || why "stdout of -t differs"
	same "stderr of -t" "$want_err" "$tmp/err" || why "stderr of -t differs"
	[ -z "$reason" ] || return

	run -T $flag "$file"
	cp "$tmp/out" "$tmp/dump1.conf"
	if [ "$rc" -ne 0 ]; then
		why "porterd -T $flag exited $rc"
		show "stderr of -T" "$tmp/err"
		return
	fi
	run -t -f "$tmp/dump1.conf"
	if [ "$rc" -ne 0 ] || ! cmp -s "$tmp/ok" "$tmp/out"; then
		why "the dump does not check clean (exit $rc)"
		show "dump" "$tmp/dump1.conf"
		show "stdout of -t on the dump" "$tmp/out"
		show "stderr of -t on the dump" "$tmp/err"
		return
	fi
	run -T -f "$tmp/dump1.conf"
	cp "$tmp/out" "$tmp/dump2.conf"
	if [ "$rc" -ne 0 ]; then
		why "porterd -T on the dump exited $rc"
		show "stderr of -T on the dump" "$tmp/err"
		return
	fi
	same "dump of the dump" "$tmp/dump1.conf" "$tmp/dump2.conf" ||
	    why "the dump of the dump differs from the dump"
}

# bad FILE FLAGS
bad() {
	file=$1
	flag=$2
	want_err=${file%.*}.err
	if [ ! -f "$want_err" ]; then
		why "missing $want_err"
		run -t $flag "$file"
		show "stderr (exit $rc)" "$tmp/err"
		return
	fi
	run -t $flag "$file"
	[ "$rc" -eq 78 ] || why "porterd -t $flag exited $rc, expected 78"
	same "stderr" "$want_err" "$tmp/err" || why "stderr differs from $want_err"
	[ "$rc" -eq 78 ] || show "stdout" "$tmp/out"
}

# selected NAME: true when no CASE was given or NAME is one of them.
selected() {
	[ -z "$cases" ] && return 0
	for c in $cases; do
		[ "$c" = "$1" ] && return 0
	done
	return 1
}

cases=$*
for kind in good bad; do
	for file in "tests/configs/$kind"/*.conf "tests/configs/$kind"/*.inetd \
	    "tests/configs/$kind"/*.inetutils; do
		[ -f "$file" ] || continue
		name=${file#tests/configs/}
		selected "$name" || continue
		case $file in
		*.inetd) flag=-i ;;
		*.inetutils) flag="-inetd_dialect inetutils -i" ;;
		*) flag=-f ;;
		esac
		reason=
		: >"$tmp/why"
		$kind "$file" "$flag"
		finish "$name"
	done
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
