# lib.sh - the netns integration testbed: namespaces, veths, NAT, servers, processes,
# assertions and cleanup. Sourced (bash only) by tests/netns/test_*.sh and the demo.
#
# Role: test infrastructure, runs on the host as root; never on the fast path.
# Everything it creates carries this run's prefix (ipop-p<PID>-) and is removed by the
# EXIT/INT/TERM trap it installs, even when a test fails midway. docs/testing.md is
# the guide; the summary below is the contract.
#
#   names      nsn NAME -> full namespace name; nsx NAME CMD... runs CMD inside it
#   plumbing   ns_add, link_add, addr_add, route_add, router_enable, nat_add
#   topologies topo_pair [NAT_A [NAT_B]], topo_sites N [NAT_1 ... NAT_N], site_add
#              (NAT modes: none, cone, symmetric); per-site facts in T_* arrays
#   processes  bg_start NS LOG CMD... (sets BG_PID), bg_stop PID [WAIT_S]
#   servers    prosody_start/prosody_adduser/prosody_stop, coturn_start/coturn_stop
#   probes     stun_probe, turn_probe, xmpp_login, udp_whoami, tcp_open (probe.py)
#   traffic    cap_start/cap_stop/cap_count (tcpdump), iperf_server/iperf_mbps
#   waiting    wait_until TIMEOUT_S CMD...
#   asserts    t_pass, t_fail, t_check, t_check_not, t_wait, t_eq, t_require, t_summary
#   cleanup    t_cleanup (also run by the trap), netns_reap_stale
#
# Interface names are local to their namespace ("lan", "wan", "eth0"): every veth is
# created directly inside its two namespaces (ip link add ... netns A ... peer netns B),
# so no name ever exists in the root namespace and concurrent runs cannot collide.
# A run that must put an interface in the root namespace names it with ifn SHORT
# (the run's id plus SHORT, at most 15 characters) and registers it with t_own_link.

# The T_*, PROSODY_* and COTURN_* variables are for the tests that source this file.
# shellcheck shell=bash disable=SC2034
if [[ -n "${_IPOP_NETNS_LIB:-}" ]]; then
	return 0
fi
_IPOP_NETNS_LIB=1

T_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T_TOP=$(cd "$T_LIBDIR/../.." && pwd)
T_PROBE="$T_LIBDIR/probe.py"
IPOP_BUILD=${IPOP_BUILD:-$T_TOP/build}
T_NAME=$(basename "$0")
T_ID="p$$"                      # unique while this shell lives; $$ is the same in subshells
T_NS_PREFIX="ipop-$T_ID-"
T_TMP=""
T_PASS=0
T_FAIL=0
T_SUMMARY_DONE=0
T_CLEANING=0
T_LAST_ERR=""
T_IPV6=${T_IPV6:-0}             # 1 keeps IPv6 on host interfaces (gateway ports never)
TOPO_HOST_MTU=${TOPO_HOST_MTU:-1400}  # LAN MTU: leaves room for the tunnel headers in 1500
T_STOP_WAIT=${T_STOP_WAIT:-5}   # seconds between SIGTERM and SIGKILL

declare -ga T_NSS=()            # full names of namespaces this run created
declare -ga T_PIDS=()           # background processes this run started
declare -ga T_ROOT_LINKS=()     # interfaces this run made in the root namespace
declare -gA T_PID_START=()      # pid -> start time (guards against pid reuse)
declare -gA T_PID_DESC=()
declare -gA T_PID_GROUP=()      # pid -> 1 once seen leading its own process group

# Per-site facts, filled by site_add (keys are site labels: a, b or 1..N).
declare -ga T_SITES=()
declare -gA T_SITE_IDX=() T_SITE_NAT=()
declare -gA T_HOST_IP=() T_HOST_MAC=()
declare -gA T_GW_WAN_IP=() T_GW_WAN_CIDR=() T_GW_WAN_GW=() T_PUBLIC_IP=()
T_OVERLAY_NET=10.200.0.0/24
T_OVERLAY_PREFIX=24
T_SRV_IP=10.91.0.2              # the server namespace "srv" (Prosody, coturn)
T_ROUTER_SRV_IP=10.91.0.1
T_TOPO_CORE=0

_t_log() { printf '%s\n' "$*" >&2; }
_t_die() {
	_t_log "lib.sh: $*"
	return 1
}

# ---------------------------------------------------------------- time and waiting

