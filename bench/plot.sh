#!/bin/bash
# make bench-plot: draws what make bench measured at N = 1 ... 1,024
# workers (build/bench/results.tsv: scenario, side, N, median) as curves
# against N on log axes, one panel a scenario, every side that ran: the
# bare loop, sentrik-master and the anchors.  One SVG into docs/.
#   bench/plot.sh [RESULTS] [SVG]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
data=${1:-$here/build/bench/results.tsv}
out=${2:-$here/docs/bench-scale.svg}
[ -s "$data" ] || { echo "no results in $data: run make bench first" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One file per scenario and side: "N value", numbers only, sorted by N.
awk -F'\t' -v d="$tmp" '$4 ~ /^[0-9.]+$/ { print $3, $4 | ("sort -n > " d "/" $1 "." $2) }' "$data"

label() {
	case $1 in
	bare) echo "bare loop" ;;
	sentrik) echo "sentrik-master" ;;
	capture) echo "sentrik-master, capture" ;;
	*) echo "$1" ;;
	esac
}
style() {
	case $1 in
	bare) echo "lw 2 dt 2 lc rgb '#555555' pt 6" ;;
	sentrik) echo "lw 3 lc rgb '#d62728' pt 7" ;;
	capture) echo "lw 2 lc rgb '#ff7f0e' pt 5" ;;
	nginx) echo "lw 2 lc rgb '#2ca02c' pt 9" ;;
	uwsgi) echo "lw 2 lc rgb '#1f77b4' pt 11" ;;
	gunicorn) echo "lw 2 lc rgb '#9467bd' pt 13" ;;
	*) echo "lw 1" ;;
	esac
}

# panel SCENARIO TITLE YLABEL: a gnuplot plot command over every side.
panel() {
	local what=$1 side plots=""
	for side in bare sentrik capture nginx uwsgi gunicorn; do
		[ -s "$tmp/$what.$side" ] || continue
		plots="${plots:+$plots, }'$tmp/$what.$side' using 1:2 with linespoints $(style "$side") title '$(label "$side")'"
	done
	[ -n "$plots" ] || return 0
	printf "set title '%s'\nset ylabel '%s'\nplot %s\n" "$2" "$3" "$plots"
}

{
	cat <<EOF
set terminal svg size 1200,800 dynamic font 'sans,11' background '#ffffff'
set output '$out'
set multiplot layout 2,3 title "sentrik-master against N workers ($(date -u -r "$data" +%Y-%m-%d))"
set logscale xy
set xlabel 'workers (N)'
set xtics (1, 4, 16, 64, 256, 1024)
set grid
set key top left font ',9'
# Room above the curves for the key.
set xrange [0.8:1400]
set offsets 0, 0, graph 0.6, 0
EOF
	panel spawn "spawn to all ready" "ms"
	panel term "TERM to exit" "ms"
	panel restart "restart after kill -9" "ms"
	panel reload "reload: HUP to new ready, old gone" "ms"
	panel rss "master RSS, idle workers" "KiB"
	echo "unset multiplot"
} >"$tmp/plot.gp"
gnuplot "$tmp/plot.gp"
echo "wrote $out"
