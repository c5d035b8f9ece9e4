#!/bin/sh
# bench/peers.sh: fetches the super-servers porter is measured against from
# Debian's packages and unpacks them into a private folder, without
# installing them: they conflict with each other as packages, and no
# maintainer script may run nor any daemon start. The libraries they need
# that the machine lacks are unpacked beside them (LD_LIBRARY_PATH).
#
#   bench/peers.sh [DIR]      default build-bench/peers
#
# Writes DIR/env.sh, which bench/run.sh sources: the path of each peer's
# binary (empty when it could not be had) and the LD_LIBRARY_PATH to use.
# Running it again does nothing once DIR/env.sh exists and knows every peer
# (one written before stunnel4 or bubblewrap joined the list is made again).
#
# bubblewrap (the sandbox stage's bwrap) unpacks and runs from here like the
# others: it finds nothing by a compiled-in path, and as root its setuid bit
# does not matter. firejail does not: it reads /etc/firejail and runs its
# helpers from /usr/lib/x86_64-linux-gnu/firejail, so scripts/deps.sh
# installs it instead (it starts no service).

set -eu

dir=${1:-build-bench/peers}
PEERS="xinetd openbsd-inetd rlinetd ucspi-tcp systemd stunnel4 bubblewrap"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ -s "$dir/env.sh" ] && grep -q '^PEER_BWRAP=' "$dir/env.sh"; then
	echo "peers: already unpacked in $dir"
	exit 0
fi
mkdir -p "$dir/debs" "$dir/root"

# apt-get download writes into the current folder; as root it warns that
# _apt cannot write there, which is harmless.
fetch() { # fetch PACKAGE...
	(
		cd "$dir/debs" || exit 0
		apt-get download "$@" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
	)
}

# shellcheck disable=SC2086 # one word per package
fetch $PEERS
if ! ls "$dir/debs"/xinetd_*.deb >/dev/null 2>&1; then
	# A fresh machine may have no package lists yet.
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update >/dev/null
		# shellcheck disable=SC2086 # one word per package
		fetch $PEERS
	fi
fi

# Libraries: the first alternative of every Depends entry whose name starts
# with lib and which is not installed. One level is enough for these.
libs=
for deb in "$dir"/debs/*.deb; do
	[ -e "$deb" ] || continue
	for p in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/ //g'); do
		case $p in
		lib*) ;;
		*) continue ;;
		esac
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || st=
		if [ "$st" != "install ok installed" ]; then
			case " $libs " in
			*" $p "*) ;;
			*) libs="$libs $p" ;;
			esac
		fi
	done
done
# systemd's programs want the libsystemd-shared of their own version.
libs="$libs libsystemd-shared"
# shellcheck disable=SC2086 # one word per package
fetch $libs

for deb in "$dir"/debs/*.deb; do
	[ -e "$deb" ] || continue
	dpkg-deb -x "$deb" "$dir/root"
done

r=$dir/root
libpath=$r/usr/lib/x86_64-linux-gnu/systemd:$r/usr/lib/x86_64-linux-gnu:$r/lib/x86_64-linux-gnu
found() { # found PATH: PATH when it runs here, else empty
	if [ -x "$1" ] && ! LD_LIBRARY_PATH=$libpath ldd "$1" 2>/dev/null | grep -q 'not found'; then
		printf '%s' "$1"
	fi
}
proxyd=$(found "$r/lib/systemd/systemd-socket-proxyd")
[ -n "$proxyd" ] || proxyd=$(found "$r/usr/lib/systemd/systemd-socket-proxyd")
{
	echo "# written by bench/peers.sh"
	echo "PEER_ROOT='$r'"
	echo "PEER_LD_LIBRARY_PATH='$libpath'"
	echo "PEER_XINETD='$(found "$r/usr/sbin/xinetd")'"
	echo "PEER_INETD='$(found "$r/usr/sbin/inetd")'"
	echo "PEER_RLINETD='$(found "$r/usr/sbin/rlinetd")'"
	echo "PEER_RLINETD_PARSER='$r/usr/lib/x86_64-linux-gnu/rlinetd/libparse.so'"
	echo "PEER_TCPSERVER='$(found "$r/usr/bin/tcpserver")'"
	echo "PEER_SOCKET_ACTIVATE='$(found "$r/usr/bin/systemd-socket-activate")'"
	echo "PEER_PROXYD='$proxyd'"
	echo "PEER_STUNNEL='$(found "$r/usr/bin/stunnel4")'"
	echo "PEER_BWRAP='$(found "$r/usr/bin/bwrap")'"
	for deb in "$dir"/debs/*.deb; do
		[ -e "$deb" ] || continue
		echo "# $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
	done
} >"$dir/env.sh.tmp"
if ! grep -q "^PEER_XINETD='/" "$dir/env.sh.tmp"; then
	# Nothing usable: leave no env.sh, so the next run tries again.
	rm -f "$dir/env.sh.tmp"
	echo "peers: could not fetch or unpack the peers" >&2
	exit 1
fi
mv "$dir/env.sh.tmp" "$dir/env.sh"
grep -v '^#' "$dir/env.sh" | sed 's/^/peers: /'
