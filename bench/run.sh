#!/bin/bash
# bench/run.sh: runs porterd and the peers one after another on loopback,
# interleaved over several rounds, each in the foreground with an equivalent
# configuration, and writes bench/RESULTS.md (bench/report.py) from the JSON
# lines the load generator prints. `make bench` builds what it needs and
# runs this; it assumes build-bench/{load,floor,tiny,porterd} exist and
# fetches the peers with bench/peers.sh.
#
# Knobs (environment), with the defaults that keep `make bench` near
# 10 minutes on a 2-core machine (15 at most):
#   BENCH_ROUNDS=3        rounds; every peer runs once per round, the order
#                         rotating from round to round
#   BENCH_SECONDS=3       length of each timed run of A, B and C's conn/s
#   BENCH_BULK=256M       size of one transfer in C (three per round)
#   BENCH_FLOOD=500       simultaneous connects in E
#   BENCH_PEERS="porter xinetd openbsd-inetd rlinetd tcpserver systemd"
#   BENCH_D="10 100 1000" service counts in D
#   BENCH_PROFILE=1       the callgrind/strace profile at the end (0: skip)
#   BENCH_STAGES="floor main proxy d"  what the rounds run (the floor and
#                         C's direct reference, A B C E, the PROXY header's
#                         cost to porter, D); a run of proxy alone rewrites
#                         only that section of BENCH_OUT. Not in the default:
#                         tls, TLS termination (issue 15): porterd's tls =
#                         yes beside stunnel4 (fetched by bench/peers.sh) and
#                         haproxy, about 4 minutes for 3 rounds; a run of tls
#                         alone (BENCH_STAGES=tls make bench) rewrites only
#                         its section
#   BENCH_TLS_BULK=256M   size of one transfer through TLS (two per round)
#   BENCH_TLS_PEERS="porter stunnel haproxy"  the tls stage's servers
#   BENCH_TLS_PROFILE=1   the tls stage's strace profile at the end (0: skip)
#                         Not in the default either: sandbox, what isolating
#                         each spawned server costs: tiny per connection
#                         under porterd without a sandbox, with its whole
#                         sandbox and with each part alone, beside tcpserver
#                         and xinetd bare, tcpserver running bwrap and
#                         firejail, xinetd running unshare(1); about 4
#                         minutes for 3 rounds; a run of sandbox alone
#                         (BENCH_STAGES=sandbox make bench) rewrites only its
#                         section
#   BENCH_SANDBOX_PROFILE=1  the sandbox stage's profile at the end (perf
#                         trace, or strace without perf; 0: skip)
#   BENCH_PORT_BASE=20000 ports: peer i uses BASE+2000*i .. +1999, sinks
#                         BASE-1000+1 .. +5, the tls stage's stunnel and
#                         haproxy BASE-4000+1020 .. +1023, BASE-6000+1020 ..
#   BENCH_OUT=bench/RESULTS.md
# A longer run: BENCH_ROUNDS=5 BENCH_SECONDS=10 make bench.

set -euo pipefail

cd "$(dirname "$0")/.."
TOP=$(pwd)
B=$TOP/build-bench
LOAD=$B/load
FLOOR=$B/floor
TINY=$B/tiny
PORTERD=${PORTERD:-$B/porterd}
ROUNDS=${BENCH_ROUNDS:-3}
DUR=${BENCH_SECONDS:-3}
BULK=${BENCH_BULK:-256M}
FLOOD=${BENCH_FLOOD:-500}
TLSBULK=${BENCH_TLS_BULK:-256M}
TLS_PEERS=${BENCH_TLS_PEERS:-porter stunnel haproxy}
PEERS=${BENCH_PEERS:-porter xinetd openbsd-inetd rlinetd tcpserver systemd}
DSIZES=${BENCH_D:-10 100 1000}
PROFILE=${BENCH_PROFILE:-1}
STAGES=" ${BENCH_STAGES:-floor main proxy d} "
BASE=${BENCH_PORT_BASE:-20000}
OUT=${BENCH_OUT:-$TOP/bench/RESULTS.md}
ADDR=127.0.0.1
W=$B/run
RES=$W/results.jsonl
COMMAND=${BENCH_COMMAND:-bench/run.sh}
# The knobs this run was given belong to the command that reproduces it.
for v in ROUNDS SECONDS BULK FLOOD PEERS D PROFILE STAGES PORT_BASE TLS_BULK TLS_PEERS TLS_PROFILE \
	SANDBOX_PROFILE; do
	n=BENCH_$v
	if [ -n "${!n+x}" ]; then COMMAND="$n='${!n}' $COMMAND"; fi
done

for f in "$LOAD" "$FLOOR" "$TINY" "$PORTERD"; do
	[ -x "$f" ] || { echo "bench: $f is missing; run make bench" >&2; exit 1; }
done
# The proxy stage alone measures porter against itself: no peers, no
# profile, and the report rewrites only its section. The tls stage alone
# runs its own servers (BENCH_TLS_PEERS) and rewrites only its section;
# so does the sandbox stage (its own list of servers and wrappers).
ONLY=
if [ "$STAGES" = " proxy " ] || [ "$STAGES" = " tls " ] || [ "$STAGES" = " sandbox " ]; then
	ONLY=${STAGES// /}
	PROFILE=0
	PEERS=porter
fi
PEER_XINETD='' PEER_INETD='' PEER_RLINETD='' PEER_RLINETD_PARSER='' PEER_TCPSERVER=''
PEER_SOCKET_ACTIVATE='' PEER_PROXYD='' PEER_LD_LIBRARY_PATH='' PEER_STUNNEL='' PEER_BWRAP=''
if [ "$ONLY" = proxy ]; then
	:
elif bash bench/peers.sh "$B/peers" >/dev/null && [ -s "$B/peers/env.sh" ]; then
	# shellcheck source=/dev/null
	. "$B/peers/env.sh"
else
	echo "bench: the peers could not be fetched; porter runs alone" >&2
fi

rm -rf "$W"
mkdir -p "$W/logs" "$W/conf"
: >"$RES"
ROOT=no
[ "$(id -u)" -eq 0 ] && ROOT=yes

# Every daemon starts with the small environment init would give it, the
# same for all: a make's or a shell's environment would otherwise be copied
# into each service by the servers that keep one per service.
CLEAN=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin)

say() { printf 'bench: %s %s\n' "$(date +%T)" "$*" >&2; }

# ------------------------------------------------------------- bookkeeping

ROUND=0
# emit WORKLOAD PEER JSON [EXTRA-JSON-FIELDS]: one result line
emit() {
	local w=$1 p=$2 j=$3 extra=${4:-}
	[ -n "$j" ] || j='{"error":"no output"}'
	printf '{"round":%d,"w":"%s","peer":"%s",%s%s\n' "$ROUND" "$w" "$p" \
		"${extra:+$extra,}" "${j#\{}" >>"$RES"
}

peer_index() {
	case $1 in
	porter) echo 0 ;; xinetd) echo 1 ;; openbsd-inetd) echo 2 ;;
	rlinetd) echo 3 ;; tcpserver) echo 4 ;; systemd) echo 5 ;;
	esac
}

peer_comm() { # the daemon's process name, as /proc/PID/comm has it
	case $1 in
	porter) echo porterd ;; xinetd) echo xinetd ;; openbsd-inetd) echo inetd ;;
	rlinetd) echo rlinetd ;; tcpserver) echo tcpserver ;; systemd) echo 'systemd-socket-' ;;
	stunnel) echo stunnel4 ;; haproxy) echo haproxy ;;
	esac
}

peer_available() {
	case $1 in
	porter) [ -x "$PORTERD" ] ;;
	xinetd) [ -n "$PEER_XINETD" ] ;;
	openbsd-inetd) [ -n "$PEER_INETD" ] ;;
	rlinetd) [ -n "$PEER_RLINETD" ] ;;
	tcpserver) [ -n "$PEER_TCPSERVER" ] ;;
	systemd) [ -n "$PEER_SOCKET_ACTIVATE" ] ;;
	stunnel) [ -n "$PEER_STUNNEL" ] ;;
	haproxy) command -v haproxy >/dev/null ;;
	*) false ;;
	esac
}

# The sinks serve the whole run: -n at the load generator's maximum, so
# that a long run (BENCH_ROUNDS, BENCH_SECONDS) does not outlast them.
SINK_BULK=$((BASE - 1000 + 1))
SINK_GREET=$((BASE - 1000 + 2))
SINK_ECHO=$((BASE - 1000 + 3))   # bare epoll echo loop (B's floor)
SINK_ECHO_B=$((BASE - 1000 + 4)) # bare blocking echo loop
SINK_GREET_P=$((BASE - 1000 + 5)) # the greeter, after a PROXY header

