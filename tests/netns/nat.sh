# nat.sh - the NAT testbed: a "cloud" (the srv namespace: Prosody, coturn, a UDP
# reflector on two addresses) and sites behind NAT routers that emulate, with
# nftables, the NAT behaviours ICE has to cross. Sourced after lib.sh by the NAT
# tests (tests/netns/test_nat.sh) and benchmarks.
#
# Role: test infrastructure, runs on the host as root; never on the fast path.
# Everything it makes lives in lib.sh's namespaces (names ipop-p<PID>-*), so lib.sh's
# cleanup removes it.
#
#   sites      nat_site LABEL INDEX MODE  (MODE: none, eim, prc, sym; see below)
#   cloud      nat_cloud [prosody]       coturn (and Prosody) in srv, second address
#              nat_reflector             probe.py reflectors: two addresses, three ports
#   NAT state  nat_flush LABEL           forget every mapping (a NAT restart)
#              nat_move_ports LABEL      a new public port range, mappings flushed
#   probes     nat_mapped NS IP PORT BIND   the mapping IP:PORT saw
#              nat_poked / nat_not_poked NS BIND   an unsolicited datagram got in / not
#
# The site map is lib.sh's (site_add): gw-L's WAN 10.92.I.2/24 behind nat-L, whose
# outside is 10.91.I.2 on the core router; "none" puts gw-L on the router itself
# with 10.91.I.2. MODEs, in RFC 4787 terms:
#   none  no NAT: the gateway's own address is public; no filtering
#   eim   endpoint-independent mapping and filtering ("full cone"): once the inside
#         ip:port has sent anything, anyone may send to its public ip:port
#   prc   endpoint-independent mapping, address-and-port-dependent filtering
#         ("port-restricted cone"): only the ip:port the inside sent to gets in
#   sym   endpoint-dependent mapping ("symmetric"): a new public port for every
#         destination ip:port, filtering as prc
# Every NAT maps TCP and UDP ports into a range (T_NAT_PORT_BASE[L] ..
# +T_NAT_PORT_SPAN-1), so a public port is never the private one by accident: a
# test that sees it knows it came from STUN. eim and prc reuse one mapping for an
# inside ip:port while any of its conntrack entries lives (Linux's NAT looks up the
# source's current mapping first); sym asks for a fresh random port per entry
# (fully-random). The 1-in-T_NAT_PORT_SPAN chance that sym picks the same port
# twice is why the span is wide.
#
# Two details make the emulation behave like a home router rather than Linux:
# - Unsolicited packets to the NAT's own address are dropped before conntrack
#   confirms an entry for them (input hook). Without that, a hole-punching packet
#   that arrives before our own first packet leaves a conntrack entry that holds the
#   tuple our outgoing packet needs, so Linux gives that flow another port, and two
#   port-restricted cones look symmetric to each other.
# - eim's filtering needs to know which inside port a public port belongs to: a
#   dynamic nftables map filled after source NAT (public port -> ct original port),
#   used by a DNAT in prerouting for new inbound UDP. Its entries expire
#   T_NAT_EIM_TIMEOUT after the last outbound packet.
#
# shellcheck shell=bash disable=SC2034

if [[ -n "${_IPOP_NETNS_NAT:-}" ]]; then
	return 0
fi
_IPOP_NETNS_NAT=1

T_SRV_IP2=10.91.0.3             # the cloud's second address (mapping probes)
T_NAT_PORT_SPAN=10000
T_NAT_EIM_TIMEOUT=${T_NAT_EIM_TIMEOUT:-120}
T_REFLECT_PORT=7001             # reflector on T_SRV_IP:7001 and T_SRV_IP2:7002
T_REFLECT_PORT2=7002
T_REFLECT_PORT3=7003            # and T_SRV_IP:7003 (same address, another port)
declare -gA T_NAT_MODE=() T_NAT_PORT_BASE=()

# _nat_rules LABEL : the nftables ruleset of nat-L for its mode and port range.
_nat_rules() {
	local l=$1 mode=${T_NAT_MODE[$1]} lo=${T_NAT_PORT_BASE[$1]} flags="" eim_map="" \
		eim_pre="" eim_post="" eim_fwd=""
	local hi=$((lo + T_NAT_PORT_SPAN - 1)) inside=${T_GW_WAN_IP[$1]}
	[[ "$mode" == sym ]] && flags=" fully-random"
	if [[ "$mode" == eim ]]; then
		eim_map="map eim { type inet_service : inet_service; flags dynamic,timeout; timeout ${T_NAT_EIM_TIMEOUT}s; }"
		eim_post="oifname \"wan\" meta l4proto udp update @eim { udp sport : ct original proto-src }"
		eim_pre="iifname \"wan\" meta l4proto udp ct state new dnat to $inside : udp dport map @eim"
		eim_fwd="iifname \"wan\" ct status dnat accept"
	fi
	cat <<-EOF
		table ip ipop_natmode {
			$eim_map
			chain prerouting {
				type nat hook prerouting priority dstnat; policy accept;
				$eim_pre
			}
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "wan" meta l4proto { tcp, udp } masquerade to :$lo-$hi$flags
				oifname "wan" masquerade
			}
			chain mapped {
				type filter hook postrouting priority srcnat + 10; policy accept;
				$eim_post
			}
			chain forward {
				type filter hook forward priority filter; policy accept;
				iifname "wan" ct state established,related accept
				$eim_fwd
				iifname "wan" drop
			}
			chain input {
				type filter hook input priority filter; policy accept;
				iifname "wan" ct state new drop
			}
		}
	EOF
}

