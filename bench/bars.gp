# SPDX-License-Identifier: MIT
# bench/bars.gp - clustered bar chart with min..max error bars, one cluster
# per benchmark row, one bar per side (ours RTC, ours isolated, kernel).
# Written by bench/report.py's data files; called as
#   gnuplot -e "data='F.dat'; out='F.png'; ttl='...'; ylab='...'; logy=0" bench/bars.gp
# Data columns: label, then median min max for each of the three sides
# (a side not run has "NaN NaN NaN", which gnuplot leaves out).
if (!exists("logy")) logy = 0
set terminal pngcairo size 900,480 noenhanced font ",10"
set output out
set title ttl
set ylabel ylab
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key top right
set datafile missing "NaN"
set yrange [0:*]
if (logy) { set logscale y; set yrange [*:*] }
set xtics nomirror
plot data using 2:3:4:xtic(1) title "ours, run-to-completion" lc rgb "#1b9e77", \
     ''   using 5:6:7          title "ours, isolated (axl-stackd)" lc rgb "#7570b3", \
     ''   using 8:9:10         title "kernel (nginx / NSD / memcached)" lc rgb "#d95f02"