# Ports of a peer's main configuration. stunnel and haproxy (the tls stage)
# sit below the sinks: BASE+2000*6 and up would be in Linux's ephemeral
# range (32768-60999), where a client socket in TIME_WAIT can hold the
# port a server is to bind.
set_ports() {
	local pb
	case $1 in
	stunnel) pb=$((BASE - 4000)) ;;
	haproxy) pb=$((BASE - 6000)) ;;
	*) pb=$((BASE + 2000 * $(peer_index "$1"))) ;;
	esac
	P_BASE=$pb
	P_A=$((pb + 1000))
	P_DAY=$((pb + 1002))
	P_ECHO=$((pb + 1003))
	P_RELAY=$((pb + 1004))
	P_BULK=$((pb + 1005))
	P_SLOW=$((pb + 1006))
	# The proxy stage (porter only): A, B's daytime and C's greeter,
	# without and with a PROXY header.
	P_PX_A=$((pb + 1010))
	P_PX_AH=$((pb + 1011))
	P_PX_R=$((pb + 1012))
	P_PX_RH=$((pb + 1013))
	P_PX_D=$((pb + 1014))
	P_PX_DH=$((pb + 1015))
	# The sandbox stage: tiny per connection, one port per way of
	# running it (sandbox_variants).
	P_S=$((pb + 1030))
	# The tls stage: handshakes against the ECDSA and the RSA certificate
	# (relayed to the greeter), bulk (relayed to the sink), a tiny per
	# connection.
	P_T_EC=$((pb + 1020))
	P_T_RSA=$((pb + 1021))
	P_T_BULK=$((pb + 1022))
	P_T_SPAWN=$((pb + 1023))
	if [ "$1" = openbsd-inetd ]; then
		# Its builtins bind only their official ports.
		P_DAY=13
		P_ECHO=7
	fi
}

# The processes of the daemon started last: its session, its name.
DPID=
DCOMM=
group_pids() {
	local pid sid comm
	[ -n "$DPID" ] || return 0
	ps -e -o pid=,sess=,comm= | while read -r pid sid comm; do
		[ "$sid" = "$DPID" ] && [ "$comm" = "$DCOMM" ] && echo "$pid"
	done
	return 0
}

# CPU time of the daemon's processes, ns (schedstat; children excluded).
# With CPU_FROM=stat (the tls stage), utime + stime of /proc/PID/stat
# instead: they keep the time of threads that have exited, which a server
# with a thread per connection (stunnel) needs; 10 ms ticks.
CPU_FROM=schedstat
CLK_TCK=$(getconf CLK_TCK)
daemon_cpu_ns() {
	local t=0 p v
	if [ "$CPU_FROM" = stat ]; then
		for p in $(group_pids); do
			v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || continue
			t=$((t + ${v:-0} * (1000000000 / CLK_TCK)))
		done
		echo "$t"
		return 0
	fi
	for p in $(group_pids); do
		read -r v _ <"/proc/$p/schedstat" 2>/dev/null || continue
		t=$((t + v))
	done
	echo "$t"
}

# "RSS PSS NPROC" in KiB, summed over the daemon's processes.
daemon_mem() {
	local p rss=0 pss=0 n=0 r s
	for p in $(group_pids); do
		r=$(awk '/^Rss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
		s=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
		[ -n "$r" ] || continue
		rss=$((rss + r))
		pss=$((pss + s))
		n=$((n + 1))
	done
	echo "$rss $pss $n"
}

# ------------------------------------------------------------- configs

xinetd_service() { # NAME TYPE PORT [attr=value lines...]: one xinetd.conf block
	local name=$1 type=$2 port=$3
	shift 3
	printf 'service %s\n{\n\ttype        = %s\n\tport        = %s\n' "$name" "$type" "$port"
	printf '\tbind        = %s\n\tsocket_type = stream\n\tprotocol    = tcp\n' "$ADDR"
	printf '\twait        = no\n\tuser        = root\n'
	for a in "$@"; do printf '\t%s\n' "$a"; done
	printf '}\n'
}

# Sets CMD: PEER in the foreground on the configuration file CONF.
conf_cmd() { # PEER CONF
	case $1 in
	porter) CMD=("${CLEAN[@]}" "$PORTERD" -F -C "$W/porter.control.sock" -f "$2") ;;
	xinetd) CMD=("${CLEAN[@]}" "$PEER_XINETD" -dontfork -filelog "$W/logs/xinetd.filelog" -f "$2") ;;
	openbsd-inetd)
		CMD=("${CLEAN[@]}" LD_LIBRARY_PATH="$PEER_LD_LIBRARY_PATH" "$PEER_INETD" -i -q 1024
			-R 100000000 "$2")
		;;
	rlinetd)
		CMD=("${CLEAN[@]}" LD_LIBRARY_PATH="$PEER_LD_LIBRARY_PATH" "$PEER_RLINETD" -d
			-p "$PEER_RLINETD_PARSER" -f "$2")
		;;
	esac
}

xinetd_defaults() { # PEER
	printf 'defaults\n{\n\tinstances      = UNLIMITED\n\tper_source     = UNLIMITED\n'
	printf '\tcps            = 1000000 1\n\tlog_on_success =\n\tlog_on_failure =\n'
	if [ "$1" = porter ]; then printf '\tbacklog        = 4096\n'; fi
	printf '}\n'
}

# Writes the main configuration of PEER (A, B, C, E) and sets CMD and PORTS.
conf_main() {
	local p=$1 c=$W/conf/$1.main
	set_ports "$p"
	case $p in
	porter | xinetd)
		{
			xinetd_defaults "$p"
			xinetd_service bench_a UNLISTED "$P_A" "server      = $TINY"
			xinetd_service daytime "INTERNAL UNLISTED" "$P_DAY" "id          = bench_day"
			xinetd_service echo "INTERNAL UNLISTED" "$P_ECHO" "id          = bench_echo"
			xinetd_service bench_relay UNLISTED "$P_RELAY" "redirect    = $ADDR $SINK_GREET"
			xinetd_service bench_bulk UNLISTED "$P_BULK" "redirect    = $ADDR $SINK_BULK"
			xinetd_service bench_slow UNLISTED "$P_SLOW" "server      = $TINY" "server_args = 100" \
				"instances   = 10"
		} >"$c.conf"
		PORTS="$P_A,$P_DAY,$P_ECHO,$P_RELAY,$P_BULK,$P_SLOW"
		conf_cmd "$p" "$c.conf"
		;;
	openbsd-inetd)
		{
			printf '%s:\n' "$ADDR"
			printf '%s\tstream\ttcp\tnowait.100000000\troot\t%s\ttiny\n' "$P_A" "$TINY"
			printf '%s\tstream\ttcp\tnowait.100000000\troot\t%s\ttiny 100\n' "$P_SLOW" "$TINY"
			if [ "$ROOT" = yes ]; then
				printf 'daytime\tstream\ttcp\tnowait.100000000\troot\tinternal\n'
				printf 'echo\tstream\ttcp\tnowait.100000000\troot\tinternal\n'
			fi
		} >"$c.conf"
		PORTS="$P_A,$P_SLOW"
		[ "$ROOT" = yes ] && PORTS="$PORTS,$P_DAY,$P_ECHO"
		conf_cmd "$p" "$c.conf"
		;;
	rlinetd)
		{
			printf 'defaults {\n  instances 100000;\n  backlog 1024;\n  user "root";\n'
			printf '  interface %s;\n}\n' "$ADDR"
			printf 'service "bench_a" {\n  port %s;\n  exec "%s";\n}\n' "$P_A" "$TINY"
			printf 'service "bench_day" {\n  port %s;\n  echo "%%I";\n  close;\n}\n' "$P_DAY"
			printf 'service "bench_slow" {\n  port %s;\n  exec "%s 100";\n  instances 10;\n}\n' \
				"$P_SLOW" "$TINY"
		} >"$c.conf"
		PORTS="$P_A,$P_DAY,$P_SLOW"
		conf_cmd "$p" "$c.conf"
		;;
	tcpserver)
		{
			echo '#!/bin/sh'
			echo "export LD_LIBRARY_PATH='$PEER_LD_LIBRARY_PATH'"
			# Limits raised (-c 1000 -b 1024) except for E's service,
			# which keeps tcpserver's default backlog.
			echo "'$PEER_TCPSERVER' -q -H -R -l 0 -c 1000 -b 1024 $ADDR $P_A '$TINY' &"
			echo "'$PEER_TCPSERVER' -q -H -R -l 0 -c 10 $ADDR $P_SLOW '$TINY' 100 &"
			echo 'wait'
		} >"$c.sh"
		PORTS="$P_A,$P_SLOW"
		CMD=("${CLEAN[@]}" sh "$c.sh")
		;;
	systemd)
		{
			echo '#!/bin/sh'
			echo "export LD_LIBRARY_PATH='$PEER_LD_LIBRARY_PATH'"
			echo "'$PEER_SOCKET_ACTIVATE' -l $ADDR:$P_A -a --inetd '$TINY' 2>/dev/null &"
			echo "'$PEER_SOCKET_ACTIVATE' -l $ADDR:$P_SLOW -a --inetd '$TINY' 100 2>/dev/null &"
			if [ -n "$PEER_PROXYD" ]; then
				echo "'$PEER_SOCKET_ACTIVATE' -l $ADDR:$P_RELAY '$PEER_PROXYD' --connections-max=4096 $ADDR:$SINK_GREET &"
				echo "'$PEER_SOCKET_ACTIVATE' -l $ADDR:$P_BULK '$PEER_PROXYD' --connections-max=4096 $ADDR:$SINK_BULK &"
			fi
			echo 'wait'
		} >"$c.sh"
		PORTS="$P_A,$P_SLOW"
		[ -n "$PEER_PROXYD" ] && PORTS="$PORTS,$P_RELAY,$P_BULK"
		CMD=("${CLEAN[@]}" sh "$c.sh")
		;;
	esac
}

