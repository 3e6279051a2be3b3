# plots.gp - PNG plots of the overlay simulator's tables (bench/sim/ipop_sim.c).
# Usage: gnuplot -e "dat='DIR'; out='docs'" bench/sim/plots.gp
# where DIR holds growth.dat, dissertation.dat and churn.dat from ipop-sim --dat DIR.
if (!exists("dat")) dat = "."
if (!exists("out")) out = "docs"
set terminal pngcairo size 900,560 font "sans,11" noenhanced
set grid
# colour-blind-safe palette; no yellow on white
set linetype 1 lc rgb "#7b2cbf" lw 1.5
set linetype 2 lc rgb "#009e73" lw 1.5
set linetype 3 lc rgb "#0072b2" lw 1.5
set linetype 4 lc rgb "#d55e00" lw 1.5
set linetype 5 lc rgb "#cc79a7" lw 1.5
set linetype 6 lc rgb "#e69f00" lw 1.5
set linetype 7 lc rgb "#56b4e9" lw 1.5
set linetype 8 lc rgb "#000000" lw 1.5
set linetype cycle 8
set key top left
set logscale x 2
set format x "%.0f"
set xlabel "overlay size n (nodes)"

g = dat."/growth.dat"
d = dat."/dissertation.dat"

set output out."/overlay-path-length.png"
set title "Path length, s = 2, k = round(log2 n_est) (growth run) and k = floor(log2 n) (fixed-n runs)"
set ylabel "hops"
plot g u 1:2 w lp pt 7 lw 2 t "Bounded Flood, mean hops", \
     g u 1:3 w lp pt 6 t "Bounded Flood, max hops", \
     g u 1:4 w lp pt 5 t "shortest path (BFS), mean", \
     g u 1:16 w l dt 2 lw 2 t "log2(n)^2 / k", \
     d u 1:2 w p pt 9 ps 1.6 t "fixed n, k = floor(log2 n), mean of 10 seeds", \
     d u 1:5 w p pt 13 ps 1.8 t "dissertation (measured)"

set output out."/overlay-links.png"
set title "Links per node (s = 2, auto k)"
set ylabel "links"
plot g u 1:6 w lp pt 7 t "out: successor", \
     g u 1:7 w lp pt 5 t "out: long-distance", \
     g u 1:9 w lp pt 4 t "in: long-distance (mean)", \
     g u 1:21 w lp pt 12 t "in: long-distance (max; cap 2k)", \
     g u 1:11 w lp pt 9 lw 2 t "tunnels (distinct peers), mean", \
     g u 1:12 w lp pt 8 t "tunnels, max"

set output out."/overlay-messages.png"
set title "Link-protocol messages (requests, answers, removals, retypes)"
set ylabel "messages per event"
plot g u 1:13 w lp pt 7 lw 2 t "per join, while growing (incl. relinking)", \
     g u 1:15 w lp pt 5 t "per single join at fixed n", \
     g u 1:14 w lp pt 9 t "per single leave (crash) at fixed n"

set output out."/overlay-copies.png"
set title "Copies of a broadcast received per node (all broadcasts, all nodes)"
set ylabel "fraction of (broadcast, node) pairs"
set yrange [-0.05:1.1]
set key center right
plot g u 1:($17/($17+$18+$19)) w lp pt 7 lw 2 t "exactly 1 copy", \
     g u 1:($18/($17+$18+$19)) w lp pt 6 t "0 copies", \
     g u 1:($19/($17+$18+$19)) w lp pt 4 t "2 or more copies"
unset yrange

set output out."/overlay-churn.png"
unset logscale x
set format x "%g"
set xrange [0:5]
set xtics 1
set key top right
set title "Churn: share of (broadcast, node) pairs missed, by round after the event"
set xlabel "rounds after the event (0 = before the crash is noticed / the join is processed)"
set ylabel "missed (%)"
c = dat."/churn.dat"
plot for [i=0:7] c index i u 1:($2*100) w lp lt (i+1) dt 1 lw 2 t columnheader(1), \
     for [i=8:11] c index i u 1:($2*100) w lp lt (i+1) dt 2 lw 2 t columnheader(1)
