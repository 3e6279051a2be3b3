#!/usr/bin/env bash
# run.sh - the project's one test command: build, unit tests, unit tests again under
# ASan/UBSan, then every netns integration test. The last line it prints is
# "N passed, N failed"; it exits non-zero if anything failed or nothing ran.
#
#   sudo tests/run.sh [--unit-only | --netns-only] [--no-asan] [-k PATTERN]
#
# Counting: a unit test (one executable) counts once per build it runs in, so a unit
# test counts twice in a full run; a netns script counts every "PASS: " and "FAIL: "
# line it prints (tests/netns/lib.sh assertions), plus one failure if it exits
# non-zero without a FAIL line, or runs past its time limit. A build that fails
# counts as one failure. Skipped unit tests are listed but not counted.
#
# Environment: IPOP_BUILD (default build/), IPOP_BUILD_ASAN (default build-asan/),
# IPOP_JOBS (default nproc), IPOP_NETNS_TIMEOUT (seconds per script, default 300; a
# script may set its own with a "# ipop-timeout: N" line). Logs: $IPOP_BUILD/test-logs/;
# a netns script that failed leaves its daemons' logs in test-logs/NAME.failed/.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${IPOP_BUILD:-$top/build}
ASAN=${IPOP_BUILD_ASAN:-$top/build-asan}
JOBS=${IPOP_JOBS:-$(nproc)}
NETNS_TIMEOUT=${IPOP_NETNS_TIMEOUT:-300}
# Warnings fail the test run (a plain meson setup keeps werror off).
WERROR_OPTS=(-Dwerror=true)
# shellcheck disable=SC2054 # the comma is part of one meson option value
ASAN_OPTS=(-Db_sanitize=address,undefined -Db_lundef=false "${WERROR_OPTS[@]}")

do_unit=1
do_netns=1
do_asan=1
pattern=""