# The proxy stage: porter's A service, B's daytime and C's relay to the
# greeter, each once as in main and once with a PROXY header (received from
# the load generator at 127.0.0.1, the balancer; sent on by redirect_proxy).
# Daytime costs the daemon so little that it shows the header's own cost.
conf_proxy() {
	local c=$W/conf/porter.proxy
	set_ports porter
	{
		xinetd_defaults porter
		xinetd_service bench_a UNLISTED "$P_PX_A" "server      = $TINY"
		xinetd_service bench_a_proxy UNLISTED "$P_PX_AH" "server      = $TINY" \
			"proxy_protocol = any" "proxy_from  = $ADDR"
		xinetd_service bench_relay UNLISTED "$P_PX_R" "redirect    = $ADDR $SINK_GREET"
		xinetd_service bench_relay_proxy UNLISTED "$P_PX_RH" \
			"redirect    = $ADDR $SINK_GREET_P" "redirect_proxy = v2"
		xinetd_service daytime "INTERNAL UNLISTED" "$P_PX_D" "id          = bench_day"
		xinetd_service daytime "INTERNAL UNLISTED" "$P_PX_DH" "id          = bench_day_proxy" \
			"proxy_protocol = any" "proxy_from  = $ADDR"
	} >"$c.conf"
	PORTS="$P_PX_A,$P_PX_AH,$P_PX_R,$P_PX_RH,$P_PX_D,$P_PX_DH"
	conf_cmd porter "$c.conf"
}

# The tls stage's certificates, one set for every server: tests/tls's CA,
# an ECDSA P-256 and an RSA 2048 certificate for localhost. haproxy reads
# the key from the certificate's file, so it gets the two concatenated.
TLSD=$W/tls
tls_certs() {
	[ -s "$TLSD/ca.pem" ] && return 0
	sh tests/tls/mkcerts.sh "$TLSD" || return 1
	cat "$TLSD/server-ec.pem" "$TLSD/server-ec.key" >"$TLSD/haproxy-ec.pem"
	cat "$TLSD/server-rsa.pem" "$TLSD/server-rsa.key" >"$TLSD/haproxy-rsa.pem"
	chmod 600 "$TLSD/haproxy-ec.pem" "$TLSD/haproxy-rsa.pem"
}

# The tls stage: each server terminates TLS 1.3 on four ports (ECDSA and
# RSA handshakes relayed to the greeter, bulk relayed to the sink, tiny
# per connection where the server can spawn), one process each, nothing
# logged per connection. Sets CMD and PORTS.
conf_tls() {
	local p=$1 c=$W/conf/$1.tls k
	set_ports "$p"
	PORTS="$P_T_EC,$P_T_RSA,$P_T_BULK"
	case $p in
	porter)
		tls_attrs() { # KEYTYPE
			printf '%s\n' "tls         = yes" \
				"tls_certificate = $TLSD/server-$1.pem" "tls_key     = $TLSD/server-$1.key"
		}
		{
			xinetd_defaults porter
			mapfile -t k < <(tls_attrs ec)
			xinetd_service bench_tls_ec UNLISTED "$P_T_EC" "${k[@]}" \
				"redirect    = $ADDR $SINK_GREET"
			xinetd_service bench_tls_bulk UNLISTED "$P_T_BULK" "${k[@]}" \
				"redirect    = $ADDR $SINK_BULK"
			xinetd_service bench_tls_spawn UNLISTED "$P_T_SPAWN" "${k[@]}" \
				"server      = $TINY"
			mapfile -t k < <(tls_attrs rsa)
			xinetd_service bench_tls_rsa UNLISTED "$P_T_RSA" "${k[@]}" \
				"redirect    = $ADDR $SINK_GREET"
		} >"$c.conf"
		PORTS="$PORTS,$P_T_SPAWN"
		conf_cmd porter "$c.conf"
		;;
	stunnel)
		# Threads (stunnel 5.68's Debian build: Threading:PTHREAD), one
		# per connection; exec forks the server (inetd mode). No
		# libwrap look-up per connection, errors only in the log.
		stunnel_service() { # NAME PORT KEYTYPE TARGET-LINE
			printf '[%s]\naccept = %s:%s\n%s\n' "$1" "$ADDR" "$2" "$4"
			printf 'cert = %s\nkey = %s\nlibwrap = no\n' "$TLSD/server-$3.pem" \
				"$TLSD/server-$3.key"
		}
		{
			printf 'foreground = yes\npid =\nsyslog = no\ndebug = 3\n'
			printf 'output = %s\n' "$W/logs/stunnel.log"
			stunnel_service ec "$P_T_EC" ec "connect = $ADDR:$SINK_GREET"
			stunnel_service rsa "$P_T_RSA" rsa "connect = $ADDR:$SINK_GREET"
			stunnel_service bulk "$P_T_BULK" ec "connect = $ADDR:$SINK_BULK"
			stunnel_service spawn "$P_T_SPAWN" ec "exec = $TINY"$'\n'"execArgs = tiny"
		} >"$c.conf"
		PORTS="$PORTS,$P_T_SPAWN"
		CMD=("${CLEAN[@]}" LD_LIBRARY_PATH="$PEER_LD_LIBRARY_PATH" "$PEER_STUNNEL" "$c.conf")
		;;
	haproxy)
		# One thread (nbthread 1); it cannot start a server per
		# connection, so it has no spawn port.
		{
			printf 'global\n\tnbthread 1\n\tmaxconn 4096\n'
			printf 'defaults\n\tmode tcp\n\ttimeout connect 10s\n'
			printf '\ttimeout client 120s\n\ttimeout server 120s\n'
			printf 'frontend ec\n\tbind %s:%s ssl crt %s\n\tdefault_backend greet\n' \
				"$ADDR" "$P_T_EC" "$TLSD/haproxy-ec.pem"
			printf 'frontend rsa\n\tbind %s:%s ssl crt %s\n\tdefault_backend greet\n' \
				"$ADDR" "$P_T_RSA" "$TLSD/haproxy-rsa.pem"
			printf 'frontend bulk\n\tbind %s:%s ssl crt %s\n\tdefault_backend sink\n' \
				"$ADDR" "$P_T_BULK" "$TLSD/haproxy-ec.pem"
			printf 'backend greet\n\tserver greet %s:%s\n' "$ADDR" "$SINK_GREET"
			printf 'backend sink\n\tserver sink %s:%s\n' "$ADDR" "$SINK_BULK"
		} >"$c.cfg"
		CMD=("${CLEAN[@]}" haproxy -db -f "$c.cfg")
		;;
	esac
}

# ------------------------------------------------------------- sandbox stage

# The ways the sandbox stage runs tiny: NAME|ATTRIBUTES, the attributes of
# porter's service separated by ';'. Each has its own port, P_S + its index
# among its server's. The whole sandbox, then each part alone, so that a
# part's cost shows as the difference to porter without a sandbox. The
# cgroup part alone also sets pids_max, a second hierarchy under cgroup v1:
# an upper bound on what memory_max alone costs in the whole sandbox.
SB_PORTER=(
	"porter|"
	"porter-full|private_tmp = yes;private_network = yes;private_pid = yes;system_call_filter = @system-service;memory_max = 64M"
	"porter-seccomp|system_call_filter = @system-service"
	"porter-cgroup|memory_max = 64M;pids_max = 64"
	"porter-ns|private_tmp = yes;private_network = yes;private_pid = yes"
)
# tcpserver bare and through bwrap and firejail; xinetd bare and through
# unshare(1). Namespaces as close to porter's whole sandbox as each allows:
# a network namespace without interfaces, a PID namespace, a private /tmp.
SB_TCPSERVER=(tcpserver tcpserver-bwrap tcpserver-firejail)
SB_XINETD=(xinetd xinetd-unshare)
# The ways this run can measure (filled by sandbox_check) and why the
# others cannot.
SB_OK=" "