_t_now_ms() {
	# EPOCHREALTIME has 6 decimals and the locale's separator; drop the separator.
	local t=${EPOCHREALTIME//[!0-9]/}
	echo $((10#$t / 1000))
}

_t_secs_to_ms() {
	awk -v s="$1" 'BEGIN { printf "%d\n", s * 1000 }'
}

# wait_until TIMEOUT_S CMD... : poll CMD every 0.1 s until it succeeds (0) or the
# time is up (1). CMD's output is discarded. CMD must itself be bounded (ping -W1,
# timeout N ...): a CMD that hangs holds the loop.
wait_until() {
	local _wu_limit _wu_deadline
	_wu_limit=$(_t_secs_to_ms "$1")
	shift
	_wu_deadline=$(($(_t_now_ms) + _wu_limit))
	while true; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if (($(_t_now_ms) >= _wu_deadline)); then
			return 1
		fi
		sleep 0.1
	done
}

# ---------------------------------------------------------------- names

nsn() {
	printf '%s%s\n' "$T_NS_PREFIX" "$1"
}

nsx() {
	local ns=$1
	shift
	ip netns exec "$T_NS_PREFIX$ns" "$@"
}

# ifn SHORT : an interface name unique to this run, for the root namespace.
ifn() {
	local name="${T_ID}$1"
	if ((${#name} > 15)); then
		_t_die "interface name '$name' is longer than 15 characters"
		return 1
	fi
	printf '%s\n' "$name"
}

t_own_link() {
	T_ROOT_LINKS+=("$1")
}

# ---------------------------------------------------------------- plumbing

# ns_add NAME : a namespace with lo up and, unless T_IPV6=1, IPv6 off so that router
# solicitations and MLD reports do not show up in broadcast counts.
ns_add() {
	local full="$T_NS_PREFIX$1"
	ip netns add "$full" || return 1
	T_NSS+=("$full")
	ip -n "$full" link set lo up || return 1
	if [[ "$T_IPV6" != 1 ]]; then
		ns_ipv6_off "$1" || return 1
	fi
}

ns_ipv6_off() {
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null
}

# link_add NS1 IF1 NS2 IF2 [MTU] : a veth pair between two namespaces, both ends up.
link_add() {
	local a="$T_NS_PREFIX$1" b="$T_NS_PREFIX$3"
	ip link add name "$2" netns "$a" type veth peer name "$4" netns "$b" || return 1
	if [[ -n "${5:-}" ]]; then
		ip -n "$a" link set dev "$2" mtu "$5" || return 1
		ip -n "$b" link set dev "$4" mtu "$5" || return 1
	fi
	ip -n "$a" link set dev "$2" up || return 1
	ip -n "$b" link set dev "$4" up
}

addr_add() {
	ip -n "$T_NS_PREFIX$1" addr add "$3" dev "$2"
}

# route_add NS DEST VIA [DEV] : DEST may be "default".
route_add() {
	local ns="$T_NS_PREFIX$1" dest=$2 via=$3 dev=${4:-}
	if [[ -n "$dev" ]]; then
		ip -n "$ns" route replace "$dest" via "$via" dev "$dev"
	else
		ip -n "$ns" route replace "$dest" via "$via"
	fi
}

router_enable() {
	nsx "$1" sysctl -qw net.ipv4.ip_forward=1 >/dev/null
}

# offload_off NS IF : the kernel hands CHECKSUM_PARTIAL packets to a veth peer, and a
# DPDK forwarder on that peer sends them on with a wrong checksum; full checksums
# on the kernel side avoid that (machine-notes).
offload_off() {
	nsx "$1" ethtool -K "$2" tx off >/dev/null
}

# nat_add NS OUT_IF MODE : source NAT for everything leaving OUT_IF.
#   cone      masquerade; Linux keeps the inside source port when it is free, so one
#             inside ip:port keeps one outside ip:port for every destination
#             (endpoint-independent mapping). Replies are only let in from the
#             address and port the inside host sent to (conntrack), i.e. a
#             port-restricted cone NAT: STUN hole punching works through it.
#   symmetric masquerade fully-random: every new conntrack entry, i.e. every new
#             destination ip:port, gets a fresh random outside port (endpoint-
#             dependent mapping). The port a STUN server reports is useless to any
#             other peer, so ICE needs peer-reflexive luck or TURN.
# Both drop unsolicited connections that arrive on OUT_IF for the inside.
nat_add() {
	local ns=$1 out=$2 mode=$3 flags=""
	case "$mode" in
	cone) flags="" ;;
	symmetric) flags="fully-random" ;;
	*)
		_t_die "nat_add: unknown NAT mode '$mode' (cone|symmetric)"
		return 1
		;;
	esac
	router_enable "$ns" || return 1
	if command -v nft >/dev/null; then
		nsx "$ns" nft -f - <<-EOF
			table ip ipop_nat {
				chain postrouting {
					type nat hook postrouting priority srcnat; policy accept;
					oifname "$out" masquerade $flags
				}
				chain forward {
					type filter hook forward priority filter; policy accept;
					iifname "$out" ct state established,related accept
					iifname "$out" drop
				}
			}
		EOF
		return
	fi
	local ipt_flags=()
	[[ "$mode" == symmetric ]] && ipt_flags=(--random-fully)
	nsx "$ns" iptables -t nat -A POSTROUTING -o "$out" -j MASQUERADE "${ipt_flags[@]}" &&
		nsx "$ns" iptables -A FORWARD -i "$out" -m conntrack \
			--ctstate ESTABLISHED,RELATED -j ACCEPT &&
		nsx "$ns" iptables -A FORWARD -i "$out" -j DROP
}

# ---------------------------------------------------------------- topologies
#
# Core: "router" (forwarding) and "srv" (servers) on 10.91.0.0/24, router .1, srv .2.
# Site L with index I (1..250):
#   host-L:eth0 10.200.0.I/24, MAC 02:00:0a:c8:00:I(hex) --- gw-L:lan   (no IP)
#   without NAT: gw-L:wan (no IP) --- router:sI 10.91.I.1/24
#                ipopd's WAN address is 10.91.I.2/24 via 10.91.I.1
#   with NAT:    gw-L:wan (no IP) --- nat-L:lan 10.92.I.1/24
#                nat-L:wan 10.91.I.2/24 --- router:sI 10.91.I.1/24
#                ipopd's WAN address is 10.92.I.2/24 via 10.92.I.1; the world sees 10.91.I.2
# The router has no route into 10.92.0.0/16: only NAT gets traffic out and back.
# gw-L's lan and wan belong to DPDK (af_packet/af_xdp): no address, IPv6 off, and tx
# checksum offload off on the kernel ends that send towards them.

topo_core() {
	if ((T_TOPO_CORE)); then
		return 0
	fi
	ns_add router && ns_add srv || return 1
	router_enable router || return 1
	link_add router srv srv eth0 || return 1
	addr_add router srv "$T_ROUTER_SRV_IP/24" || return 1
	addr_add srv eth0 "$T_SRV_IP/24" || return 1
	route_add srv default "$T_ROUTER_SRV_IP" || return 1
	T_TOPO_CORE=1
}

# site_add LABEL INDEX [NAT] : one site on the core (see the map above).
site_add() {
	local l=$1 i=$2 nat=${3:-none}
	if ((i < 1 || i > 250)); then
		_t_die "site_add: index $i out of 1..250"
		return 1
	fi
	if [[ "$nat" != none && "$nat" != cone && "$nat" != symmetric ]]; then
		_t_die "site_add: unknown NAT mode '$nat'"
		return 1
	fi
	topo_core || return 1
	local host="host-$l" gw="gw-$l" mac
	mac=$(printf '02:00:0a:c8:00:%02x' "$i")
	ns_add "$host" && ns_add "$gw" || return 1
	ns_ipv6_off "$gw" || return 1
	link_add "$host" eth0 "$gw" lan "$TOPO_HOST_MTU" || return 1
	ip -n "$(nsn "$host")" link set dev eth0 address "$mac" || return 1
	addr_add "$host" eth0 "10.200.0.$i/$T_OVERLAY_PREFIX" || return 1
	offload_off "$host" eth0 && offload_off "$gw" lan || return 1

	if [[ "$nat" == none ]]; then
		link_add "$gw" wan router "s$i" || return 1
		addr_add router "s$i" "10.91.$i.1/24" || return 1
		offload_off router "s$i" || return 1
		T_GW_WAN_IP[$l]="10.91.$i.2"
		T_GW_WAN_CIDR[$l]="10.91.$i.2/24"
		T_GW_WAN_GW[$l]="10.91.$i.1"
		T_PUBLIC_IP[$l]="10.91.$i.2"
	else
		local n="nat-$l"
		ns_add "$n" || return 1
		link_add "$gw" wan "$n" lan || return 1
		link_add "$n" wan router "s$i" || return 1
		addr_add "$n" lan "10.92.$i.1/24" || return 1
		addr_add "$n" wan "10.91.$i.2/24" || return 1
		addr_add router "s$i" "10.91.$i.1/24" || return 1
		route_add "$n" default "10.91.$i.1" || return 1
		offload_off "$n" lan || return 1
		nat_add "$n" wan "$nat" || return 1
		T_GW_WAN_IP[$l]="10.92.$i.2"
		T_GW_WAN_CIDR[$l]="10.92.$i.2/24"
		T_GW_WAN_GW[$l]="10.92.$i.1"
		T_PUBLIC_IP[$l]="10.91.$i.2"
	fi
	offload_off "$gw" wan || return 1
	T_SITES+=("$l")
	T_SITE_IDX[$l]=$i
	T_SITE_NAT[$l]=$nat
	T_HOST_IP[$l]="10.200.0.$i"
	T_HOST_MAC[$l]=$mac
}

# topo_pair [NAT_A [NAT_B]] : host-a -- gw-a -- router -- gw-b -- host-b (+ srv).
topo_pair() {
	site_add a 1 "${1:-none}" && site_add b 2 "${2:-none}"
}

# topo_sites N [NAT_1 ... NAT_N] : sites 1..N around one router (+ srv).
topo_sites() {
	local n=$1 i nats
	shift
	nats=("$@")
	for ((i = 1; i <= n; i++)); do
		site_add "$i" "$i" "${nats[i - 1]:-none}" || return 1
	done
}

# gw_kernel_wan SITE DEV : give the kernel side of a gateway its site WAN address
# and default route on DEV (ipopd's exception TAP once the daemon runs, or "wan"
# itself for a stand-in gateway without DPDK).
gw_kernel_wan() {
	local l=$1 dev=$2
	addr_add "gw-$l" "$dev" "${T_GW_WAN_CIDR[$l]}" || return 1
	route_add "gw-$l" default "${T_GW_WAN_GW[$l]}" "$dev"
}

# gw_standin_bridge SITE PEER_SITE... : a kernel stand-in for ipopd, for testing the
# testbed itself and for baselines: bridge lan with a VXLAN that floods to the
# peers' public addresses. Works between sites without NAT only.
gw_standin_bridge() {
	local l=$1 p g
	shift
	g=$(nsn "gw-$l")
	gw_kernel_wan "$l" wan || return 1
	ip -n "$g" link add vx0 type vxlan id 4242 dstport 4789 local "${T_GW_WAN_IP[$l]}" \
		|| return 1
	for p in "$@"; do
		nsx "gw-$l" bridge fdb append 00:00:00:00:00:00 dev vx0 dst "${T_PUBLIC_IP[$p]}" \
			|| return 1
	done
	ip -n "$g" link add br0 type bridge || return 1
	ip -n "$g" link set dev lan master br0 && ip -n "$g" link set dev vx0 master br0 || return 1
	ip -n "$g" link set dev vx0 up && ip -n "$g" link set dev br0 up
}

# ---------------------------------------------------------------- processes

_t_pid_starttime() {
	local s
	{ s=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
	s=${s##*) }
	local -a f
	read -r -a f <<<"$s"
	[[ "${f[0]}" != Z ]] || return 1 # a zombie has already stopped
	echo "${f[19]}"
}

# _t_pid_ours PID : alive and still the process we started (not a reused pid).
_t_pid_ours() {
	local st
	st=$(_t_pid_starttime "$1") || return 1
	[[ "$st" == "${T_PID_START[$1]:-}" ]]
}

_t_pid_pgid() {
	local s
	{ s=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
	s=${s##*) }
	local -a f
	read -r -a f <<<"$s"
	echo "${f[2]}"
}

_t_track() {
	local st
	st=$(_t_pid_starttime "$1") || st=gone
	T_PIDS+=("$1")
	T_PID_START[$1]=$st
	T_PID_DESC[$1]=$2
}

_t_untrack() {
	local p keep=()
	for p in "${T_PIDS[@]}"; do
		[[ "$p" == "$1" ]] || keep+=("$p")
	done
	T_PIDS=("${keep[@]}")
	unset "T_PID_START[$1]" "T_PID_DESC[$1]" "T_PID_GROUP[$1]"
}

# bg_start NS LOGFILE CMD... : run CMD inside namespace NS in the background, as the
# leader of its own session (so bg_stop can signal its children too), output
# appended to LOGFILE. Sets BG_PID; call it directly, not inside $(...).
bg_start() {
	local ns=$1 log=$2
	shift 2
	if [[ $- == *m* ]]; then
		# With job control the subshell would already lead a group and setsid
		# would fork, leaving us with the wrong pid.
		_t_die "bg_start: job control (set -m) is on"
		return 1
	fi
	if [[ ! -e /run/netns/$T_NS_PREFIX$ns ]]; then
		_t_die "bg_start: no namespace '$ns' in this run"
		return 1
	fi
	# ip netns exec and setsid both exec in place, so $! is CMD's own pid.
	(exec setsid ip netns exec "$T_NS_PREFIX$ns" "$@" </dev/null >>"$log" 2>&1) &
	BG_PID=$!
	# Out of the job table: no "Killed" chatter when we stop it; bash still reaps it.
	disown "$BG_PID"
	# The start time survives exec, so recording it now already identifies CMD.
	_t_track "$BG_PID" "$ns: $*"
}

# bg_alive PID : our process is still running.
bg_alive() {
	_t_pid_ours "$1"
}

# _t_signal PID SIG : the whole group when PID leads one (as bg_start arranges).
# Once the leader has exited, its group id cannot be given to another process while
# any member lives, so signalling the group then still reaches only our processes.
_t_signal() {
	local pid=$1 sig=$2
	if [[ -n "${T_PID_GROUP[$pid]:-}" || "$(_t_pid_pgid "$pid")" == "$pid" ]]; then
		T_PID_GROUP[$pid]=1
		kill "-$sig" -- "-$pid" 2>/dev/null || true
	elif _t_pid_ours "$pid"; then
		kill "-$sig" "$pid" 2>/dev/null || true
	fi
}

_t_group_gone() {
	! _t_pid_ours "$1" && ! kill -0 -- "-$1" 2>/dev/null
}

# bg_stop PID [WAIT_S] : SIGTERM to the process (and its session's group), SIGKILL
# after WAIT_S seconds (default T_STOP_WAIT). Returns 0 once it is gone.
bg_stop() {
	local - pid=$1 wait_s=${2:-$T_STOP_WAIT}
	set +e
	if [[ -z "${T_PID_START[$pid]:-}" ]]; then
		_t_die "bg_stop: $pid was not started by this run"
		return 1
	fi
	if _t_pid_ours "$pid"; then
		_t_signal "$pid" TERM
		if ! wait_until "$wait_s" _t_group_gone "$pid"; then
			_t_log "lib.sh: pid $pid (${T_PID_DESC[$pid]}) ignored SIGTERM for ${wait_s}s: SIGKILL"
			_t_signal "$pid" KILL
			wait_until 2 _t_group_gone "$pid"
		fi
	fi
	_t_untrack "$pid"
	! _t_pid_ours "$pid"
}

# ---------------------------------------------------------------- servers

_t_tmpdir() {
	if [[ -z "$T_TMP" ]]; then
		T_TMP=$(mktemp -d "/tmp/ipop-test-$T_ID.XXXXXX") || return 1
		# Servers drop to their own users and must reach their directories.
		chmod 755 "$T_TMP"
	fi
}

# t_mkdir NAME : a fresh directory under this run's temp dir; prints its path.
# It is called as $(t_mkdir X), a subshell, so it must not create T_TMP itself
# (the parent would never learn of it and never delete it).
t_mkdir() {
	if [[ -z "$T_TMP" ]]; then
		_t_die "t_mkdir: no temp dir for this run (after t_cleanup?)"
		return 1
	fi
	local d
	d=$(mktemp -d "$T_TMP/$1.XXXX") || return 1
	chmod 755 "$d"
	echo "$d"
}

# tcp_open NS ADDR PORT : something accepts TCP connections there.
tcp_open() {
	nsx "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}

# _t_wait_ready TIMEOUT_S PID CMD... : like wait_until, but gives up at once if PID dies.
_t_wait_ready() {
	local _wr_limit _wr_deadline _wr_pid=$2
	_wr_limit=$(_t_secs_to_ms "$1")
	shift 2
	_wr_deadline=$(($(_t_now_ms) + _wr_limit))
	while true; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if ! _t_pid_ours "$_wr_pid"; then
			_t_log "lib.sh: process $_wr_pid exited before it was ready"
			return 1
		fi
		if (($(_t_now_ms) >= _wr_deadline)); then
			return 1
		fi
		sleep 0.1
	done
}

PROSODY_CFG=""
PROSODY_PID=""
PROSODY_DIR=""

# roster_group NAME DOMAIN USER... : one section of a mod_groups file: the
# shared roster group NAME with USER@DOMAIN for each USER (for prosody_groups).
roster_group() {
	local name=$1 domain=$2 u
	shift 2
	echo "[$name]"
	for u in "$@"; do echo "$u@$domain"; done
}

# prosody_groups < FILE : the shared roster groups on stdin (roster_group's
# sections) as the groups_file of the next prosody_start, with mod_groups.
prosody_groups() {
	local gdir
	gdir=$(t_mkdir groups) || return 1
	cat >"$gdir/groups.txt" && chmod 644 "$gdir/groups.txt" || return 1
	PROSODY_EXTRA_MODULES="groups"
	PROSODY_EXTRA_CONFIG="groups_file = \"$gdir/groups.txt\""
}

# prosody_start NS ADDR PORT DOMAIN [plain|tls] : an XMPP server for one domain, in
# the foreground as the prosody user, ready when the c2s port accepts.
#   plain  no TLS; SASL PLAIN allowed in clear (fast logins, tests only)
#   tls    a self-signed certificate, STARTTLS required
# PROSODY_EXTRA_MODULES (space-separated) and PROSODY_EXTRA_CONFIG (Lua lines, global
# section) extend the config (prosody_groups sets them for shared rosters).
# Sets PROSODY_PID, PROSODY_CFG and PROSODY_DIR.
prosody_start() {
	local ns=$1 addr=$2 port=$3 domain=$4 mode=${5:-plain} dir m mods="" tls_lines=""
	local enc="false" plain_auth="true"
	dir=$(t_mkdir prosody) || return 1
	mkdir -p "$dir/data" "$dir/certs" || return 1
	for m in roster saslauth tls disco ping register posix ${PROSODY_EXTRA_MODULES:-}; do
		mods+="\"$m\"; "
	done
	if [[ "$mode" == tls ]]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-days 2 -subj "/CN=$domain" -addext "subjectAltName=DNS:$domain" \
			-keyout "$dir/key.pem" -out "$dir/cert.pem" >"$dir/openssl.log" 2>&1 || {
			_t_die "prosody_start: openssl failed, see $dir/openssl.log"
			return 1
		}
		tls_lines="ssl = { certificate = \"$dir/cert.pem\"; key = \"$dir/key.pem\"; }"
		enc="true"
		plain_auth="false"
	elif [[ "$mode" != plain ]]; then
		_t_die "prosody_start: mode must be plain or tls"
		return 1
	fi
	cat >"$dir/prosody.cfg.lua" <<-EOF
		-- written by tests/netns/lib.sh for one test run
		pidfile = "$dir/prosody.pid"
		data_path = "$dir/data"
		prosody_user = "prosody"
		prosody_group = "prosody"
		interfaces = { "$addr" }
		c2s_ports = { $port }
		c2s_direct_tls_ports = { }
		s2s_ports = { }
		s2s_direct_tls_ports = { }
		component_ports = { }
		http_ports = { }
		https_ports = { }
		legacy_ssl_ports = { }
		modules_enabled = { $mods}
		modules_disabled = { "s2s"; "offline"; }
		authentication = "internal_hashed"
		storage = "internal"
		allow_registration = false
		c2s_require_encryption = $enc
		allow_unencrypted_plain_auth = $plain_auth
		log = { { levels = { min = "info" }, to = "file", filename = "$dir/prosody.log" } }
		${PROSODY_EXTRA_CONFIG:-}
		VirtualHost "$domain"
		$tls_lines
	EOF
	chown -R prosody:prosody "$dir" || return 1
	bg_start "$ns" "$dir/stdout.log" setpriv --reuid=prosody --regid=prosody \
		--init-groups prosody -F --config "$dir/prosody.cfg.lua" || return 1
	PROSODY_PID=$BG_PID
	PROSODY_CFG="$dir/prosody.cfg.lua"
	PROSODY_DIR=$dir
	if ! _t_wait_ready 15 "$PROSODY_PID" tcp_open "$ns" "$addr" "$port"; then
		_t_die "prosody did not accept on $addr:$port; log:"
		tail -n 20 "$dir/prosody.log" "$dir/stdout.log" >&2 2>/dev/null
		return 1
	fi
}

# prosody_adduser USER DOMAIN PASS [CFG] : register an account (prosodyctl drops to
# the prosody user by itself; works while the server runs).
prosody_adduser() {
	local cfg=${4:-$PROSODY_CFG}
	prosodyctl --config "$cfg" register "$1" "$2" "$3" >/dev/null 2>&1 || {
		_t_die "prosody_adduser: prosodyctl register $1 $2 failed"
		return 1
	}
}

prosody_stop() {
	bg_stop "${1:-$PROSODY_PID}"
}

COTURN_PID=""
COTURN_DIR=""
COTURN_PORT=3478
COTURN_USER=${COTURN_USER:-ipop}
COTURN_PASS=${COTURN_PASS:-ipop-turn-secret}
COTURN_REALM=${COTURN_REALM:-ipop.test}
COTURN_MIN_PORT=${COTURN_MIN_PORT:-49152}
COTURN_MAX_PORT=${COTURN_MAX_PORT:-49251}

# coturn_start NS ADDR : STUN/TURN on ADDR:3478 (UDP and TCP), long-term credentials
# COTURN_USER:COTURN_PASS in realm COTURN_REALM, relays on ADDR in
# COTURN_MIN_PORT..COTURN_MAX_PORT. Ready when it answers a STUN binding request.
# Put it in its own namespace (srv), not in a NAT router's (machine-notes).
coturn_start() {
	local ns=$1 addr=$2 dir
	dir=$(t_mkdir coturn) || return 1
	cat >"$dir/turnserver.conf" <<-EOF
		# written by tests/netns/lib.sh for one test run
		listening-ip=$addr
		relay-ip=$addr
		listening-port=$COTURN_PORT
		min-port=$COTURN_MIN_PORT
		max-port=$COTURN_MAX_PORT
		fingerprint
		lt-cred-mech
		user=$COTURN_USER:$COTURN_PASS
		realm=$COTURN_REALM
		no-tls
		no-dtls
		no-cli
		no-software-attribute
		userdb=$dir/turndb
		pidfile=$dir/turnserver.pid
		log-file=$dir/turnserver.log
		simple-log
		proc-user=turnserver
		proc-group=turnserver
	EOF
	chown -R turnserver:turnserver "$dir" || return 1
	bg_start "$ns" "$dir/stdout.log" turnserver -c "$dir/turnserver.conf" || return 1
	COTURN_PID=$BG_PID
	COTURN_DIR=$dir
	if ! _t_wait_ready 15 "$COTURN_PID" stun_probe "$ns" "$addr" "$COTURN_PORT"; then
		_t_die "coturn did not answer STUN on $addr:$COTURN_PORT; log:"
		tail -n 20 "$dir/turnserver.log" "$dir/stdout.log" >&2 2>/dev/null
		return 1
	fi
}

coturn_stop() {
	bg_stop "${1:-$COTURN_PID}"
}

# ---------------------------------------------------------------- probes

# stun_probe NS SERVER PORT [BIND_IP:PORT] : prints the mapped "ip:port".
stun_probe() {
	local out
	out=$(nsx "$1" python3 "$T_PROBE" --timeout 0.3 stun "$2" "$3" ${4:+--bind "$4"}) ||
		return 1
	echo "${out#MAPPED }"
}

# turn_probe NS SERVER PORT [BIND] : allocate and free a UDP relay with the coturn
# credentials; prints "RELAYED ip:port MAPPED ip:port".
turn_probe() {
	nsx "$1" python3 "$T_PROBE" turn-alloc "$2" "$3" "$COTURN_USER" "$COTURN_PASS" \
		${4:+--bind "$4"}
}

# xmpp_login NS ADDR PORT DOMAIN USER PASS [--tls] : 0 when the server accepts.
xmpp_login() {
	nsx "$1" python3 "$T_PROBE" --timeout 5 xmpp-login "$2" "$3" "$4" "$5" "$6" ${7:+"$7"}
}

# udp_whoami NS SERVER PORT [BIND] : what a probe.py udp-whoami-server saw; "ip:port".
udp_whoami() {
	local out
	out=$(nsx "$1" python3 "$T_PROBE" --timeout 0.3 udp-whoami "$2" "$3" ${4:+--bind "$4"}) ||
		return 1
	echo "${out#SEEN }"
}

# ---------------------------------------------------------------- traffic

# cap_start NS IF FILE [FILTER...] : tcpdump on IF into FILE (pcap), ready when it
# says it listens. Sets CAP_PID; cap_stop CAP_PID ends it. Immediate mode: without it
# libpcap holds packets up to a second and a stop loses them.
cap_start() {
	local ns=$1 dev=$2 file=$3
	shift 3
	bg_start "$ns" "$file.log" tcpdump -i "$dev" -n -U --immediate-mode -Z root \
		-w "$file" "$@" || return 1
	CAP_PID=$BG_PID
	_t_wait_ready 10 "$CAP_PID" grep -q 'listening on' "$file.log"
}

cap_stop() {
	bg_stop "${1:-$CAP_PID}"
}

# cap_count FILE [FILTER...] : how many captured packets match FILTER.
cap_count() {
	local file=$1
	shift
	tcpdump -n -r "$file" "$@" 2>/dev/null | wc -l
}

# iperf_server NS ADDR [PORT] : iperf3 server (one test at a time), ready when it
# accepts. Sets IPERF_PID.
iperf_server() {
	local ns=$1 addr=$2 port=${3:-5201} d
	d=$(t_mkdir iperf) || return 1
	bg_start "$ns" "$d/server.log" iperf3 -s -B "$addr" -p "$port" || return 1
	IPERF_PID=$BG_PID
	_t_wait_ready 10 "$IPERF_PID" tcp_open "$ns" "$addr" "$port"
}

# iperf_mbps NS SERVER SECONDS [IPERF3_ARGS...] : run a client, print the receiver's
# Mbit/s (TCP) as an integer. Bounded by SECONDS + 15 s.
iperf_mbps() {
	local ns=$1 server=$2 secs=$3
	shift 3
	nsx "$ns" timeout $((secs + 15)) iperf3 -c "$server" -t "$secs" -J "$@" |
		python3 -c 'import json, sys
r = json.load(sys.stdin)
if "error" in r:
    sys.exit("iperf3: " + r["error"])
end = r["end"]
s = end.get("sum_received") or end.get("sum")
print(int(s["bits_per_second"] / 1e6))'
}

# ipop_bin NAME : path of a built executable (IPOP_BUILD, default build/).
ipop_bin() {
	local f
	f=$(find "$IPOP_BUILD" -maxdepth 3 -type f -name "$1" -perm -u+x 2>/dev/null | head -n 1)
	[[ -n "$f" ]] || {
		_t_die "no executable '$1' under $IPOP_BUILD"
		return 1
	}
	echo "$f"
}

# ---------------------------------------------------------------- assertions
# Lines start with "PASS: " or "FAIL: "; tests/run.sh counts exactly these.
# Assertions record and go on: they return 0 even when they fail, so a script under
# set -e keeps checking; T_OK is 1 after a pass and 0 after a failure. Use t_require
# when nothing after it can make sense without it.

T_OK=1

t_pass() {
	T_PASS=$((T_PASS + 1))
	T_OK=1
	printf 'PASS: %s\n' "$1"
}

t_fail() {
	T_FAIL=$((T_FAIL + 1))
	T_OK=0
	printf 'FAIL: %s%s\n' "$1" "${2:+ -- $2}"
}

# t_check NAME CMD... : pass if CMD exits 0; its last output lines are shown on failure.
# CMD runs in this shell (not a subshell), so what it sets stays set: t_require
# prosody_start leaves PROSODY_PID behind.
t_check() {
	local _tc_name=$1 _tc_out _tc_rc=0
	shift
	_t_tmpdir || return 1
	_tc_out="$T_TMP/.t_check.out"
	"$@" >"$_tc_out" 2>&1 || _tc_rc=$?
	if ((_tc_rc == 0)); then
		t_pass "$_tc_name"
		return 0
	fi
	t_fail "$_tc_name" "exit $_tc_rc: $*"
	tail -n 15 "$_tc_out" | sed 's/^/    /'
	return 0
}

# t_check_not NAME CMD... : pass if CMD fails (shows that a check can fail).
t_check_not() {
	local _tc_name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		t_fail "$_tc_name" "succeeded but should not: $*"
	else
		t_pass "$_tc_name"
	fi
	return 0
}

# t_wait NAME TIMEOUT_S CMD... : pass if CMD succeeds within the time.
t_wait() {
	local _tc_name=$1 _tc_limit=$2
	shift 2
	if wait_until "$_tc_limit" "$@"; then
		t_pass "$_tc_name"
	else
		t_fail "$_tc_name" "not true within ${_tc_limit}s: $*"
	fi
	return 0
}

# t_eq NAME EXPECTED ACTUAL
t_eq() {
	if [[ "$2" == "$3" ]]; then
		t_pass "$1"
	else
		t_fail "$1" "expected '$2', got '$3'"
	fi
	return 0
}

# t_require NAME CMD... : like t_check, but a failure ends the script (cleanup runs).
t_require() {
	t_check "$@"
	if ((T_OK == 0)); then
		T_SUMMARY_DONE=1
		printf '%s: stopping: requirement "%s" failed\n' "$T_NAME" "$1"
		t_summary
		exit 1
	fi
}

# t_summary : print this script's counts; the script's exit status is non-zero if
# anything failed (the EXIT trap enforces it too). Call it last.
t_summary() {
	T_SUMMARY_DONE=1
	printf '%s: %d passed, %d failed\n' "$T_NAME" "$T_PASS" "$T_FAIL"
	((T_FAIL == 0))
}

# ---------------------------------------------------------------- cleanup

_t_ns_list() {
	ip netns list 2>/dev/null | awk '{ print $1 }'
}

# _t_ns_kill_all FULLNS : stop every process still inside the namespace, by pid.
_t_ns_kill_all() {
	local - ns=$1 pids i
	set +e
	pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
	[[ -z "$pids" ]] && return 0
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[[ -z "$pids" ]] && return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
	sleep 0.1
}

_t_xdp_off() {
	local - ns=$1 dev
	set +e
	for dev in $(ip -n "$ns" -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
		[[ "$dev" == lo ]] && continue
		ip -n "$ns" link set dev "$dev" xdp off 2>/dev/null
	done
}

# netns_reap NS_FULL_NAME : remove one namespace and whatever runs in it.
netns_reap() {
	local -
	set +e
	_t_ns_kill_all "$1"
	_t_xdp_off "$1"
	ip netns delete "$1" 2>/dev/null
	[[ ! -e "/run/netns/$1" ]]
}

# netns_reap_prefix PREFIX : every namespace whose name starts with PREFIX.
netns_reap_prefix() {
	local - ns rc=0
	set +e
	for ns in $(_t_ns_list); do
		if [[ "$ns" == "$1"* ]]; then
			netns_reap "$ns" || rc=1
		fi
	done
	return $rc
}

# netns_reap_stale : namespaces and temp dirs of earlier runs whose shell is gone
# (killed with -9, so its trap never ran). Runs of live shells are left alone.
netns_reap_stale() {
	local - ns pid d
	set +e
	for ns in $(_t_ns_list); do
		[[ "$ns" =~ ^ipop-p([0-9]+)- ]] || continue
		pid=${BASH_REMATCH[1]}
		if ! _t_pid_starttime "$pid" >/dev/null; then # gone, or a zombie
			_t_log "lib.sh: removing stale namespace $ns"
			netns_reap "$ns"
		fi
	done
	for d in /tmp/ipop-test-p*.*; do
		[[ -d "$d" && "$d" =~ ^/tmp/ipop-test-p([0-9]+)\. ]] || continue
		if ! _t_pid_starttime "${BASH_REMATCH[1]}" >/dev/null; then
			rm -rf "$d"
		fi
	done
}

# t_cleanup : stop our processes, remove our namespaces and root links, delete the
# temp dir. Safe to run again (the trap does); bounded (about T_STOP_WAIT + 3 s per
# stubborn process).
t_cleanup() {
	local - pid ns dev
	set +e
	((T_CLEANING)) && return 0
	T_CLEANING=1
	for pid in "${T_PIDS[@]}"; do
		bg_stop "$pid" >/dev/null 2>&1
	done
	for ns in "${T_NSS[@]}"; do
		netns_reap "$ns" || _t_log "lib.sh: could not remove namespace $ns"
	done
	# Anything with our prefix that a test made by hand.
	netns_reap_prefix "$T_NS_PREFIX"
	for dev in "${T_ROOT_LINKS[@]}"; do
		ip link set dev "$dev" xdp off 2>/dev/null
		ip link delete "$dev" 2>/dev/null
	done
	# After a failure, the daemons' logs and configurations go where run.sh
	# keeps its logs (IPOP_FAIL_LOGS), so a failure in CI can be read.
	if ((T_FAIL > 0)) && [[ -n "${IPOP_FAIL_LOGS:-}" && -n "$T_TMP" && -d "$T_TMP" ]]; then
		rm -rf "$IPOP_FAIL_LOGS" && mkdir -p "$IPOP_FAIL_LOGS" &&
			(cd "$T_TMP" && find . -type f \( -name '*.log' -o -name '*.conf' -o -name '*.json' \) \
				-exec cp --parents {} "$IPOP_FAIL_LOGS" \; 2>/dev/null) &&
			_t_log "lib.sh: logs of this failed run kept in $IPOP_FAIL_LOGS"
	fi
	if [[ -n "$T_TMP" && -d "$T_TMP" && -z "${T_KEEP_TMP:-}" ]]; then
		rm -rf "$T_TMP"
	elif [[ -n "$T_TMP" ]]; then
		_t_log "lib.sh: kept $T_TMP (T_KEEP_TMP set)"
	fi
	T_TMP=""
	T_NSS=()
	T_PIDS=()
	T_ROOT_LINKS=()
	T_CLEANING=0
	return 0
}

# t_leftovers : prints namespaces of this run still present (none after t_cleanup).
t_leftovers() {
	_t_ns_list | grep -F -- "$T_NS_PREFIX" || true
}

_t_on_err() {
	T_LAST_ERR="line $1: $2"
}

_t_on_exit() {
	local rc=$?
	set +e
	trap - EXIT ERR
	# A second Ctrl-C must not cut the cleanup short; it is bounded anyway.
	trap '' INT TERM HUP
	# A script without assertions that ends well (a demo) owes no summary.
	if ((T_SUMMARY_DONE == 0 && (rc != 0 || T_PASS + T_FAIL > 0))); then
		t_fail "$T_NAME ended before t_summary (exit $rc${T_LAST_ERR:+, last error at $T_LAST_ERR})"
	fi
	t_cleanup
	if ((T_FAIL > 0 && rc == 0)); then
		rc=1
	fi
	exit "$rc"
}

_t_on_signal() {
	set +e
	t_fail "$T_NAME interrupted by SIG$1"
	T_SUMMARY_DONE=1
	case "$1" in
	INT) exit 130 ;;
	HUP) exit 129 ;;
	*) exit 143 ;;
	esac
}

_t_init() {
	if ((EUID != 0)); then
		echo "FAIL: $T_NAME needs root (network namespaces)"
		exit 1
	fi
	_t_tmpdir || exit 1
	trap _t_on_exit EXIT
	trap '_t_on_signal INT' INT
	trap '_t_on_signal TERM' TERM
	trap '_t_on_signal HUP' HUP
	trap '_t_on_err $LINENO "$BASH_COMMAND"' ERR
}

# IPOP_LIB_NOINIT=1 gives the functions without traps (tests/run.sh uses the reapers).
if [[ -z "${IPOP_LIB_NOINIT:-}" ]]; then
	_t_init
fi
