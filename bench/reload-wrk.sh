#!/bin/bash
# Reload under load: wrk -t2 -c32 against 4 hello-http workers of one
# master, in ROUNDS pairs of segments without and with a HUP every 2 s.
# Prints socket errors, non-2xx answers, the median requests/s of each side
# and their ratio, and the time from each HUP to its new generation being
# ready (from the master's log).
#   usage: bench/reload-wrk.sh [SENTRIK-MASTER] [HELLO-HTTP]
#   (DURATION=40: seconds of load in all; ROUNDS=4)
set -u
. "$(dirname "$0")/wrk-lib.sh" reload-wrk "$@"

children() { pgrep -P "$1" | wc -l; }
# segment NAME HUP(0|1): one wrk run of $seg s against the running master,
# with a HUP every 2 s or none; leaves $tmp/NAME.wrk.  Afterwards waits until
# the master is back to its 4 workers, so no segment inherits a reload.
segment() {
	local name=$1 hup=$2 hupper=""
	if [ "$hup" = 1 ]; then
		( sleep 1; while kill -HUP "$pid" 2>/dev/null; do sleep 2; done ) &
		hupper=$!
	fi
	wrk -t2 -c32 -d"${seg}s" "http://127.0.0.1:$port/" >"$tmp/$name.wrk" 2>&1
	if [ -n "$hupper" ]; then
		kill "$hupper" 2>/dev/null
		wait "$hupper" 2>/dev/null
	fi
	for _ in $(seq 300); do
		[ "$(children "$pid")" -eq 4 ] && ! grep -q "reload: starting" <(tail -1 "$tmp/master.log") && break
		sleep 0.05
	done
}
# ms from each "reload: starting generation N" to "reload done: generation N"
reload_times() {
	awk '
	function ms(ts) { split(substr(ts, 12, 12), t, ":"); return (t[1] * 3600 + t[2] * 60 + t[3]) * 1000 }
	/reload: starting generation/ { for (i = 1; i < NF; i++) if ($i == "generation") start[$(i + 1)] = ms($1) }
	/reload done: generation/ { g = $7; if (g in start) print ms($1) - start[g] }
	' "$1" | sort -n
}

# One master for the whole run; plain and HUP segments alternate (plain
# first in odd rounds, HUP first in even ones) so that drift in the machine's
# load falls on both sides alike.  Each side's figure is its median.
port=$(free_port)
setsid "$master" --workers 4 --ready notify --graceful-timeout 10 \
	--bind "127.0.0.1:$port" -- "$hello" 2>"$tmp/master.log" &
pid=$!
wait_ready "$tmp/master.log"
for r in $(seq "$rounds"); do
	if [ $((r % 2)) = 1 ]; then
		segment "plain.$r" 0; segment "hup.$r" 1
	else
		segment "hup.$r" 1; segment "plain.$r" 0
	fi
done
kill -TERM "$pid"
wait "$pid"
pid=""
plain=$(side plain)
hup=$(side hup)
times=$(reload_times "$tmp/master.log")
n=$(echo "$times" | sed '/^$/d' | wc -l)
echo "wrk -t2 -c32, $rounds rounds of ${seg}s without and ${seg}s with HUPs, 4 hello-http workers (--ready notify)"
echo "  without HUP: $plain req/s, socket errors $(errors "$tmp/plain.wrk"), non-2xx $(non2xx "$tmp/plain.wrk")"
echo "  HUP every 2s: $hup req/s, socket errors $(errors "$tmp/hup.wrk"), non-2xx $(non2xx "$tmp/hup.wrk"), reloads done $n, failed $(grep -c 'reload failed' "$tmp/master.log")"
echo "  segments, req/s: without HUP" $(segments plain) "; with HUPs" $(segments hup)
awk -v a="$hup" -v b="$plain" 'BEGIN { if (b > 0) printf "  ratio of medians HUP/plain: %.3f\n", a / b }'
if [ "$n" -gt 0 ]; then
	echo "$times" | awk '{ v[NR] = $1 } END { printf "  HUP to new generation ready: median %d ms, max %d ms (n=%d)\n", v[int((NR + 1) / 2)], v[NR], NR }'
fi
# One row for bench/run.sh's table: what|baseline|sentrik-master|ratio|target|met|anchors
errs=$(( $(errors "$tmp/hup.wrk") + $(non2xx "$tmp/hup.wrk") ))
ratio=$(awk -v a="$hup" -v b="$plain" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }')
met=$(awk -v r="$ratio" -v e="$errs" 'BEGIN { print (e == 0 && r >= 0.9) ? "yes" : "no" }')
echo "reload under wrk -c32, HUP every 2 s (req/s)|no HUP $plain|$hup|${ratio}x|0 errors, >= 0.9x req/s|$met|$errs errors, $n reloads"
