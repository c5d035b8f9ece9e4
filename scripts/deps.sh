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
# Meant for Debian 12. No service a package brings (tftpd-hpa, vsftpd,
# rsync, popa3d, micro-httpd's socket, fail2ban, haproxy, the inetd and syslogd that
# inetutils-telnetd pulls in) is left running or enabled: the tests start
# their own daemons, under porterd, on their own ports, and run fail2ban's
# filters with fail2ban-regex alone.
#
# Some interop tests also fetch packages they only read (the xinetd.d files
# of xinetd, tang-xinetd, amanda, rush, fingerd, cfingerd) with apt-get
# download, which needs the network and the package lists; they are not
# installed and not listed here.

set -eu

PACKAGES="
build-essential
clang
libclang-rt-14-dev
libcmocka-dev
libssl-dev
libseccomp-dev
openssl
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
rsync
micro-httpd
vsftpd
popa3d
inetutils-telnetd
haproxy
passwd
valgrind
clang-format
psmisc
strace
util-linux
fail2ban
binutils
dpkg-dev
debhelper
lintian
systemd
"

# TLS interop (tests/interop/test_tls_*.py): swaks speaks SMTP over TLS
# (it needs Net::SSLeay, only a Recommends), exim4 -bs is the SMTP server
# porterd runs per connection, sslscan and testssl.sh scan porterd's TLS
# policy (testssl.sh with its own packets, for what Debian's OpenSSL can
# no longer offer). exim4's daemon is stopped and disabled below with the
# others; porterd runs it.
PACKAGES="$PACKAGES
swaks
libnet-ssleay-perl
exim4-daemon-light
sslscan
testssl.sh
"

# The bench's sandbox stage runs firejail beside porterd's sandbox. It is
# installed rather than unpacked like the other peers (bench/peers.sh): it
# reads /etc/firejail/firejail.config and runs its helpers from
# /usr/lib/x86_64-linux-gnu/firejail, paths compiled into it. It starts no
# service; without its Recommends it brings nothing else.
PACKAGES="$PACKAGES
firejail
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
# popa3d asks whether to run standalone (its default: a daemon on port 110);
# the answer for a machine where porterd runs it is inetd mode.
case " $need " in
*" popa3d "*)
	echo "popa3d popa3d/standalone boolean false" | debconf-set-selections
	;;
esac
# inetutils-telnetd depends on an inetd and a syslogd; apt picks
# inetutils-inetd and inetutils-syslogd when the machine has none. The
# syslogd is only quiesced below when this run installed it: a machine that
# logs through it keeps it.
syslogd_before=$(dpkg-query -W -f='${Status}' inetutils-syslogd 2>/dev/null) || syslogd_before=
echo "deps: installing: $need"
apt-get update
# shellcheck disable=SC2086 # one word per package
apt-get install -y --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $need

restore_policy
trap - EXIT

# The daemons these packages bring must neither run nor start at boot: the
# interop tests run them under porterd. This covers a machine whose init
# ignored the policy and the units the packages enabled for the next boot,
# and it is cheap enough to do for every one of them after each install.
# An inetd that apt pulled in to satisfy micro-httpd or inetutils-telnetd
# is treated the same: it would serve port 23 from /etc/inetd.conf.
systemd_up=no
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemd_up=yes
fi
quiesce() { # quiesce PACKAGE UNIT [INITSCRIPT]
	st=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || st=
	[ "$st" = "install ok installed" ] || return 0
	if command -v systemctl >/dev/null 2>&1; then
		if [ "$systemd_up" = yes ]; then
			systemctl disable --now "$2" >/dev/null 2>&1 || true
		else
			systemctl disable "$2" >/dev/null 2>&1 || true
		fi
	fi
	if [ -n "${3:-}" ] && [ -x "/etc/init.d/$3" ]; then
		update-rc.d "$3" disable >/dev/null 2>&1 || true
		if [ "$systemd_up" = no ]; then
			"/etc/init.d/$3" stop >/dev/null 2>&1 || true
		fi
	fi
}
quiesce tftpd-hpa tftpd-hpa.service tftpd-hpa
quiesce vsftpd vsftpd.service vsftpd
quiesce rsync rsync.service rsync
quiesce popa3d popa3d.service popa3d
quiesce micro-httpd micro-httpd.socket
# A running fail2ban would ban the loopback clients the tests refuse on
# purpose, were a jail to read their lines.
quiesce fail2ban fail2ban.service fail2ban
quiesce haproxy haproxy.service haproxy
# TLS interop: exim4's listening daemon (exim4-base ships the unit and
# the init script); the tests run exim4 -bs under porterd instead.
quiesce exim4-base exim4.service exim4
quiesce openbsd-inetd inetd.service openbsd-inetd
quiesce inetutils-inetd inetutils-inetd.service inetutils-inetd
if [ "$syslogd_before" != "install ok installed" ]; then
	quiesce inetutils-syslogd inetutils-syslogd.service inetutils-syslogd
fi

if command -v ss >/dev/null 2>&1; then
	for p in 21 23 69 80 110 873; do
		if [ -n "$(ss -Hlntu "sport = :$p" 2>/dev/null)" ]; then
			echo "deps: warning: something still listens on port $p" >&2
		fi
	done
fi

left=$(missing | tr '\n' ' ')
if [ -n "$left" ]; then
	echo "deps: still missing after install: $left" >&2
	exit 1
fi
echo "deps: all packages installed"
