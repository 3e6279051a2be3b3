#!/bin/sh
# run.sh - the command behind docs/overlay-algorithms.md: runs the overlay
# simulator and draws its plots into docs/.
#   bench/sim/run.sh BUILD_DIR [ipop-sim options...]
# e.g. bench/sim/run.sh build --max-n 65536 --seed 1
# Writes docs/overlay-sim.json, docs/overlay-sim-data/*.dat, docs/overlay-*.png.
set -eu
build=${1:?usage: run.sh BUILD_DIR [ipop-sim options]}
shift
top=$(cd "$(dirname "$0")/../.." && pwd)
data="$top/docs/overlay-sim-data"
mkdir -p "$data"
"$build/bench/ipop-sim" "$@" --json "$top/docs/overlay-sim.json" --dat "$data"
gnuplot -e "dat='$data'; out='$top/docs'" "$top/bench/sim/plots.gp"
