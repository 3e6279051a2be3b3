#!/usr/bin/env bash
# test_startup_log.sh - start-up says only what matters (issue 15 item 4): a gateway
# with both TAPs (the WAN exception path and the host TAP) and af_packet ports logs
# no error while starting, with DPDK's levels as the testbed sets them (*:error)
# and with DPDK's own defaults; net_tap's harmless complaints (no sch_multiq in
# this kernel, no secondary process to tell) are still there at debug level, marked
# harmless; and a real error, a vdev on an interface that does not exist, is still
# shown as an error and stops ipopd.
# ipop-timeout: 90
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"

site_add a 1
t_require "gateway a set up" gw_setup a
HOST='host: { enabled = true; tap = "ipop0"; address = "10.200.0.101/24"; };'
NOISE='multiq qdisc|qdisc kind is unknown|rte flow support|start req to secondary'

# started_log : gw-a's log up to and including its "up" line.
up_line() { grep -q "node gw-a up" "${GW_LOG[a]}"; }
started_log() {
	sed -n '1,/node gw-a up/p' "${GW_LOG[a]}"
}

run=0
# new_log : a log file of its own for the next start (bg_start appends).
new_log() {
	run=$((run + 1))
	GW_LOG[a]="$T_TMP/gw-a-$run.log"
}
for eal_log in '*:error' ''; do
	label=${eal_log:-"DPDK's default levels"}
	new_log
	GW_EAL_LOG=$eal_log gw_config a "$HOST"
	t_require "ipopd a starts ($label)" gw_start a
	t_wait "gw-a says it is up ($label)" 10 up_line
	log=$(started_log)
	echo "--- start-up log ($label):"
	echo "$log" | sed 's/^/    /'
	t_eq "no error line while starting ($label)" 0 "$(grep -c ' error: ' <<<"$log" || true)"
	t_eq "no warning line while starting ($label)" 0 "$(grep -c ' warn: ' <<<"$log" || true)"
	t_check_not "no net_tap noise at info level or above ($label)" grep -Eq "$NOISE" <<<"$log"
	gw_stop a
done

# With log_level debug the demoted lines are there, marked, at debug level.
new_log
GW_LOG_LEVEL=debug gw_config a "$HOST"
t_require "ipopd a starts (log_level debug)" gw_start a
t_wait "gw-a says it is up (log_level debug)" 10 up_line
log=$(started_log)
# This kernel has no sch_multiq (machine notes): net_tap complains on every start.
t_check "net_tap's multiq complaint is shown at debug, marked harmless" \
	grep -Eq ' debug: dpdk: .*multiq qdisc.*harmless' <<<"$log"
t_eq "every net_tap noise line is at debug level" 0 \
	"$(grep -E "$NOISE" <<<"$log" | grep -vc ' debug: ' || true)"
gw_stop a

# A real error: the WAN vdev names an interface that does not exist.
bad="$T_TMP/bad.conf"
sed 's/iface=wan/iface=nosuchif0/' "${GW_CONF[a]}" >"$bad"
rc=0
out=$(nsx gw-a timeout 30 "$(ipop_bin ipopd)" -c "$bad" 2>&1) || rc=$?
echo "--- ipopd with a bad vdev (exit $rc):"
echo "$out" | sed 's/^/    /'
t_check "ipopd stops with an error (exit 1)" test "$rc" -eq 1
t_check "the driver's own complaint is shown as an error" \
	grep -Eq ' error: dpdk: .*(nosuchif0|SIOCGIFINDEX)' <<<"$out"
t_check "ipopd says which device failed" grep -q "error: .*net_af_packet_wan" <<<"$out"
t_summary