# A reason for the report: one line, no quotes or backslashes.
sb_why() { head -1 | tr -d '"\134' | cut -c1-160; }

sb_na() { # NAME WHY: mark NAME not measured, once a run
	emit S_start "$1" "{\"unavailable\":true,\"why\":\"$2\"}"
	say "sandbox: $1: not measured: $2"
}

# The command line of tiny under each wrapper, the same for tcpserver and
# xinetd's unshare: a network namespace without interfaces, a PID
# namespace, /tmp a tmpfs of its own. bwrap also needs the rest of the tree
# (read-only here), /dev and /proc, in that order: bwrap mounts in the
# order of its options, and / bound after /tmp would hide the tmpfs.
# unshare keeps the host's mounts and mounts /proc for its PID namespace.
# xinetd runs unshare with a two-line sh that mounts /tmp: mount(8) takes
# a fork and an exec more, as any wrapper built from the stock tools does.
sb_wrap() { # NAME: prints the argv, one word a line
	case $1 in
	tcpserver-bwrap)
		printf '%s\n' "$PEER_BWRAP" --unshare-net --unshare-pid \
			--ro-bind / / --dev /dev --proc /proc --tmpfs /tmp "$TINY"
		;;
	tcpserver-firejail)
		printf '%s\n' firejail --quiet --noprofile --net=none --private-tmp "$TINY"
		;;
	xinetd-unshare)
		printf '%s\n' unshare --net --pid --fork --mount --mount-proc /bin/sh "$W/conf/unshare-tiny.sh"
		;;
	*) printf '%s\n' "$TINY" ;;
	esac
}

# Decides once a run which ways can be measured: porterd -t on a service
# with each attribute set (a porterd that does not know an attribute yet
# refuses it), each wrapper run once by hand (it must print tiny's line).
sandbox_check() {
	local v name attrs c out a
	printf '#!/bin/sh\nmount -t tmpfs -o size=1m tmpfs /tmp && exec %s\n' "$TINY" \
		>"$W/conf/unshare-tiny.sh"
	for v in "${SB_PORTER[@]}"; do
		name=${v%%|*} attrs=${v#*|}
		c=$W/conf/porter.check.$name.conf
		local al=()
		[ -n "$attrs" ] && IFS=';' read -r -a al <<<"$attrs"
		{
			xinetd_defaults porter
			xinetd_service "$name" UNLISTED "$((BASE + 1999))" "server      = $TINY" "${al[@]}"
		} >"$c"
		if out=$("$PORTERD" -t -f "$c" 2>&1); then
			SB_OK="$SB_OK$name "
		else
			echo "$out" >>"$W/logs/porter.sandbox-check.log"
			sb_na "$name" "not supported by this porterd: $(echo "$out" | sed 's/^[^ ]*: //' | sb_why)"
		fi
	done
	for name in "${SB_TCPSERVER[@]}" "${SB_XINETD[@]}"; do
		case $name in
		tcpserver*) a=$PEER_TCPSERVER ;;
		xinetd*) a=$PEER_XINETD ;;
		esac
		if [ -z "$a" ]; then
			sb_na "$name" "${name%%-*} could not be fetched"
			continue
		fi
		case $name in
		tcpserver-bwrap)
			[ -n "$PEER_BWRAP" ] || { sb_na "$name" "bwrap could not be fetched"; continue; } ;;
		tcpserver-firejail)
			command -v firejail >/dev/null ||
				{ sb_na "$name" "firejail is not installed (scripts/deps.sh)"; continue; } ;;
		esac
		mapfile -t a < <(sb_wrap "$name")
		out=$(timeout 20 "${a[@]}" </dev/null 2>&1) || true
		if [ "$out" = "tiny: hello"$'\r' ]; then
			SB_OK="$SB_OK$name "
		else
			echo "$name: $out" >>"$W/logs/sandbox-check.log"
			sb_na "$name" "does not run in this container: $(echo "$out" | sb_why)"
		fi
	done
}

# Writes the sandbox stage's configuration of PEER (the ways sandbox_check
# let through); sets CMD, PORTS and SB_RUN ("NAME PORT" words).
conf_sandbox() {
	local p=$1 c=$W/conf/$1.sandbox i=0 v name port a ports=()
	set_ports "$p"
	SB_RUN=()
	case $p in
	porter)
		{
			xinetd_defaults porter
			for v in "${SB_PORTER[@]}"; do
				name=${v%%|*} port=$((P_S + i))
				i=$((i + 1))
				[[ $SB_OK == *" $name "* ]] || continue
				local al=()
				[ -n "${v#*|}" ] && IFS=';' read -r -a al <<<"${v#*|}"
				xinetd_service "$name" UNLISTED "$port" "server      = $TINY" "${al[@]}"
				SB_RUN+=("$name $port")
				ports+=("$port")
			done
		} >"$c.conf"
		conf_cmd porter "$c.conf"
		;;
	xinetd)
		{
			xinetd_defaults xinetd
			for name in "${SB_XINETD[@]}"; do
				port=$((P_S + i))
				i=$((i + 1))
				[[ $SB_OK == *" $name "* ]] || continue
				mapfile -t a < <(sb_wrap "$name")
				if [ ${#a[@]} -gt 1 ]; then
					xinetd_service "$name" UNLISTED "$port" "server      = $(command -v "${a[0]}")" \
						"server_args = ${a[*]:1}"
				else
					xinetd_service "$name" UNLISTED "$port" "server      = ${a[0]}"
				fi
				SB_RUN+=("$name $port")
				ports+=("$port")
			done
		} >"$c.conf"
		conf_cmd xinetd "$c.conf"
		;;
	tcpserver)
		{
			echo '#!/bin/sh'
			echo "export LD_LIBRARY_PATH='$PEER_LD_LIBRARY_PATH'"
			for name in "${SB_TCPSERVER[@]}"; do
				port=$((P_S + i))
				i=$((i + 1))
				[[ $SB_OK == *" $name "* ]] || continue
				mapfile -t a < <(sb_wrap "$name")
				printf "'%s' -q -H -R -l 0 -c 1000 -b 1024 %s %s" "$PEER_TCPSERVER" "$ADDR" "$port"
				printf " '%s'" "${a[@]}"
				printf ' &\n'
				SB_RUN+=("$name $port")
				ports+=("$port")
			done
			echo 'wait'
		} >"$c.sh"
		CMD=("${CLEAN[@]}" sh "$c.sh")
		;;
	esac
	local IFS=,
	PORTS="${ports[*]}"
}

# D: N spawn services on P_BASE .. P_BASE+N-1.
conf_d() {
	local p=$1 n=$2 c=$W/conf/$1.d$2 i port last
	set_ports "$p"
	last=$((P_BASE + n - 1))
	PORTS="$P_BASE-$last"
	case $p in
	porter | xinetd)
		{
			xinetd_defaults "$p"
			for ((i = 0; i < n; i++)); do
				xinetd_service "svc$i" UNLISTED $((P_BASE + i)) "server      = $TINY"
			done
		} >"$c.conf"
		conf_cmd "$p" "$c.conf"
		;;
	openbsd-inetd)
		{
			printf '%s:\n' "$ADDR"
			for ((i = 0; i < n; i++)); do
				printf '%s\tstream\ttcp\tnowait.100000000\troot\t%s\ttiny\n' $((P_BASE + i)) "$TINY"
			done
		} >"$c.conf"
		conf_cmd "$p" "$c.conf"
		;;
	rlinetd)
		{
			printf 'defaults {\n  instances 100000;\n  backlog 1024;\n  user "root";\n'
			printf '  interface %s;\n}\n' "$ADDR"
			for ((i = 0; i < n; i++)); do
				printf 'service "svc%d" {\n  port %s;\n  exec "%s";\n}\n' "$i" \
					$((P_BASE + i)) "$TINY"
			done
		} >"$c.conf"
		conf_cmd "$p" "$c.conf"
		;;
	tcpserver | systemd)
		{
			echo '#!/bin/sh'
			echo "export LD_LIBRARY_PATH='$PEER_LD_LIBRARY_PATH'"
			for ((i = 0; i < n; i++)); do
				port=$((P_BASE + i))
				if [ "$p" = tcpserver ]; then
					echo "'$PEER_TCPSERVER' -q -H -R -l 0 -c 1000 -b 1024 $ADDR $port '$TINY' &"
				else
					echo "'$PEER_SOCKET_ACTIVATE' -l $ADDR:$port -a --inetd '$TINY' 2>/dev/null &"
				fi
			done
			echo 'wait'
		} >"$c.sh"
		CMD=("${CLEAN[@]}" sh "$c.sh")
		;;
	esac
}

