#!/usr/bin/env bash
# deps.sh - the one list of Debian 12 packages ipop needs to build, test and
# benchmark, and the installer for it. .ci/run and the README's first command use it.
#
#   sudo scripts/deps.sh       install whatever is missing (idempotent: with nothing
#                              missing it neither updates nor installs anything)
#   scripts/deps.sh --check    exit 1 and name what is missing (no root needed)
#   scripts/deps.sh --list     print the list, one package a line
#
# apt's chatter goes to $IPOP_DEPS_LOG (default /tmp/ipop-deps.log); its errors are
# shown when a step fails.
set -euo pipefail

PACKAGES=(
	# build
	build-essential meson ninja-build pkg-config
	# libraries (see docs/ for what each is used for)
	dpdk dpdk-dev libdpdk-dev libipsec-mb-dev libstrophe-dev libconfig-dev
	libsodium-dev libjson-c-dev libglib2.0-dev libnice-dev
	# sanitizer and fuzzing builds
	clang libclang-rt-14-dev
	# netns testbed: servers, traffic, plumbing (tests/netns/lib.sh)
	prosody coturn iperf3 tcpdump iproute2 ethtool iputils-ping iputils-arping
	nftables iptables conntrack socat python3 openssl procps util-linux
	# benchmark plots
	gnuplot-nox
)

LOG=${IPOP_DEPS_LOG:-/tmp/ipop-deps.log}

missing() {
	local p st
	for p in "${PACKAGES[@]}"; do
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[[ "$st" == installed ]] || echo "$p"
	done
}

# apt_step DESCRIPTION CMD... : run quietly into the log; on failure show why.
apt_step() {
	local what=$1
	shift
	echo "deps.sh: $what"
	if ! "$@" >>"$LOG" 2>&1; then
		echo "deps.sh: $what failed; the end of $LOG:" >&2
		grep -E '^(E|W):' "$LOG" | tail -n 20 >&2 || true
		tail -n 20 "$LOG" >&2
		exit 1
	fi
}

case "${1:-}" in
--list)
	printf '%s\n' "${PACKAGES[@]}"
	exit 0
	;;
--check)
	mapfile -t need < <(missing)
	if ((${#need[@]})); then
		echo "deps.sh: missing: ${need[*]}"
		exit 1
	fi
	echo "deps.sh: all ${#PACKAGES[@]} packages installed"
	exit 0
	;;
"") ;;
*)
	echo "usage: $0 [--check | --list]" >&2
	exit 2
	;;
esac

mapfile -t need < <(missing)
if ((${#need[@]} == 0)); then
	echo "deps.sh: all ${#PACKAGES[@]} packages installed"
	exit 0
fi
if ((EUID != 0)); then
	echo "deps.sh: missing ${need[*]}; run as root to install them" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
: >"$LOG"
apt_step "apt-get update" apt-get -o DPkg::Lock::Timeout=300 update
apt_step "installing ${#need[@]} packages: ${need[*]}" \
	apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${need[@]}"

mapfile -t need < <(missing)
if ((${#need[@]})); then
	echo "deps.sh: still missing after install: ${need[*]} (see $LOG)" >&2
	exit 1
fi
echo "deps.sh: all ${#PACKAGES[@]} packages installed"