# _nat_load LABEL : (re)install nat-L's ruleset; lib.sh's own NAT table goes.
_nat_load() {
	local l=$1
	nsx "nat-$l" nft delete table ip ipop_nat 2>/dev/null || true
	nsx "nat-$l" nft delete table ip ipop_natmode 2>/dev/null || true
	_nat_rules "$l" | nsx "nat-$l" nft -f - || {
		_t_die "nat.sh: nftables refused the rules of nat-$l"
		return 1
	}
}

# nat_site LABEL INDEX MODE : a site (host-L, gw-L and, unless MODE is none, nat-L).
nat_site() {
	local l=$1 i=$2 mode=$3
	case "$mode" in
	none)
		site_add "$l" "$i" none || return 1
		T_NAT_MODE[$l]=none
		return 0
		;;
	eim | prc | sym) ;;
	*)
		_t_die "nat_site: unknown NAT mode '$mode' (none|eim|prc|sym)"
		return 1
		;;
	esac
	site_add "$l" "$i" cone || return 1
	T_NAT_MODE[$l]=$mode
	T_NAT_PORT_BASE[$l]=20000
	_nat_load "$l"
}

# nat_flush LABEL : forget every mapping and filter state (a NAT box restarting).
nat_flush() {
	local l=$1
	[[ "${T_NAT_MODE[$l]:-none}" != none ]] || {
		_t_die "nat_flush: site $l has no NAT"
		return 1
	}
	nsx "nat-$l" conntrack -F >/dev/null 2>&1 || {
		_t_die "nat_flush: conntrack -F failed in nat-$l (package conntrack)"
		return 1
	}
	if [[ "${T_NAT_MODE[$l]}" == eim ]]; then
		nsx "nat-$l" nft flush map ip ipop_natmode eim || return 1
	fi
}

# nat_move_ports LABEL : the NAT's public ports move to the next disjoint range
# (20000, 30000, 40000, 50000, then 20000 again) and every mapping is flushed, so
# each inside ip:port shows the world a new public port.
nat_move_ports() {
	local l=$1 base
	[[ "${T_NAT_MODE[$l]:-none}" != none ]] || {
		_t_die "nat_move_ports: site $l has no NAT"
		return 1
	}
	base=$((T_NAT_PORT_BASE[$l] + T_NAT_PORT_SPAN))
	((base + T_NAT_PORT_SPAN <= 60000)) || base=20000
	T_NAT_PORT_BASE[$l]=$base
	_nat_load "$l" && nat_flush "$l"
}

# nat_port_in_range LABEL PORT : PORT is in the site's current public range.
nat_port_in_range() {
	local lo=${T_NAT_PORT_BASE[$1]}
	(($2 >= lo && $2 < lo + T_NAT_PORT_SPAN))
}

# nat_cloud [prosody] : the cloud namespace srv gets its second address and coturn
# (lib.sh's coturn_start: STUN and TURN over UDP, long-term credentials, config
# written into this run's temp dir); with "prosody", also Prosody (plain, domain
# ipop.test, port 5222).
nat_cloud() {
	topo_core || return 1
	addr_add srv eth0 "$T_SRV_IP2/24" || return 1
	coturn_start srv "$T_SRV_IP" || return 1
	if [[ "${1:-}" == prosody ]]; then
		prosody_start srv "$T_SRV_IP" 5222 ipop.test plain || return 1
	fi
}

# nat_reflector : UDP reflectors (probe.py udp-whoami-server) on T_SRV_IP:7001,
# T_SRV_IP2:7002 and T_SRV_IP:7003, ready when each answers.
nat_reflector() {
	local d
	d=$(t_mkdir reflector) || return 1
	bg_start srv "$d/r1.log" python3 "$T_PROBE" udp-whoami-server "$T_SRV_IP" "$T_REFLECT_PORT" ||
		return 1
	bg_start srv "$d/r2.log" python3 "$T_PROBE" udp-whoami-server "$T_SRV_IP2" "$T_REFLECT_PORT2" ||
		return 1
	bg_start srv "$d/r3.log" python3 "$T_PROBE" udp-whoami-server "$T_SRV_IP" "$T_REFLECT_PORT3" ||
		return 1
	wait_until 5 udp_whoami srv "$T_SRV_IP" "$T_REFLECT_PORT" &&
		wait_until 5 udp_whoami srv "$T_SRV_IP2" "$T_REFLECT_PORT2" &&
		wait_until 5 udp_whoami srv "$T_SRV_IP" "$T_REFLECT_PORT3"
}

# nat_mapped NS IP PORT BIND : the source IP:PORT saw for a datagram from BIND.
nat_mapped() {
	udp_whoami "$1" "$2" "$3" "$4"
}

# _nat_poke NS BIND : prints "yes" or "no": did a datagram from a cloud port that
# BIND never sent to get in (the reflector answered from its own port too, or fail).
_nat_poke() {
	local out
	out=$(nsx "$1" python3 "$T_PROBE" --timeout 0.4 udp-poke "$T_SRV_IP" "$T_REFLECT_PORT" \
		--bind "$2") || return 1
	case "$out" in
	*"POKED yes"*) echo yes ;;
	*"POKED no"*) echo no ;;
	*) return 1 ;;
	esac
}

# nat_poked NS BIND / nat_not_poked NS BIND : the reflector answered, and its
# unsolicited datagram got in / did not.
nat_poked() {
	[[ "$(_nat_poke "$@")" == yes ]]
}
nat_not_poked() {
	[[ "$(_nat_poke "$@")" == no ]]
}