# ------------------------------------------------------------- start, stop

SUP=
# start PEER LABEL: runs CMD under `load startup`, waits until every port
# of PORTS accepts; sets DPID, DCOMM, START_MS, START_CONNECT_MS.
start() {
	local p=$1 label=$2 f=$W/start.json i
	rm -f "$f"
	# Nothing of ours may be listening there already.
	if [ -n "$(ss -Hltn "sport = :${PORTS%%[,-]*}" 2>/dev/null)" ]; then
		say "$p: port ${PORTS%%[,-]*} is busy; is another benchmark running?"
		return 1
	fi
	"$LOAD" startup -t "$ADDR:$PORTS" -T 60000 -d 3600 -o "$f" -L "$label" -- "${CMD[@]}" \
		2>>"$W/logs/$p.log" &
	SUP=$!
	for ((i = 0; i < 6500; i++)); do
		[ -s "$f" ] && break
		kill -0 "$SUP" 2>/dev/null || break
		sleep 0.01
	done
	if [ ! -s "$f" ]; then
		say "$p: did not start (see $W/logs/$p.log)"
		stop
		return 1
	fi
	START_JSON=$(cat "$f")
	DPID=$(sed 's/.*"pid":\([-0-9]*\).*/\1/' "$f")
	START_MS=$(sed 's/.*"ms":\([-0-9.]*\).*/\1/' "$f")
	DCOMM=$(peer_comm "$p")
	if [ "$START_MS" = "-1.000" ] || [ "$DPID" -le 0 ]; then
		say "$p: not every port listened (see $W/logs/$p.log)"
		stop
		return 1
	fi
	return 0
}

stop() {
	if [ -n "$SUP" ]; then
		kill "$SUP" 2>/dev/null || true
		wait "$SUP" 2>/dev/null || true
	fi
	SUP=
	DPID=
}

alive() { [ -n "$SUP" ] && kill -0 "$SUP" 2>/dev/null; }

SINKS=()
cleanup() {
	stop
	for s in "${SINKS[@]}"; do kill "$s" 2>/dev/null || true; done
	for s in "${SINKS[@]}"; do wait "$s" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ------------------------------------------------------------- workloads

RUNPFX=()
NCPU=$(nproc)

# pin on|off: the daemon's processes and the client on CPU 0, or back to
# every CPU. Used for echo round trips, whose speed otherwise depends on
# whether the scheduler happened to put both ends on one CPU (a wakeup
# across CPUs costs tens of microseconds in a VM): on one CPU a round trip
# is two context switches and the daemon's own work.
pin() {
	local p cpus=0
	[ "$NCPU" -ge 2 ] && command -v taskset >/dev/null || return 0
	if [ "$1" = on ]; then
		RUNPFX=(taskset -c 0)
	else
		RUNPFX=()
		cpus=0-$((NCPU - 1))
	fi
	for p in $(group_pids); do taskset -a -p -c "$cpus" "$p" >/dev/null 2>&1 || true; done
}

# A timed load run with the daemon's CPU time around it.
measured() { # WORKLOAD PEER load-args...
	local w=$1 p=$2 c0 c1 j
	shift 2
	c0=$(daemon_cpu_ns)
	j=$("${RUNPFX[@]}" "$LOAD" "$@" -L "$p" 2>>"$W/logs/load.log") || true
	c1=$(daemon_cpu_ns)
	emit "$w" "$p" "$j" "\"daemon_cpu_ms\":$(((c1 - c0) / 1000))e-3"
}

# The pid of the process that owns the listening socket of PORT.
listener_pid() {
	ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}

work_a() {
	local p=$1 c w=()
	"$LOAD" connect-read -t "$ADDR:$P_A" -c 8 -d 1 -T 10000 >/dev/null 2>&1 || true
	# Sample the serving process's state (running, waiting, blocked in
	# vfork) while it works.
	local lp
	lp=$(listener_pid "$P_A")
	[ -n "$lp" ] && w=(-w "$lp")
	for c in 1 8 64; do
		measured "A_c$c" "$p" connect-read -t "$ADDR:$P_A" -c "$c" -d "$DUR" -T 10000 "${w[@]}"
	done
}

work_b() {
	local p=$1
	case $p in
	porter | xinetd | rlinetd) ;;
	openbsd-inetd) [ "$ROOT" = yes ] || return 0 ;;
	*) return 0 ;;
	esac
	measured B_daytime "$p" connect-read -t "$ADDR:$P_DAY" -c 1 -d "$DUR" -T 5000
	# rlinetd has no echo service of its own (its builtins are echo
	# lines); the baseline saw the daemon crash trying.
	[ "$p" = rlinetd ] && return 0
	pin on
	measured B_echo "$p" echo-rr -t "$ADDR:$P_ECHO" -d "$DUR" -T 5000
	pin off
}

# B's floors, no daemon: daytime from a bare epoll accept/send/close loop
# (the greeter), echo from a bare epoll loop and a bare blocking one in C,
# each pinned with the client to one CPU as the daemons are.
work_b_floor() {
	measured B_daytime direct connect-read -t "$ADDR:$SINK_GREET" -c 1 -d "$DUR" -T 5000
	pin on
	local w pid port
	for w in epoll blocking; do
		if [ $w = epoll ]; then pid=$ECHO_EPOLL port=$SINK_ECHO; else pid=$ECHO_BLOCKING port=$SINK_ECHO_B; fi
		if [ ${#RUNPFX[@]} -gt 0 ]; then taskset -p -c 0 "$pid" >/dev/null 2>&1 || true; fi
		measured B_echo "direct-$w" echo-rr -t "$ADDR:$port" -d "$DUR" -T 5000
		if [ ${#RUNPFX[@]} -gt 0 ]; then
			taskset -p -c "0-$((NCPU - 1))" "$pid" >/dev/null 2>&1 || true
		fi
	done
	pin off
}

work_c() { # PEER RELAY-PORT BULK-PORT
	local p=$1 relay=$2 bulk=$3 i j
	if [ "$p" = porter ]; then
		j=$("$LOAD" relay-cps -t "$ADDR:$relay" -c 1 -n 3 -d 2 -T 2000 2>/dev/null) || true
		case $j in
		*'"ok":0,'* | "")
			echo "porter: redirect not available" >&2
			emit C_bulk "$p" '{"unavailable":true}'
			emit C_cps "$p" '{"unavailable":true}'
			return 0
			;;
		esac
	fi
	for i in 1 2 3; do
		measured C_bulk "$p" bulk -t "$ADDR:$bulk" -s "$BULK" -T 60000 -d 120
	done
	measured C_cps "$p" relay-cps -t "$ADDR:$relay" -c 8 -d "$DUR" -T 10000
}

work_e() {
	local p=$1 lp w=()
	sleep 0.3 # the readiness probe's slow server is gone
	# Sample the process that serves the probed port.
	lp=$(listener_pid "$P_A")
	[ -n "$lp" ] && w=(-w "$lp")
	measured E "$p" flood -t "$ADDR:$P_SLOW" -P "$ADDR:$P_A" -k "$FLOOD" -p 10 -W 3000 \
		-R 5000 -T 1000 "${w[@]}"
}

# The PROXY header's cost: A at c=1 and c=8 and daytime at c=1 without a
# header, with a version 1 and with a version 2 one, and C's relay conn/s
# without and with redirect_proxy = v2, interleaved (the order turns from
# round to round) so that the machine's drift touches each alike.
run_proxy() {
	local c h hs
	conf_proxy
	start porter porter || { emit PX_start porter '{"error":"did not start"}'; return 0; }
	"$LOAD" connect-read -t "$ADDR:$P_PX_AH" -H v2 -c 8 -d 1 -T 10000 >/dev/null 2>&1 || true
	case $((ROUND % 3)) in
	0) hs="none v1 v2" ;; 1) hs="v1 v2 none" ;; *) hs="v2 none v1" ;;
	esac
	for c in 1 8; do
		for h in $hs; do
			alive || break
			if [ "$h" = none ]; then
				measured "PX_A_c$c" "$h" connect-read -t "$ADDR:$P_PX_A" -c "$c" -d "$DUR" \
					-T 10000
			else
				measured "PX_A_c$c" "$h" connect-read -t "$ADDR:$P_PX_AH" -H "$h" -c "$c" \
					-d "$DUR" -T 10000
			fi
		done
	done
	for h in $hs; do
		alive || break
		if [ "$h" = none ]; then
			measured PX_day_c1 none connect-read -t "$ADDR:$P_PX_D" -c 1 -d "$DUR" -T 5000
		else
			measured PX_day_c1 "$h" connect-read -t "$ADDR:$P_PX_DH" -H "$h" -c 1 -d "$DUR" \
				-T 5000
		fi
	done
	if [ $((ROUND % 2)) -eq 0 ]; then hs="none v2"; else hs="v2 none"; fi
	for h in $hs; do
		alive || break
		if [ "$h" = none ]; then
			measured PX_relay_c8 none relay-cps -t "$ADDR:$P_PX_R" -c 8 -d "$DUR" -T 10000
		else
			measured PX_relay_c8 v2 relay-cps -t "$ADDR:$P_PX_RH" -c 8 -d "$DUR" -T 10000
		fi
	done
	if ! alive; then
		say "porter: the daemon died during the proxy stage (see $W/logs/porter.log)"
		emit died porter '{"error":"daemon died"}'
	fi
	stop
}

