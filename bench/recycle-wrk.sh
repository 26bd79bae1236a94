#!/bin/bash
# Recycling under load: wrk -t2 -c32 against 4 hello-http workers, in
# ROUNDS pairs of segments, one master with --max-worker-age 2 and one
# without (alternating which runs first, so the machine's drift falls on
# both sides).  Prints socket errors, non-2xx answers, the median req/s of
# each side and their ratio, the workers recycled, and the fewest workers
# seen (sampled every 0.1 s while the load runs).
#   usage: bench/recycle-wrk.sh [SENTRIK-MASTER] [HELLO-HTTP]
#   (DURATION=40: seconds of load in all; ROUNDS=4)
set -u
. "$(dirname "$0")/wrk-lib.sh" recycle-wrk "$@"
workers=4

# Workers of the master when /proc listed its children: those that exec'd
# (a fork not yet past its exec still runs the master's program).  One
# whose program can no longer be read exited after the listing: it was
# there when listed.  A zombie (gone, not yet reaped) is not counted.
workers_now() {
	local c n=0 self exe
	self=$(readlink /proc/"$pid"/exe)
	for c in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
		exe=$(readlink /proc/"$c"/exe 2>/dev/null)
		[ "$exe" = "$self" ] && continue
		[ -z "$exe" ] && grep -q '^State:.*Z' /proc/"$c"/status 2>/dev/null && continue
		n=$((n + 1))
	done
	echo "$n"
}

# segment NAME AGE: one master (AGE 0: no recycling) under wrk for $seg s;
# leaves $tmp/NAME.wrk, $tmp/NAME.log and the fewest workers in $tmp/NAME.low.
segment() {
	local name=$1 age=$2 port low=99 n client
	port=$(free_port)
	setsid "$master" --workers "$workers" --ready notify --max-worker-age "$age" \
		--graceful-timeout 10 --bind "127.0.0.1:$port" -- "$hello" 2>"$tmp/$name.log" &
	pid=$!
	wait_ready "$tmp/$name.log"
	wrk -t2 -c32 -d"${seg}s" "http://127.0.0.1:$port/" >"$tmp/$name.wrk" 2>&1 &
	client=$!
	while kill -0 "$client" 2>/dev/null; do
		n=$(workers_now)
		[ "$n" -lt "$low" ] && low=$n
		sleep 0.1
	done
	wait "$client"
	echo "$low" >"$tmp/$name.low"
	kill -TERM "$pid"
	wait "$pid"
	pid=""
}
for r in $(seq "$rounds"); do
	if [ $((r % 2)) = 1 ]; then
		segment "plain.$r" 0; segment "recycle.$r" 2
	else
		segment "recycle.$r" 2; segment "plain.$r" 0
	fi
done
plain=$(side plain)
recycle=$(side recycle)
recycled=$(cat "$tmp"/recycle.*.log | grep -c ") recycled, ")
low=$(cat "$tmp"/recycle.*.low | sort -n | head -1)
echo "wrk -t2 -c32, $rounds rounds of ${seg}s, $workers hello-http workers (--ready notify), without and with --max-worker-age 2"
echo "  without recycling: $plain req/s, socket errors $(errors "$tmp/plain.wrk"), non-2xx $(non2xx "$tmp/plain.wrk")"
echo "  --max-worker-age 2: $recycle req/s, socket errors $(errors "$tmp/recycle.wrk"), non-2xx $(non2xx "$tmp/recycle.wrk"), $recycled workers recycled, fewest workers seen $low"
echo "  segments, req/s: without" $(segments plain) "; with recycling" $(segments recycle)
errs=$(( $(errors "$tmp/recycle.wrk") + $(non2xx "$tmp/recycle.wrk") ))
ratio=$(awk -v a="$recycle" -v b="$plain" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }')
met=$(awk -v r="$ratio" -v e="$errs" -v l="$low" -v n="$workers" 'BEGIN { print (e == 0 && r >= 0.9 && l >= n) ? "yes" : "no" }')
# One row for bench/run.sh's table: what|baseline|sentrik-master|ratio|target|met|anchors
echo "recycling under wrk -c32, --max-worker-age 2 (req/s)|no recycling $plain|$recycle|${ratio}x|0 errors, >= 0.9x req/s, never < $workers workers|$met|$errs errors, $recycled recycled, fewest $low workers"
