#!/bin/sh
# deps.sh: installs every Debian package that porter's build, tests and
# benchmarks need; this list is the only one (scripts/check-deps.sh reads it
# through --list and --missing). Running it again is cheap: apt-get runs
# only when something is missing.
#
#   scripts/deps.sh             install what is missing (as root)
#   scripts/deps.sh --list      print the packages, one a line
#   scripts/deps.sh --missing   print the packages not installed
#
# Meant for Debian 12. No service a package brings (tftpd-hpa) is left
# running: the tests start their own daemons on their own ports.

set -eu

PACKAGES="
build-essential
clang
libclang-rt-14-dev
libcmocka-dev
mandoc
netbase
python3
procps
iproute2
curl
socat
netcat-openbsd
tftpd-hpa
tftp-hpa
valgrind
clang-format
psmisc
"

missing() {
	for p in $PACKAGES; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || st=
		[ "$st" = "install ok installed" ] || printf '%s\n' "$p"
	done
}

case ${1:-} in
--list)
	# shellcheck disable=SC2086 # one word per package
	printf '%s\n' $PACKAGES
	exit 0
	;;
--missing)
	missing
	exit 0
	;;
"") ;;
*)
	echo "usage: scripts/deps.sh [--list | --missing]" >&2
	exit 64
	;;
esac

need=$(missing | tr '\n' ' ')
need=${need% }
if [ -z "$need" ]; then
	echo "deps: all packages installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: $need; run as root: sudo scripts/deps.sh" >&2
	exit 1
fi

# While installing, a policy-rc.d that answers 101 keeps maintainer scripts
# from starting daemons; whatever policy was there before is put back.
policy=/usr/sbin/policy-rc.d
saved=$policy.porter-saved
restore_policy() {
	if [ -e "$saved" ]; then
		mv -f "$saved" "$policy"
	else
		rm -f "$policy"
	fi
}
# A copy left by an interrupted run is the original: keep it.
if [ -e "$policy" ] && [ ! -e "$saved" ]; then
	cp -p "$policy" "$saved"
fi
trap restore_policy EXIT
trap 'exit 130' INT TERM HUP
printf '#!/bin/sh\n# written by porter scripts/deps.sh during apt-get install\nexit 101\n' >"$policy"
chmod 0755 "$policy"

export DEBIAN_FRONTEND=noninteractive
echo "deps: installing: $need"
apt-get update
# shellcheck disable=SC2086 # one word per package
apt-get install -y --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $need

restore_policy
trap - EXIT

# On a machine whose init ignored the policy, make sure tftpd-hpa is neither
# running nor started at boot: the interop tests run in.tftpd themselves.
case " $need " in
*" tftpd-hpa "*)
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now tftpd-hpa.service >/dev/null 2>&1 || true
	else
		update-rc.d tftpd-hpa disable >/dev/null 2>&1 || true
		if [ -x /etc/init.d/tftpd-hpa ]; then
			/etc/init.d/tftpd-hpa stop >/dev/null 2>&1 || true
		fi
	fi
	if command -v ss >/dev/null 2>&1 && [ -n "$(ss -Hlun 'sport = :69' 2>/dev/null)" ]; then
		echo "deps: warning: something still listens on UDP port 69" >&2
	fi
	;;
esac

left=$(missing | tr '\n' ' ')
if [ -n "$left" ]; then
	echo "deps: still missing after install: $left" >&2
	exit 1
fi
echo "deps: all packages installed"