# The tls stage for one server: full TLS 1.3 handshakes (ECDSA and RSA,
# c=1 and c=8, the greeting read to the end), resumed ones (tickets; the
# load generator counts those the server really resumed), two bulk
# transfers to the sink, and a tiny per connection where the server spawns.
# The daemon's CPU comes from /proc/PID/stat (CPU_FROM=stat).
run_tls() { # PEER
	local p=$1 k=(-K "$TLSD/ca.pem") c i
	conf_tls "$p"
	if ! start "$p" "$p"; then
		if [ "$p" = porter ]; then
			say "porter: this porterd does not take the tls attributes; not measured"
			emit T_start porter '{"unavailable":true}'
		else
			emit T_start "$p" '{"error":"did not start"}'
		fi
		return 0
	fi
	CPU_FROM=stat
	# Warm up (and check the certificate once: a failure shows in the log).
	"$LOAD" tls-read "${k[@]}" -t "$ADDR:$P_T_EC" -c 8 -d 1 -T 10000 >/dev/null \
		2>>"$W/logs/load.log" || say "$p: no TLS handshake succeeded (see $W/logs/load.log)"
	for c in 1 8; do
		alive || break
		measured "T_hs_ec_c$c" "$p" tls-read "${k[@]}" -t "$ADDR:$P_T_EC" -c "$c" -d "$DUR" -T 10000
		alive || break
		measured "T_hs_rsa_c$c" "$p" tls-read "${k[@]}" -t "$ADDR:$P_T_RSA" -c "$c" -d "$DUR" \
			-T 10000
	done
	alive && measured T_res_c8 "$p" tls-read "${k[@]}" -S -t "$ADDR:$P_T_EC" -c 8 -d "$DUR" \
		-T 10000
	for i in 1 2; do
		alive || break
		measured T_bulk "$p" tls-bulk "${k[@]}" -t "$ADDR:$P_T_BULK" -s "$TLSBULK" -T 120000 -d 300
	done
	if [ "$p" != haproxy ] && alive; then
		measured T_spawn_c8 "$p" tls-read "${k[@]}" -t "$ADDR:$P_T_SPAWN" -c 8 -d "$DUR" -T 10000
	fi
	CPU_FROM=schedstat
	if ! alive; then
		say "$p: the daemon died during the tls stage (see $W/logs/$p.log)"
		emit died "$p" '{"error":"daemon died"}'
	fi
	stop
}

