#!/bin/bash
# Reload under load: wrk -t2 -c32 against 4 hello-http workers, once
# without and once with a HUP every 2 s.  Prints socket errors, non-2xx
# answers, requests/s of both runs and their ratio, and the time from each
# HUP to its new generation being ready (from the master's log).
#   usage: bench/reload-wrk.sh [SENTRIK-MASTER] [HELLO-HTTP]   (DURATION=20)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
master=${1:-${SM_BIN:-$here/build/sentrik-master}}
hello=${2:-${SM_EXAMPLES:-$here/build/examples}/hello-http/hello-http}
duration=${DURATION:-20}
command -v wrk >/dev/null || { echo "reload-wrk: wrk is not installed (apt-get install wrk)"; exit 1; }
[ -x "$master" ] && [ -x "$hello" ] || { echo "reload-wrk: build first (make all examples)"; exit 1; }
tmp=$(mktemp -d /tmp/sm-bench.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() {
	local p
	while :; do
		p=$(shuf -i 20000-45000 -n 1)
		ss -ltnH | awk '{print $4}' | grep -q ":$p\$" || { echo "$p"; return; }
	done
}

# run NAME HUP(0|1): one wrk run; leaves $tmp/NAME.wrk and $tmp/NAME.log
run() {
	local name=$1 hup=$2 port hupper=""
	port=$(free_port)
	setsid "$master" --workers 4 --ready notify --graceful-timeout 10 \
		--bind "127.0.0.1:$port" -- "$hello" 2>"$tmp/$name.log" &
	pid=$!
	for _ in $(seq 100); do grep -q "workers ready" "$tmp/$name.log" && break; sleep 0.05; done
	if [ "$hup" = 1 ]; then
		( sleep 1; while kill -HUP "$pid" 2>/dev/null; do sleep 2; done ) &
		hupper=$!
	fi
	wrk -t2 -c32 -d"${duration}s" "http://127.0.0.1:$port/" >"$tmp/$name.wrk" 2>&1
	[ -n "$hupper" ] && kill "$hupper" 2>/dev/null && wait "$hupper" 2>/dev/null
	kill -TERM "$pid"
	wait "$pid"
	pid=""
}

field() { sed -n "s/^Requests\/sec: *\([0-9.]*\).*/\1/p" "$1"; }
errors() {
	local e
	e=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$1")
	echo "${e:-0 0 0 0}" | awk '{print $1+$2+$3+$4}'
}
non2xx() { local n; n=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1"); echo "${n:-0}"; }

# ms from each "reload: starting generation N" to "reload done: generation N"
reload_times() {
	awk '
	function ms(ts) { split(substr(ts, 12, 12), t, ":"); return (t[1] * 3600 + t[2] * 60 + t[3]) * 1000 }
	/reload: starting generation/ { start[$NF] = ms($1) }
	/reload done: generation/ { g = $7; if (g in start) print ms($1) - start[g] }
	' "$1" | sort -n
}

run plain 0
run hup 1
plain=$(field "$tmp/plain.wrk")
hup=$(field "$tmp/hup.wrk")
times=$(reload_times "$tmp/hup.log")
n=$(echo "$times" | sed '/^$/d' | wc -l)
echo "wrk -t2 -c32 -d${duration}s, 4 hello-http workers (--ready notify)"
echo "  without HUP: $plain req/s, socket errors $(errors "$tmp/plain.wrk"), non-2xx $(non2xx "$tmp/plain.wrk")"
echo "  HUP every 2s: $hup req/s, socket errors $(errors "$tmp/hup.wrk"), non-2xx $(non2xx "$tmp/hup.wrk"), reloads done $n, failed $(grep -c 'reload failed' "$tmp/hup.log")"
awk -v a="$hup" -v b="$plain" 'BEGIN { if (b > 0) printf "  ratio HUP/plain: %.3f\n", a / b }'
if [ "$n" -gt 0 ]; then
	echo "$times" | awk '{ v[NR] = $1 } END { printf "  HUP to new generation ready: median %d ms, max %d ms (n=%d)\n", v[int((NR + 1) / 2)], v[NR], NR }'
fi
# One row for bench/run.sh's table: what|baseline|sentrik-master|ratio|target|met|anchors
errs=$(( $(errors "$tmp/hup.wrk") + $(non2xx "$tmp/hup.wrk") ))
ratio=$(awk -v a="$hup" -v b="$plain" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }')
met=$(awk -v r="$ratio" -v e="$errs" 'BEGIN { print (e == 0 && r >= 0.9) ? "yes" : "no" }')
echo "reload under wrk -c32, HUP every 2 s (req/s)|no HUP $plain|$hup|${ratio}x|0 errors, >= 0.9x req/s|$met|$errs errors, $n reloads"
