#!/bin/bash
# PID 1 duties: the master as init of a fresh PID namespace reaps every
# orphan its workers leave, and still shuts down cleanly on TERM.
. "$(dirname "$0")/lib.sh"

# descendants PID: every process below PID, one per line.
descendants() {
	local c
	for c in $(children "$1"); do
		echo "$c"
		descendants "$c"
	done
}

# pid1_start ARGS...: the master as PID 1 of a new PID namespace.  NS_INIT
# is its pid as seen from here; SM_PID the unshare process waiting for it.
pid1_start() {
	command -v unshare >/dev/null || skip "unshare not installed"
	SM_LOG="$SM_TMP/pid1.$RANDOM.log"
	setsid unshare --pid --fork --mount-proc "$SM_BIN" "$@" >"$SM_LOG.out" 2>"$SM_LOG" &
	SM_PID=$!
	track "$SM_PID"
	wait_for 5 sh -c "[ -n \"\$(cat /proc/$SM_PID/task/*/children 2>/dev/null)\" ]" ||
		fail "unshare did not start the master"
	NS_INIT=$(children "$SM_PID" | head -1)
	[ "$(status_field "$NS_INIT" NSpid | awk '{print $NF}')" = 1 ] ||
		fail "the master is not PID 1 in its namespace: NSpid $(status_field "$NS_INIT" NSpid)"
}

t_pid1_reaps_orphans_no_zombies() {
	need_root
	pid1_start -w 2 -- "$PROBE" --orphan-loop
	wait_for 5 grep -q 'as PID 1' "$SM_LOG" || fail "the master does not know it is PID 1"
	wait_for 5 sh -c "[ \$(cat /proc/$NS_INIT/task/*/children | wc -w) -ge 2 ]" || fail "no workers"
	local prev="" seen=0 max=0 i p zs n
	for i in $(seq 1 16); do
		zs=""
		n=0
		for p in $(descendants "$NS_INIT"); do
			n=$((n + 1))
			grep -q '^State:.*Z' /proc/"$p"/status 2>/dev/null && zs="$zs $p"
		done
		[ "$n" -gt "$max" ] && max=$n
		for p in $zs; do
			seen=$((seen + 1))
			# a zombie still there a quarter second later was never reaped
			[[ " $prev " == *" $p "* ]] && fail "pid $p stayed a zombie (sample $i)"
		done
		prev=$zs
		sleep 0.25
	done
	# 200 orphans a second for 4 s: only a reaping init keeps this small
	[ "$max" -lt 40 ] || fail "$max processes in the namespace: orphans pile up"
	echo "max $max processes, $seen transient zombies sampled"
	kill -TERM "$NS_INIT"
	wait_exit "$SM_PID" 10 || fail "PID 1 did not exit on TERM"
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE"
}

t_pid1_term_with_grandchild() {
	need_root
	pid1_start -w 2 -- "$PROBE" --grandchild "$SM_TMP/gc"
	wait_for 5 test -s "$SM_TMP/gc" || fail "no grandchild"
	kill -TERM "$NS_INIT"
	wait_exit "$SM_PID" 10 || fail "PID 1 did not exit on TERM"
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE"
	grep -q 'FATAL' "$SM_LOG" && fail "fatal line on a clean stop"
	true
}

t_pid1_exec_failure_exit_69() {
	need_root
	command -v unshare >/dev/null || skip "unshare not installed"
	timeout 10 unshare --pid --fork --mount-proc "$SM_BIN" -w 1 -- "$SM_TMP/nonexistent" \
		2>"$SM_TMP/err"
	rc=$?
	[ "$rc" = 69 ] || fail "exit $rc: $(cat "$SM_TMP/err")"
	grep -q "cannot execute '$SM_TMP/nonexistent': No such file or directory" "$SM_TMP/err" ||
		fail "no reason: $(cat "$SM_TMP/err")"
}

run_tests "$@"