# The machine's handshake ceiling, once a run: OpenSSL's own signature and
# key exchange rates (openssl speed, one CPU), and openssl s_time's full
# handshakes at c=1 against haproxy as a check on the load generator's.
tls_ceiling() {
	local j
	j=$(openssl speed -seconds 1 ecdsap256 rsa2048 ecdhx25519 2>/dev/null | awk '
		/^rsa 2048 bits/ { rs = $(NF - 1); rv = $NF }
		/ecdsa \(nistp256\)/ { es = $(NF - 1); ev = $NF }
		/ecdh \(X25519\)/ { x = $NF }
		END { printf "{\"rsa2048_sign_s\":%s,\"rsa2048_verify_s\":%s,\"ecdsa_p256_sign_s\":%s,\"ecdsa_p256_verify_s\":%s,\"x25519_s\":%s}",
			rs + 0, rv + 0, es + 0, ev + 0, x + 0 }')
	emit T_speed openssl "$j"
	[[ " ${tls_avail[*]} " == *" haproxy "* ]] || return 0
	conf_tls haproxy
	start haproxy haproxy || return 0
	local t0 t1
	t0=$(date +%s%N)
	j=$(openssl s_time -connect "$ADDR:$P_T_EC" -new -time "$DUR" -CAfile "$TLSD/ca.pem" \
		2>/dev/null | awk '/connections in .* real seconds/ { print $1 }')
	t1=$(date +%s%N)
	[ -n "$j" ] && j=$(awk -v n="$j" -v ns=$((t1 - t0)) \
		'BEGIN { printf "{\"ok\":%d,\"elapsed_s\":%.3f,\"rate\":%.1f}", n, ns / 1e9, n / (ns / 1e9) }')
	emit T_stime haproxy "$j"
	stop
}

# The tls stage's profile: system calls of each server (strace -f -c,
# attached once the daemon is up, so start-up is left out) over 1000 full
# ECDSA handshakes at c=8 and over one bulk transfer.
TLS_PROF_N=${BENCH_TLS_PROFILE_N:-1000}
tls_strace() { # FILE load-args...: strace the daemon started last during one load run
	local f=$1 s i
	shift
	strace -f -c -o "$f" -p "$DPID" 2>/dev/null &
	s=$!
	# strace is attached once the daemon's first system call shows up.
	for ((i = 0; i < 100; i++)); do
		grep -q "^TracerPid:[[:space:]]*$s$" "/proc/$DPID/status" 2>/dev/null && break
		sleep 0.01
	done
	"$LOAD" "$@" >>"$W/profile/tls-drive.jsonl" 2>>"$W/logs/load.log" || true
	sleep 0.2
	kill -INT "$s" 2>/dev/null || true
	wait "$s" 2>/dev/null || true
}

tls_profile() {
	local p k=(-K "$TLSD/ca.pem")
	command -v strace >/dev/null || { say "no strace: the TLS profile is skipped"; return 0; }
	mkdir -p "$W/profile"
	: >"$W/profile/tls-summary.txt"
	for p in "${tls_avail[@]}"; do
		conf_tls "$p"
		start "$p" profile || continue
		"$LOAD" tls-read "${k[@]}" -t "$ADDR:$P_T_EC" -c 8 -d 1 -T 10000 >/dev/null 2>&1 || true
		tls_strace "$W/profile/tls.$p.hs.txt" tls-read "${k[@]}" -t "$ADDR:$P_T_EC" -c 8 \
			-n "$TLS_PROF_N" -d 120 -T 10000 -L "$p"
		tls_strace "$W/profile/tls.$p.bulk.txt" tls-bulk "${k[@]}" -t "$ADDR:$P_T_BULK" \
			-s "$TLSBULK" -T 300000 -d 600 -L "$p"
		stop
		echo "tls $p $TLS_PROF_N $TLSBULK" >>"$W/profile/tls-summary.txt"
	done
}

# measured, and the whole machine's CPU time around it (/proc/stat, every
# CPU, ms): a sandbox's cost can land outside the daemon and the server,
# in the kernel's workers that tear a network namespace or a cgroup down.
sb_measured() { # WORKLOAD PEER load-args...
	local wl=$1 way=$2 c0 c1 b0 b1 j
	shift 2
	c0=$(daemon_cpu_ns)
	read -r b0 _ <<<"$(cpu_busy)"
	j=$("$LOAD" "$@" -L "$way" 2>>"$W/logs/load.log") || true
	read -r b1 _ <<<"$(cpu_busy)"
	c1=$(daemon_cpu_ns)
	emit "$wl" "$way" "$j" "\"daemon_cpu_ms\":$(((c1 - c0) / 1000))e-3,\"machine_cpu_ms\":$(((b1 - b0) * 1000 / CLK_TCK))"
}

# The sandbox stage for one server: tiny per connection at c=1 and c=8, on
# each of its ports, the order of the ports turning from round to round.
run_sandbox() { # PEER
	local p=$1 c k n r name port
	conf_sandbox "$p"
	n=${#SB_RUN[@]}
	[ "$n" -gt 0 ] || return 0
	if ! start "$p" "$p-sandbox"; then
		for r in "${SB_RUN[@]}"; do emit S_start "${r%% *}" '{"error":"did not start"}'; done
		return 0
	fi
	for r in "${SB_RUN[@]}"; do
		"$LOAD" connect-read -t "$ADDR:${r#* }" -c 8 -d 1 -T 10000 >/dev/null 2>&1 || true
	done
	for c in 1 8; do
		for ((k = 0; k < n; k++)); do
			r=${SB_RUN[$(((k + ROUND - 1) % n))]}
			name=${r%% *} port=${r#* }
			alive || break
			sb_measured "S_c$c" "$name" connect-read -t "$ADDR:$port" -c "$c" -d "$DUR" -T 10000
		done
	done
	if ! alive; then
		say "$p: the daemon died during the sandbox stage (see $W/logs/$p.log)"
		emit died "$p" '{"error":"daemon died"}'
	fi
	stop
}

# The sandbox stage's profile: the system calls of each way of running
# tiny, over SB_PROF_N connections at c=1, the server and everything it
# starts, start-up included (a few calls against hundreds per connection).
# With perf trace (tracepoints: a call costs about what it costs alone) the
# server starts under it, in a process group of its own that SIGINT ends
# (perf then writes its summary); without perf, strace -f -w -c attached
# to the process that owns the port (ptrace: tens of µs more per call).
# The report takes the difference to the same server without a sandbox.
SB_PROF_N=${BENCH_SANDBOX_PROFILE_N:-200}
sb_listening() { # PORT: waits up to 10 s for PORT to listen
	local i
	for ((i = 0; i < 1000; i++)); do
		[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
		sleep 0.01
	done
	return 1
}

sandbox_profile() {
	local p r name port lp s i tool=strace f
	if perf trace -s -o /dev/null -- true >/dev/null 2>&1; then
		tool=perf
	elif ! command -v strace >/dev/null; then
		say "neither perf trace nor strace: the sandbox profile is skipped"
		return 0
	fi
	mkdir -p "$W/profile"
	: >"$W/profile/sandbox-summary.txt"
	for p in porter tcpserver; do
		peer_available "$p" || continue
		conf_sandbox "$p"
		for r in "${SB_RUN[@]}"; do
			name=${r%% *} port=${r#* } f=$W/profile/sandbox.$name.txt
			if [ "$tool" = perf ]; then
				setsid perf trace -s -o "$f" -- "${CMD[@]}" >>"$W/logs/$p.log" 2>&1 &
				s=$!
				if sb_listening "$port"; then
					"$LOAD" connect-read -t "$ADDR:$port" -c 1 -n "$SB_PROF_N" -d 300 -T 20000 \
						-L "$name" >>"$W/profile/sandbox-drive.jsonl" 2>>"$W/logs/load.log" || true
				fi
				kill -INT -- "-$s" 2>/dev/null || true
				wait "$s" 2>/dev/null || true
				# What SIGINT left (a server that ignores it) goes now.
				kill -KILL -- "-$s" 2>/dev/null || true
				for ((i = 0; i < 100; i++)); do
					[ -z "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] && break
					sleep 0.05
				done
			else
				start "$p" profile || continue
				"$LOAD" connect-read -t "$ADDR:$port" -c 1 -n 20 -d 30 -T 10000 >/dev/null 2>&1 || true
				lp=$(listener_pid "$port")
				if [ -n "$lp" ]; then
					strace -f -w -c -o "$f" -p "$lp" 2>/dev/null &
					s=$!
					for ((i = 0; i < 100; i++)); do
						grep -q "^TracerPid:[[:space:]]*$s$" "/proc/$lp/status" 2>/dev/null && break
						sleep 0.01
					done
					"$LOAD" connect-read -t "$ADDR:$port" -c 1 -n "$SB_PROF_N" -d 300 -T 20000 \
						-L "$name" >>"$W/profile/sandbox-drive.jsonl" 2>>"$W/logs/load.log" || true
					sleep 0.2
					kill -INT "$s" 2>/dev/null || true
					wait "$s" 2>/dev/null || true
				fi
				stop
			fi
			[ -s "$f" ] && echo "sandbox $name $SB_PROF_N $tool" >>"$W/profile/sandbox-summary.txt"
		done
	done
}

run_main() { # PEER
	local p=$1
	conf_main "$p"
	start "$p" "$p" || { emit start "$p" '{"error":"did not start"}'; return 0; }
	work_a "$p"
	alive && work_b "$p"
	case $p in
	porter | xinetd) alive && work_c "$p" "$P_RELAY" "$P_BULK" ;;
	systemd) [ -n "$PEER_PROXYD" ] && alive && work_c "$p" "$P_RELAY" "$P_BULK" ;;
	esac
	alive && work_e "$p"
	if ! alive; then
		say "$p: the daemon died during the round (see $W/logs/$p.log)"
		emit died "$p" '{"error":"daemon died"}'
	fi
	stop
}

run_d() { # PEER N
	local p=$1 n=$2 mem
	case $p in
	tcpserver | systemd) [ "$n" -le 100 ] || return 0 ;; # a process per service
	esac
	conf_d "$p" "$n"
	start "$p" "$p" || { emit "D_$n" "$p" '{"error":"did not start"}'; return 0; }
	sleep 1 # idle: the servers the readiness probe started are gone
	mem=$(daemon_mem)
	# shellcheck disable=SC2086 # three numbers
	set -- $mem
	emit "D_$n" "$p" "$START_JSON" "\"rss_kib\":$1,\"pss_kib\":$2,\"nproc\":$3"
	stop
}

# ------------------------------------------------------------- profile

# Instruction counts (callgrind) and system calls (strace -f -c) of the
# accept-to-exec path, per connection: the difference between a run of N2
# and one of N1 connections, divided by N2-N1, so start-up and shutdown
# cancel out. Every process of the daemon is counted, the forked children
# up to their exec of tiny included (tiny itself is skipped by callgrind;
# for strace its own calls are measured apart and taken off).
PROF_N1=${BENCH_PROFILE_N1:-100}
PROF_N2=${BENCH_PROFILE_N2:-400}

# drive KIND: N connections of one kind against the daemon started last.
drive() { # KIND N
	case $1 in
	spawn) "$LOAD" connect-read -t "$ADDR:$P_A" -c 1 -n "$2" -d 300 -T 20000 ;;
	daytime) "$LOAD" connect-read -t "$ADDR:$P_DAY" -c 1 -n "$2" -d 300 -T 20000 ;;
	echo) "$LOAD" echo-rr -t "$ADDR:$P_ECHO" -n "$2" -d 300 -T 20000 ;;
	esac
}

