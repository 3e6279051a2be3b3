#!/usr/bin/env bash
# test_demo.sh - the README's first command works: scripts/demo.sh (without the
# package install, on this run's build) brings up its three sites, two of them
# behind NATs, with its own Prosody and coturn; every host pings every other; the
# links of gw-2 (port-restricted cone) and gw-3 (symmetric) to each other go
# through the TURN relay, and every link shows the ICE pair it uses; it tears
# everything down: no namespace of its own is left, no process it started.
# ipop-timeout: 180
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$T_TMP/demo.out"

rc=0
timeout 150 "$TOP/scripts/demo.sh" --no-deps >"$OUT" 2>&1 || rc=$?
sed 's/^/    demo: /' "$OUT"
t_eq "scripts/demo.sh --no-deps exits 0" 0 "$rc"
t_check "the demo's gateways found each other (2 connected links each)" \
	grep -q "every gateway found the others and has 2 connected links" "$OUT"
t_eq "every host pings every other, none lost (6 pairs)" 6 \
	"$(grep -cE '^host-[123] -> host-[123] .* 2 received, 0% packet loss' "$OUT" || true)"
# pair LINE_OWNER MEMBER : the "pair L/R" the demo printed for that link.
pair() {
	awk -v g="== ipopctl show --json (gw-$1)" -v m="gw-$2@" '
		index($0, g) == 1 { on = 1; next }
		/^== / { on = 0 }
		on && index($1, m) == 1 { for (i = 1; i <= NF; i++) if ($i == "pair") print $(i + 1) }' "$OUT"
}
for a in 1 2 3; do
	for b in 1 2 3; do
		((a == b)) && continue
		p=$(pair "$a" "$b")
		echo "gw-$a -> gw-$b: pair ${p:-none}"
		t_check "gw-$a's link to gw-$b shows its ICE pair (candidate types)" \
			grep -qE '^(host|srflx|prflx|relay)/(host|srflx|prflx|relay)$' <<<"$p"
		if [[ "$a$b" == 23 || "$a$b" == 32 ]]; then
			t_check "gw-$a -> gw-$b (prc and symmetric NATs) goes through the TURN relay" \
				grep -q relay <<<"$p"
		fi
	done
done
t_check "the demo tore down" grep -q "demo done: tearing down" "$OUT"
prefix=$(grep -o 'namespaces ipop-p[0-9]*-' "$OUT" | head -n 1 | cut -d' ' -f2)
t_check "the demo named its namespaces" test -n "$prefix"
if [[ -n "$prefix" ]]; then
	left=$(ip netns list | awk '{print $1}' | grep -c "^$prefix" || true)
	t_eq "no namespace of the demo is left" 0 "$left"
	pid=${prefix#ipop-p}
	pid=${pid%-}
	t_check_not "the demo's shell is gone" kill -0 "$pid"
fi
dir=$(grep -o 'config of gw-1: /tmp/[^ ]*/gw-1/' "$OUT" | head -n 1 | cut -d' ' -f4)
dir=${dir%/gw-1/}
t_check "the demo named its directory" test -n "$dir"
# left_procs : processes whose command line names the demo's directory
# (ipopd, Prosody and coturn all do).
left_procs() {
	local f n=0
	for f in /proc/[0-9]*/cmdline; do
		{ tr '\0' ' ' <"$f"; } 2>/dev/null | grep -qF "$dir/" && n=$((n + 1))
	done
	echo "$n"
}
[[ -z "$dir" ]] || t_eq "no process of the demo is left" 0 "$(left_procs)"
t_summary
