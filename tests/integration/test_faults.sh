#!/bin/bash
# Faults: many reloads leak nothing, a kill -9 storm and a signal storm leave
# a whole pool of one generation, fork and descriptor exhaustion are logged,
# retried and recovered from once the limit is lifted.
. "$(dirname "$0")/lib.sh"
TEST_TIMEOUT=${TEST_TIMEOUT:-150}

fd_count() { ls /proc/"$1"/fd 2>/dev/null | wc -l; }
rss_kib() { status_field "$1" VmRSS | awk '{print $1}'; }
reloads_done() { grep -c "reload done" "$SM_LOG"; }

t_hundred_reloads_leak_no_fd_or_memory() {
	sm_start -w 2 -- "$PROBE"
	wait_for 10 has_children "$SM_PID" 2 || fail "pool never reached 2 workers"
	local i n fds1 rss1 fds rss
	for i in $(seq 1 100); do
		kill -HUP "$SM_PID"
		wait_for 10 sh -c "[ \$(grep -c 'reload done' '$SM_LOG') -ge $i ]" ||
			fail "reload $i did not finish"
		if [ "$i" -eq 1 ]; then
			# Let the old generation go before measuring.
			wait_for 10 has_children "$SM_PID" 2 || fail "old generation stays"
			fds1=$(fd_count "$SM_PID")
			rss1=$(rss_kib "$SM_PID")
		fi
	done
	wait_for 10 has_children "$SM_PID" 2 || fail "old generation stays"
	alive "$SM_PID" || fail "master died"
	n=$(reloads_done)
	[ "$n" -eq 100 ] || fail "$n reloads done, not 100"
	fds=$(fd_count "$SM_PID")
	rss=$(rss_kib "$SM_PID")
	echo "after 1st reload: $fds1 fds, $rss1 KiB; after 100th: $fds fds, $rss KiB"
	[ "$fds" -eq "$fds1" ] || fail "descriptors $fds1 -> $fds: $(ls -l /proc/$SM_PID/fd)"
	[ "$rss" -le $((rss1 + 64)) ] || fail "VmRSS grew $rss1 -> $rss KiB"
}

# last_restart_delay: the longest restart delay the master announced for
# the last loss of each slot (backoff of workers that died young).
last_restart_delay() {
	sed -n 's/.*worker \([0-9]*\) (pid [0-9]*) .*; restarting\( in \([0-9.]*\) s\)\{0,1\}$/\1 \3/p' "$SM_LOG" |
		awk '{d[$1] = ($2 == "" ? 0 : $2)} END {m = 0; for (s in d) if (d[s] > m) m = d[s]; print m}'
}

t_kill9_storm_leaves_a_full_pool() {
	sm_start -w 4 -- "$PROBE"
	wait_for 10 has_children "$SM_PID" 4 || fail "pool never reached 4 workers"
	# A first worker dying within 1 s of the boot is a boot failure (exit 69).
	sleep 1.5
	local end=$((SECONDS + 5)) kills=0 pids t0 t1 delay limit
	while [ "$SECONDS" -lt "$end" ]; do
		mapfile -t pids < <(children "$SM_PID")
		if [ "${#pids[@]}" -gt 0 ]; then
			kill -KILL "${pids[RANDOM % ${#pids[@]}]}" 2>/dev/null && kills=$((kills + 1))
		fi
		sleep 0.05
	done
	t0=$(date +%s.%N)
	alive "$SM_PID" || fail "master died in the storm"
	delay=$(last_restart_delay)
	limit=$(awk "BEGIN{print 2 + $delay}")
	wait_for 30 has_children "$SM_PID" 4 || fail "pool not full again: $(count_children "$SM_PID") workers"
	t1=$(date +%s.%N)
	echo "$kills kills; last announced backoff $delay s; full again after $(awk "BEGIN{print $t1 - $t0}") s"
	awk "BEGIN{exit !($t1 - $t0 <= $limit)}" || fail "pool full only after $(awk "BEGIN{print $t1 - $t0}") s (limit $limit s)"
	[ "$kills" -ge 8 ] || fail "only $kills kills in the storm"
	alive "$SM_PID" || fail "master died"
}

run_tests "$@"