usage() {
	sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while (($#)); do
	case "$1" in
	--unit-only) do_netns=0 ;;
	--netns-only) do_unit=0 ;;
	--no-asan) do_asan=0 ;;
	-k)
		if (($# < 2)); then
			echo "run.sh: -k needs a pattern" >&2
			exit 2
		fi
		pattern=$2
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "run.sh: unknown argument '$1' (try --help)" >&2
		exit 2
		;;
	esac
	shift
done

passed=0
failed=0
failures=()
skips=()

ok() {
	passed=$((passed + 1))
	printf 'PASS %s\n' "$1"
}

bad() {
	failed=$((failed + 1))
	failures+=("$1")
	printf 'FAIL %s\n' "$1"
}

selected() {
	[[ -z "$pattern" ]] || grep -Eq -- "$pattern" <<<"$1"
}

section() {
	printf '\n== %s\n' "$*"
}

# ------------------------------------------------------------------ build

# build_dir LABEL DIR [MESON_OPTION...] : configure if needed, then ninja. 0 on success.
build_dir() {
	local label=$1 dir=$2 out
	shift 2
	section "build $label ($dir)"
	out=$(mktemp /tmp/ipop-build.XXXXXX)
	if [[ ! -f "$dir/build.ninja" ]]; then
		if ! meson setup "$dir" "$top" "$@" >"$out" 2>&1; then
			tail -n 40 "$out"
			rm -f "$out"
			bad "build/$label: meson setup"
			return 1
		fi
	elif (($#)) && ! options_match "$dir" "$@"; then
		# Someone configured this dir differently: put our options back.
		meson configure "$dir" "$@" >"$out" 2>&1
	fi
	if ! ninja -C "$dir" -j "$JOBS" >"$out" 2>&1; then
		grep -E -B2 -A6 'error|FAILED' "$out" | head -n 60
		rm -f "$out"
		bad "build/$label: ninja"
		return 1
	fi
	tail -n 1 "$out"
	rm -f "$out"
	return 0
}

# options_match DIR -Dk=v... : DIR is already configured with these values.
options_match() {
	local dir=$1
	shift
	meson introspect "$dir" --buildoptions 2>/dev/null | python3 -c '
import json, sys
opts = {o["name"]: o["value"] for o in json.load(sys.stdin)}
for a in sys.argv[1:]:
    k, v = a[2:].split("=", 1)
    have = opts.get(k)
    have = ",".join(have) if isinstance(have, list) else str(have).lower()
    if have != v.lower():
        sys.exit(1)
' "$@"
}

# ------------------------------------------------------------------ unit tests

# run_unit LABEL DIR TIMEOUT_MULTIPLIER : meson's "unit" suite in DIR.
run_unit() {
	local label=$1 dir=$2 mult=$3 names=() n line
	section "unit tests ($label)"
	while IFS= read -r n; do
		[[ -n "$n" ]] && selected "$n" && names+=("$n")
	done < <(meson introspect "$dir" --tests 2>/dev/null | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if any(s.split(":")[-1] == "unit" for s in t["suite"]):
        print(t["name"])
')
	if ((${#names[@]} == 0)); then
		echo "(no unit test selected)"
		return 0
	fi
	rm -f "$dir/meson-logs/testlog.json"
	timeout -k 10 1800 meson test -C "$dir" --no-rebuild --print-errorlogs \
		--timeout-multiplier "$mult" --num-processes "$JOBS" "${names[@]}"
	# The per-test results, from meson's machine-readable log.
	while IFS=$'\t' read -r n line; do
		case "$line" in
		OK | EXPECTEDFAIL) ok "$label/$n" ;;
		SKIP) skips+=("$label/$n") ;;
		*) bad "$label/$n ($line)" ;;
		esac
	done < <(python3 -c '
import json, sys
seen = set()
try:
    with open(sys.argv[1]) as f:
        for l in f:
            t = json.loads(l)
            seen.add(t["name"])
            print("%s\t%s" % (t["name"], t["result"]))
except OSError:
    pass
for n in sys.argv[2:]:
    if n not in seen and not any(s.endswith(":" + n) for s in seen):
        print("%s\tNOT RUN" % n)
' "$dir/meson-logs/testlog.json" "${names[@]}")
}

# ------------------------------------------------------------------ netns tests

CUR_PID=""

# stop_script PID : the script's trap cleans up on SIGTERM; what it leaves after the
# grace time is killed, and its namespaces are reaped by name prefix.
stop_script() {
	local pid=$1 i
	kill -TERM -- "-$pid" 2>/dev/null
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null
}

script_timeout() {
	local t
	t=$(sed -n 's/^# ipop-timeout: *\([0-9][0-9]*\).*/\1/p' "$1" | head -n 1)
	echo "${t:-$NETNS_TIMEOUT}"
}

# run_script FILE : one netns test, bounded in time, its output shown and counted.
run_script() {
	local f=$1 name log limit pid rc start timed_out=0 tailpid np nf
	name=$(basename "$f" .sh)
	log="$LOGDIR/$name.log"
	limit=$(script_timeout "$f")
	section "netns/$name (limit ${limit}s)"
	: >"$log"
	rm -rf "$LOGDIR/$name.failed"   # the daemons' logs of a failed run (lib.sh)
	# Its own session: one signal reaches the script and its foreground children.
	IPOP_BUILD=$BUILD IPOP_FAIL_LOGS="$LOGDIR/$name.failed" setsid bash "$f" </dev/null >"$log" 2>&1 &
	pid=$!
	CUR_PID=$pid
	tail -n +1 -s 0.2 -f --pid="$pid" "$log" 2>/dev/null | sed -u 's/^/  /' &
	tailpid=$!
	start=$SECONDS
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS - start >= limit)); then
			timed_out=1
			echo "  run.sh: $name ran past ${limit}s: stopping it"
			stop_script "$pid"
			break
		fi
		sleep 0.2
	done
	wait "$pid"
	rc=$?
	CUR_PID=""
	wait "$tailpid" 2>/dev/null
	# Whatever the script could not remove (it was killed) goes now.
	netns_reap_prefix "ipop-p$pid-"
	rm -rf "/tmp/ipop-test-p$pid."* 2>/dev/null

	np=0
	nf=0
	while IFS= read -r line; do
		case "$line" in
		"PASS: "*)
			np=$((np + 1))
			passed=$((passed + 1))
			;;
		"FAIL: "*)
			nf=$((nf + 1))
			failed=$((failed + 1))
			failures+=("netns/$name: ${line#FAIL: }")
			;;
		esac
	done <"$log"
	if ((timed_out)); then
		bad "netns/$name: timed out after ${limit}s"
	elif ((rc != 0 && nf == 0)); then
		bad "netns/$name: exited $rc without a FAIL line"
	fi
	echo "netns/$name: $np passed, $nf failed (exit $rc, $((SECONDS - start))s)"
}

run_netns() {
	local f found=0
	section "netns integration tests"
	if ((EUID != 0)); then
		bad "netns: needs root (sudo tests/run.sh)"
		return
	fi
	# shellcheck source=tests/netns/lib.sh
	IPOP_LIB_NOINIT=1 source "$top/tests/netns/lib.sh"
	netns_reap_stale
	LOGDIR="$BUILD/test-logs"
	mkdir -p "$LOGDIR"
	for f in "$top"/tests/netns/test_*.sh; do
		[[ -e "$f" ]] || continue
		selected "$(basename "$f" .sh)" || continue
		found=1
		run_script "$f"
	done
	((found)) || echo "(no netns test selected)"
}

on_signal() {
	if [[ -n "$CUR_PID" ]]; then
		stop_script "$CUR_PID"
		netns_reap_prefix "ipop-p$CUR_PID-"
	fi
	echo
	echo "run.sh: interrupted"
	echo "$passed passed, $((failed + 1)) failed"
	exit 130
}
trap on_signal INT TERM

# ------------------------------------------------------------------ main

cd "$top" || exit 1
if build_dir main "$BUILD" "${WERROR_OPTS[@]}" && ((do_unit)); then
	run_unit unit "$BUILD" 1
fi
if ((do_unit && do_asan)); then
	if build_dir asan "$ASAN" "${ASAN_OPTS[@]}"; then
		run_unit asan "$ASAN" 3
	fi
fi
((do_netns)) && run_netns

echo
if ((${#skips[@]})); then
	printf 'skipped (not counted): %s\n' "${skips[*]}"
fi
if ((${#failures[@]})); then
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
if ((passed + failed == 0)); then
	echo "run.sh: nothing ran"
	echo "0 passed, 0 failed"
	exit 1
fi
echo "$passed passed, $failed failed"
((failed == 0))