callgrind_total() { # FILE...: the sum of their totals
	local t=0 f v
	for f in "$@"; do
		v=$(sed -n 's/^\(totals\|summary\): *\([0-9]*\).*/\2/p' "$f" | head -1)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

profile_one() { # PEER KIND N: one callgrind run; prints the total Ir
	local p=$1 kind=$2 n=$3 d=$W/profile/cg.$1.$2.$3
	rm -rf "$d"
	mkdir -p "$d"
	conf_main "$p"
	CMD=(valgrind --tool=callgrind --trace-children=yes
		"--trace-children-skip=*/tiny"
		"--callgrind-out-file=$d/%p.out" "${CMD[@]}")
	start "$p" "profile" || return 1
	drive "$kind" "$n" >>"$W/profile/drive.jsonl" 2>>"$W/logs/load.log" || true
	stop
	sleep 0.2
	# sh (the launcher of tcpserver) is not part of the daemon.
	local files=() f
	for f in "$d"/*.out; do
		grep -Eq '^cmd: *(/usr)?(/bin/)?sh ' "$f" 2>/dev/null || files+=("$f")
	done
	echo "$(callgrind_total "${files[@]}") ${#files[@]}"
}

strace_counts() { # FILE: "syscall calls" lines of a strace -c summary
	awk '$1 ~ /^[0-9.]+$/ && NF >= 5 { print $NF, $4 }' "$1"
}

profile_strace() { # PEER KIND N
	local p=$1 kind=$2 n=$3 f=$W/profile/st.$1.$2.$3.txt
	conf_main "$p"
	CMD=(strace -f -c -o "$f" "${CMD[@]}")
	start "$p" "profile" || return 1
	drive "$kind" "$n" >>"$W/profile/drive.jsonl" 2>>"$W/logs/load.log" || true
	stop
	sleep 0.2
}

profile() {
	local p kind a b
	mkdir -p "$W/profile"
	: >"$W/profile/summary.txt"
	command -v valgrind >/dev/null || { say "no valgrind"; return 1; }
	for p in porter xinetd tcpserver openbsd-inetd; do
		peer_available "$p" || continue
		for kind in spawn daytime echo; do
			case $p:$kind in
			tcpserver:daytime | tcpserver:echo) continue ;;
			openbsd-inetd:daytime | openbsd-inetd:echo) continue ;;
			esac
			local n1=$PROF_N1 n2=$PROF_N2
			if [ "$kind" != spawn ]; then n1=$((PROF_N1 * 10)); n2=$((PROF_N2 * 10)); fi
			a=$(profile_one "$p" "$kind" "$n1") || continue
			b=$(profile_one "$p" "$kind" "$n2") || continue
			echo "callgrind $p $kind $n1 $n2 $a $b" >>"$W/profile/summary.txt"
		done
	done
	# Where porter's instructions go: the N2 spawn run, the daemon only.
	local main
	main=$(grep -l "^cmd: *$PORTERD" "$W/profile/cg.porter.spawn.$PROF_N2"/*.out 2>/dev/null | head -1)
	if [ -n "$main" ]; then
		callgrind_annotate --inclusive=yes "$main" 2>/dev/null | head -60 \
			>"$W/profile/porter.spawn.inclusive.txt" || true
		callgrind_annotate "$main" 2>/dev/null | head -45 \
			>"$W/profile/porter.spawn.self.txt" || true
	fi
	main=$(grep -l "^cmd: *$PORTERD" "$W/profile/cg.porter.daytime.$((PROF_N2 * 10))"/*.out 2>/dev/null | head -1)
	if [ -n "$main" ]; then
		callgrind_annotate --inclusive=yes "$main" 2>/dev/null | head -60 \
			>"$W/profile/porter.daytime.inclusive.txt" || true
	fi
	if command -v strace >/dev/null; then
		strace -f -c -o "$W/profile/st.tiny.txt" "$TINY" >/dev/null
		for p in porter xinetd tcpserver; do
			peer_available "$p" || continue
			for kind in spawn daytime echo; do
				local n1=50 n2=250
				case $p:$kind in
				tcpserver:daytime | tcpserver:echo) continue ;;
				*:daytime | *:echo) n1=1000; n2=3000 ;;
				esac
				profile_strace "$p" "$kind" "$n1" || continue
				profile_strace "$p" "$kind" "$n2" || continue
				echo "strace $p $kind $n1 $n2" >>"$W/profile/summary.txt"
			done
		done
	fi
	return 0
}

# ------------------------------------------------------------- the run

T_START=$(date +%s)
# Others' work on the machine skews everything: record how busy it was.
cpu_busy() { # prints "busy total" jiffies from /proc/stat
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}
read -r BUSY0 TOTAL0 <<<"$(cpu_busy)"
sleep 1
read -r BUSY1 TOTAL1 <<<"$(cpu_busy)"
echo "idle_before=$((100 - 100 * (BUSY1 - BUSY0) / (TOTAL1 - TOTAL0 + 1)))" >"$W/machine.txt"
echo "loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$W/machine.txt"
say "results in $RES; logs in $W/logs"
"$LOAD" sink -l "$ADDR:$SINK_BULK" -d 3600 -n 10000000 -L bulk >"$W/sink-bulk.json" 2>>"$W/logs/sink.log" &
SINKS+=($!)
"$LOAD" sink -g -l "$ADDR:$SINK_GREET" -d 3600 -n 10000000 -L greet >"$W/sink-greet.json" \
	2>>"$W/logs/sink.log" &
SINKS+=($!)
"$LOAD" sink -g -A -l "$ADDR:$SINK_GREET_P" -d 3600 -n 10000000 -L greet-proxy \
	>"$W/sink-greet-proxy.json" 2>>"$W/logs/sink.log" &
SINKS+=($!)
"$LOAD" echo-server -l "$ADDR:$SINK_ECHO" -d 3600 -n 10000000 -L echo-epoll >"$W/sink-echo.json" \
	2>>"$W/logs/sink.log" &
SINKS+=($!)
ECHO_EPOLL=$!
"$LOAD" echo-server -b -l "$ADDR:$SINK_ECHO_B" -d 3600 -n 10000000 -L echo-blocking \
	>"$W/sink-echo-b.json" 2>>"$W/logs/sink.log" &
SINKS+=($!)
ECHO_BLOCKING=$!
sleep 0.2

read -r -a PEER_LIST <<<"$PEERS"
avail=()
for p in "${PEER_LIST[@]}"; do
	if peer_available "$p"; then avail+=("$p"); else say "$p: not available; skipped"; fi
done
n=${#avail[@]}
tls_avail=()
if [[ $STAGES == *" tls "* ]]; then
	read -r -a PEER_LIST <<<"$TLS_PEERS"
	for p in "${PEER_LIST[@]}"; do
		if peer_available "$p"; then tls_avail+=("$p"); else say "$p: not available; skipped"; fi
	done
	if tls_certs; then
		ROUND=0
		say "TLS: the machine's ceiling (openssl speed, s_time)"
		tls_ceiling
	else
		say "TLS: the certificates could not be made; the tls stage is skipped"
		tls_avail=()
	fi
fi

sb_avail=()
if [[ $STAGES == *" sandbox "* ]]; then
	ROUND=0
	sandbox_check
	for p in porter tcpserver xinetd; do
		if peer_available "$p"; then sb_avail+=("$p"); fi
	done
fi

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	say "round $ROUND of $ROUNDS"
	for s in "${SINKS[@]}"; do
		kill -0 "$s" 2>/dev/null || { say "a sink (pid $s) is gone; see $W/logs/sink.log"; exit 1; }
	done
	if [[ $STAGES == *" floor "* ]]; then
		# The floor, same round: fork (the floor), posix_spawn and
		# vfork, and both again from a process holding 64 MiB.
		for m in fork spawn vfork; do
			emit floor "$m" "$("$FLOOR" -M "$m" -d 2 -L "$m" "$TINY")"
		done
		emit floor fork64m "$("$FLOOR" -M fork -m 65536 -d 1 -L fork64m "$TINY")"
		emit floor spawn64m "$("$FLOOR" -M spawn -m 65536 -d 1 -L spawn64m "$TINY")"
		# C's reference: the same transfer and conn/s without a relay.
		work_c direct "$SINK_GREET" "$SINK_BULK"
		work_b_floor
	fi
	if [[ $STAGES == *" main "* ]]; then
		for ((k = 0; k < n; k++)); do
			p=${avail[$(((k + ROUND - 1) % n))]}
			say "  $p"
			run_main "$p"
		done
	fi
	if [[ $STAGES == *" proxy "* ]] && peer_available porter; then
		say "  porter: PROXY header"
		run_proxy
	fi
	if [[ $STAGES == *" tls "* ]] && [ ${#tls_avail[@]} -gt 0 ]; then
		nt=${#tls_avail[@]}
		for ((k = 0; k < nt; k++)); do
			p=${tls_avail[$(((k + ROUND - 1) % nt))]}
			say "  $p: TLS"
			run_tls "$p"
		done
	fi
	if [[ $STAGES == *" sandbox "* ]] && [ ${#sb_avail[@]} -gt 0 ]; then
		nt=${#sb_avail[@]}
		for ((k = 0; k < nt; k++)); do
			p=${sb_avail[$(((k + ROUND - 1) % nt))]}
			say "  $p: sandbox"
			run_sandbox "$p"
		done
	fi
	if [[ $STAGES == *" d "* ]]; then
		for ((k = 0; k < n; k++)); do
			p=${avail[$(((k + ROUND - 1) % n))]}
			say "  $p: D"
			for d in $DSIZES; do run_d "$p" "$d"; done
		done
	fi
done

if [ ${#tls_avail[@]} -gt 0 ] && [ "${BENCH_TLS_PROFILE:-1}" = 1 ]; then
	say "TLS profile (strace)"
	ROUND=0
	tls_profile
fi
if [ ${#sb_avail[@]} -gt 0 ] && [ "${BENCH_SANDBOX_PROFILE:-1}" = 1 ]; then
	say "sandbox profile (perf trace or strace)"
	ROUND=0
	sandbox_profile
fi
if [ "$PROFILE" = 1 ]; then
	say "profile (callgrind, strace)"
	ROUND=0
	profile || say "profile failed (see $W/profile)"
fi

T_END=$(date +%s)
echo "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$W/machine.txt"
python3 bench/report.py --results "$RES" --profile "$W/profile" --out "$OUT" \
	--seconds $((T_END - T_START)) --command "$COMMAND" --rounds "$ROUNDS" \
	--dur "$DUR" --bulk "$BULK" --flood "$FLOOD" --tls-bulk "$TLSBULK" ${ONLY:+--only "$ONLY"}
say "wrote $OUT in $((T_END - T_START)) s"
