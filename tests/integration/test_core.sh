#!/bin/bash
# Core supervisor behaviour: exit codes, the pool, restarts, signals.
. "$(dirname "$0")/lib.sh"

t_workers_get_ids_1_to_n() {
	mkdir -p "$SM_TMP/rec"
	sm_start -w 3 -- "$PROBE" --record "$SM_TMP/rec"
	wait_for 5 sh -c "[ \$(ls $SM_TMP/rec | wc -l) -ge 3 ]" || fail "3 workers did not start"
	ids=$(cat "$SM_TMP"/rec/w* | sed -n 's/^SENTRIK_WORKER_ID=//p' | sort -n | tr '\n' ' ')
	[ "$ids" = "1 2 3 " ] || fail "worker ids: '$ids'"
	grep -qx "SENTRIK_MASTER_PID=$SM_PID" "$SM_TMP"/rec/w1.* || fail "SENTRIK_MASTER_PID missing"
	grep -qx "SENTRIK_GENERATION=0" "$SM_TMP"/rec/w1.* || fail "SENTRIK_GENERATION missing"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 5 || fail "master did not exit on TERM"
	[ "$EXIT_CODE" = 0 ] || fail "exit code $EXIT_CODE"
}

# ids_are N: the master's children are exactly slots 1..N, one each.
ids_are() {
	local want got
	want=$(seq 1 "$1" | tr '\n' ' ')
	got=$(for p in $(children "$SM_PID"); do worker_var "$p" SENTRIK_WORKER_ID; done | sort -n | tr '\n' ' ')
	[ "$got" = "$want" ]
}

# workers_have FIELD SIGNUM: every worker has SIGNUM in FIELD (SigIgn,
# SigCgt): the probes have set up their signals, which a test waits for
# before sending one.
workers_have() {
	local p n=0
	for p in $(children "$SM_PID"); do
		has_signal "$p" "$1" "$2" || return 1
		n=$((n + 1))
	done
	[ "$n" -gt 0 ]
}

# logged N TEXT: the master's log holds at least N lines with TEXT.
logged() { [ "$(grep -c "$2" "$SM_LOG")" -ge "$1" ]; }

now() { date +%s.%N; }
elapsed() { awk "BEGIN{printf \"%.3f\", $(now) - $1}"; }
ge() { awk "BEGIN{exit !($1 >= $2)}"; }

t_exec_failure_missing_file() {
	sm_start -w 2 -- nonexistent --flag
	wait_exit "$SM_PID" 5 || fail "master still running: a restart loop?"
	[ "$EXIT_CODE" = 69 ] || fail "exit $EXIT_CODE, want 69"
	grep -q "cannot execute 'nonexistent': No such file or directory" "$SM_LOG" ||
		fail "no reason in the log"
}

t_exec_failure_not_executable() {
	printf '#!/bin/sh\nexit 0\n' >"$SM_TMP/noexec"
	chmod 644 "$SM_TMP/noexec"
	sm_start -w 2 -- "$SM_TMP/noexec"
	wait_exit "$SM_PID" 5 || fail "master still running: a restart loop?"
	[ "$EXIT_CODE" = 69 ] || fail "exit $EXIT_CODE, want 69"
	grep -q "cannot execute '$SM_TMP/noexec': Permission denied" "$SM_LOG" || fail "no reason"
}

# The file is there and executable, but exec itself fails (a missing
# interpreter): the error comes back from the child over the pipe.
t_exec_failure_in_the_child() {
	# valgrind runs the forked child itself until its exec, and aborts the
	# child (status 101, its own message) when execve fails, before the
	# master's child code can report the error.
	[ -z "${SM_VALGRIND:-}" ] || skip "valgrind kills a child whose execve fails"
	printf '#!/nonexistent/interpreter\n' >"$SM_TMP/badinterp"
	chmod 755 "$SM_TMP/badinterp"
	sm_start -w 3 -- "$SM_TMP/badinterp"
	wait_exit "$SM_PID" 5 || fail "master still running: a restart loop?"
	[ "$EXIT_CODE" = 69 ] || fail "exit $EXIT_CODE, want 69"
	grep -q "cannot execute '$SM_TMP/badinterp': No such file or directory" "$SM_LOG" ||
		fail "no reason"
	[ "$(grep -c 'cannot execute' "$SM_LOG")" -le 2 ] || fail "the exec was retried"
}

# An app that always exits at once: restarted with the backoff, and the
# --start-retries-th start failure in a row of a slot stops the master.
t_worker_exiting_at_boot_fails_the_start() {
	sm_start -w 2 -- "$PROBE" --exit 3
	wait_exit "$SM_PID" 8 || fail "master still running: a restart loop?"
	[ "$EXIT_CODE" = 69 ] || fail "exit $EXIT_CODE, want 69"
	grep -q 'FATAL: worker [12]: 5 start failures in a row, the last exited with status 3' "$SM_LOG" ||
		fail "no reason: $(grep FATAL "$SM_LOG")"
}

t_killed_worker_replaced_in_same_slot() {
	sm_start -w 3 -- "$PROBE"
	wait_for 5 ids_are 3 || fail "3 workers did not start"
	# Past the early-death window: the restart is immediate.
	wait_for 5 workers_aged 1.2 || fail "workers not past their first second"
	old=$(slot_pid 2)
	t0=$(now)
	kill -KILL "$old"
	wait_for 5 sh -c "p=\$(cat /proc/$SM_PID/task/*/children); for c in \$p; do
		[ \$c != $old ] && tr '\\0' '\\n' </proc/\$c/environ | grep -qx SENTRIK_WORKER_ID=2 && exit 0; done; exit 1" ||
		fail "slot 2 was not refilled"
	dt=$(elapsed "$t0")
	new=$(slot_pid 2)
	[ -n "$new" ] && [ "$new" != "$old" ] || fail "slot 2: old $old new $new"
	ge 1.0 "$dt" || fail "replacement took $dt s"
	wait_for 2 ids_are 3 || fail "not 3 workers in slots 1..3 after the restart"
	grep -q "worker 2 (pid $old) was killed by signal 9 (KILL)" "$SM_LOG" || fail "no log line"
	echo "replaced in $dt s"
	stop_master
}

t_ttin_ttou() {
	sm_start -w 2 --max-workers 3 -- "$PROBE"
	wait_for 5 ids_are 2 || fail "2 workers did not start"
	kill -TTIN "$SM_PID"
	wait_for 5 ids_are 3 || fail "TTIN: not 3 workers"
	kill -TTIN "$SM_PID"
	# The master answers each TTIN and TTOU with the size it now wants.
	wait_for 5 logged 1 'TTIN: 4 workers wanted, capped at --max-workers 3' ||
		fail "TTIN went past --max-workers: $(grep 'TTIN:' "$SM_LOG" | tail -1)"
	ids_are 3 || fail "TTIN went past --max-workers"
	p1=$(slot_pid 1) p2=$(slot_pid 2) p3=$(slot_pid 3)
	kill -TTOU "$SM_PID"
	wait_for 5 ids_are 2 || fail "TTOU: not 2 workers"
	[ "$(slot_pid 1)" = "$p1" ] && [ "$(slot_pid 2)" = "$p2" ] || fail "TTOU stopped a low slot"
	alive "$p3" && fail "slot 3 still running"
	# One at a time: two TTOU pending at once are one signal.
	for i in 2 3 4 5; do
		kill -TTOU "$SM_PID"
		wait_for 5 logged "$i" 'TTOU: ' || fail "TTOU number $i not acted on"
	done
	grep 'TTOU: ' "$SM_LOG" | tail -1 | grep -q 'TTOU: 1 worker wanted' ||
		fail "went below 1 worker: $(grep 'TTOU: ' "$SM_LOG" | tail -1)"
	wait_for 5 ids_are 1 || fail "TTOU: not 1 worker"
	[ "$(slot_pid 1)" = "$p1" ] || fail "slot 1 was replaced"
	stop_master
}

t_term_kills_worker_ignoring_it_after_graceful_timeout() {
	sm_start -w 1 --graceful-timeout 2 -- "$PROBE" --ignore 15
	wait_for 5 ids_are 1 || fail "no worker"
	wait_for 5 workers_have SigIgn 15 || fail "the probe does not ignore TERM"
	w=$(slot_pid 1)
	t0=$(now)
	kill -TERM "$SM_PID"
	# The point of the test: the worker is still there well inside the 2 s.
	sleep 1.5
	alive "$w" || fail "the worker was killed before --graceful-timeout"
	wait_exit "$SM_PID" 10 || fail "master did not exit"
	dt=$(elapsed "$t0")
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE"
	ge "$dt" 1.95 || fail "exited after $dt s, before the 2 s timeout"
	ge 6 "$dt" || fail "exited after $dt s"
	grep -q "was killed by signal 9 (KILL)" "$SM_LOG" || fail "no SIGKILL logged"
	echo "exit after $dt s"
}

t_int_is_quick() {
	sm_start -w 2 --graceful-timeout 30 -- "$PROBE" --ignore 15
	wait_for 5 ids_are 2 || fail "no workers"
	wait_for 5 workers_have SigIgn 15 || fail "the probes do not ignore TERM"
	t0=$(now)
	kill -INT "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "master did not exit"
	dt=$(elapsed "$t0")
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE"
	ge "$dt" 0.95 || fail "killed after $dt s, before 1 s"
	ge 4 "$dt" || fail "INT took $dt s"
}

# A repeated TERM is no request to hurry (timeout(1) sends TERM to the pid
# and to its group); INT during the graceful shutdown makes it quick.
t_second_term_stays_graceful_int_makes_it_quick() {
	sm_start -w 1 --graceful-timeout 30 -- "$PROBE" --ignore 15
	wait_for 5 ids_are 1 || fail "no worker"
	wait_for 5 workers_have SigIgn 15 || fail "the probe does not ignore TERM"
	kill -TERM "$SM_PID"
	# The second TERM once the first is acted on, else they are one signal.
	wait_for 5 logged 1 'TERM: graceful shutdown' || fail "first TERM not acted on"
	kill -TERM "$SM_PID"
	sleep 1.5
	alive "$SM_PID" || fail "a second TERM ended the graceful shutdown of a worker with 30 s"
	t0=$(now)
	kill -INT "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "master did not exit after INT"
	dt=$(elapsed "$t0")
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE"
	ge 5 "$dt" || fail "INT during the graceful shutdown: still took $dt s"
}

t_stop_signal() {
	sm_start -w 2 --stop-signal INT -- "$PROBE" --signals "$SM_TMP/stopsig"
	wait_for 5 ids_are 2 || fail "no workers"
	wait_for 5 workers_have SigCgt 2 || fail "the probes do not catch INT"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 5 || fail "master did not exit"
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE"
	[ "$(grep -cx 2 "$SM_TMP/stopsig")" = 2 ] || fail "workers got: $(tr '\n' ' ' <"$SM_TMP/stopsig")"
	grep -qx 15 "$SM_TMP/stopsig" && fail "workers got TERM, not the stop signal"
	true
}

t_forward_usr2() {
	sm_start -w 2 --forward USR2 -- "$PROBE" --signals "$SM_TMP/fwdsig"
	wait_for 5 ids_are 2 || fail "no workers"
	wait_for 5 workers_have SigCgt 12 || fail "the probes do not catch USR2"
	kill -USR2 "$SM_PID"
	wait_for 5 sh -c "[ \$(grep -cx 12 $SM_TMP/fwdsig) = 2 ]" ||
		fail "workers got: $(tr '\n' ' ' <"$SM_TMP/fwdsig")"
	alive "$SM_PID" || fail "the master died of USR2"
	ids_are 2 || fail "workers changed"
	stop_master
}

# A parent that execs us with signals blocked (some service managers and
# shells do) must not leave the master deaf: it sets its own mask.
t_inherited_blocked_signals_are_heard() {
	local old
	# TERM, HUP, USR1, CHLD, TTIN blocked by the parent.
	SM_BIN="$SM_HELPERS/sigexec" sm_start 15,1,10,17,21 - "$SM_MASTER_BIN" -w 2 -- "$PROBE"
	wait_for 5 ids_are 2 || fail "no workers"
	[ "$(status_field "$SM_PID" SigBlk)" = 0000000000000000 ] ||
		fail "master keeps an inherited mask: SigBlk $(status_field "$SM_PID" SigBlk)"
	# Past the boot, so the loss is a plain restart.
	wait_for 5 workers_aged 1.2 || fail "worker not past its boot"
	old=$(slot_pid 1)
	kill -KILL "$old"
	slot1_replaced() { local p; p=$(slot_pid 1) && [ "$p" != "$old" ]; }
	wait_for 5 slot1_replaced || fail "killed worker not replaced: CHLD unheard"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "TERM unheard: master still running"
	[ "$EXIT_CODE" -eq 0 ] || fail "exit $EXIT_CODE after TERM"
}

# HUP, USR1, TTIN sent before the loop watches them would kill or stop the
# master by their default action; held until the loop runs, they act then.
t_signals_before_the_loop_wait_for_it() {
	SM_BIN="$SM_HELPERS/sigexec" sm_start 1,10,21 1,10,21 "$SM_MASTER_BIN" -w 1 --max-workers 3 -- "$PROBE"
	wait_for 5 ids_are 2 || fail "early TTIN not acted on: $(cat "$SM_LOG")"
	wait_for 5 grep -q "reload done" "$SM_LOG" || fail "early HUP not acted on"
	alive "$SM_PID" || fail "master died of an early signal"
	[ "$(status_field "$SM_PID" State | cut -c1)" != T ] || fail "master stopped by an early TTIN"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "master did not stop"
	[ "$EXIT_CODE" -eq 0 ] || fail "exit $EXIT_CODE after TERM"
}

# TERM is not held while starting: a start stuck in a slow lookup can still
# be stopped, and it stops before any worker is forked.
t_term_before_the_loop_stops_the_start() {
	mkdir -p "$SM_TMP/rec"
	SM_BIN="$SM_HELPERS/sigexec" sm_start 15 15 "$SM_MASTER_BIN" -w 2 -- "$PROBE" --record "$SM_TMP/rec"
	wait_exit "$SM_PID" 10 || fail "a pending TERM did not stop the start"
	[ "$EXIT_CODE" -eq 143 ] || fail "exit $EXIT_CODE, want death by TERM (143)"
	[ -z "$(ls "$SM_TMP/rec")" ] || fail "a worker was started: $(ls "$SM_TMP/rec")"
}

t_master_kill9_takes_workers() {
	sm_start -w 3 -- "$PROBE"
	wait_for 5 ids_are 3 || fail "no workers"
	pids=$(children "$SM_PID")
	kill -KILL "$SM_PID"
	for p in $pids; do
		wait_for 5 sh -c "! kill -0 $p 2>/dev/null || grep -q '^State:.*Z' /proc/$p/status" ||
			fail "worker $p outlived its master"
	done
}

t_grandchild_dies_on_shutdown() {
	sm_start -w 1 -- "$PROBE" --grandchild "$SM_TMP/gc"
	wait_for 5 test -s "$SM_TMP/gc" || fail "no grandchild"
	gc=$(cat "$SM_TMP/gc")
	alive "$gc" || fail "grandchild not running"
	stop_master
	wait_for 3 sh -c "! kill -0 $gc 2>/dev/null || grep -q '^State:.*Z' /proc/$gc/status" ||
		fail "grandchild $gc survived the shutdown"
}

t_grandchild_dies_with_its_worker() {
	sm_start -w 1 -- "$PROBE" --grandchild "$SM_TMP/gc2"
	wait_for 5 test -s "$SM_TMP/gc2" || fail "no grandchild"
	gc=$(cat "$SM_TMP/gc2")
	rm -f "$SM_TMP/gc2"
	# Past the start: a death now is a crash, not a failed boot.
	wait_for 5 workers_aged 1.2 || fail "worker not past its start"
	kill -KILL "$(slot_pid 1)"
	wait_for 3 sh -c "! kill -0 $gc 2>/dev/null || grep -q '^State:.*Z' /proc/$gc/status" ||
		fail "grandchild $gc survived its worker"
	wait_for 5 test -s "$SM_TMP/gc2" || fail "the replacement did not start"
	stop_master
}

t_master_is_subreaper() {
	sm_start -w 1 -- "$PROBE" --orphan "$SM_TMP/orphan"
	wait_for 5 test -s "$SM_TMP/orphan" || fail "no orphan"
	o=$(cat "$SM_TMP/orphan")
	wait_for 3 sh -c "[ \"\$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$o/status)\" = $SM_PID ]" ||
		fail "orphan $o has PPid $(status_field "$o" PPid), not the master $SM_PID"
	stop_master
	wait_for 3 sh -c "! kill -0 $o 2>/dev/null" || fail "orphan $o survived the shutdown"
}

t_chdir_and_umask_reach_workers() {
	mkdir -p "$SM_TMP/wd"
	sm_start -w 2 --chdir "$SM_TMP/wd" --umask 027 -- "$PROBE"
	wait_for 5 ids_are 2 || fail "no workers"
	for p in $(children "$SM_PID"); do
		[ "$(readlink /proc/"$p"/cwd)" = "$SM_TMP/wd" ] || fail "cwd of $p: $(readlink /proc/"$p"/cwd)"
		[ "$(status_field "$p" Umask)" = 0027 ] || fail "umask of $p: $(status_field "$p" Umask)"
	done
	stop_master
}

t_chdir_missing_fails_the_start() {
	sm_start -w 1 --chdir "$SM_TMP/nope" -- "$PROBE"
	wait_exit "$SM_PID" 5 || fail "master still running"
	[ "$EXIT_CODE" = 69 ] || fail "exit $EXIT_CODE"
	grep -q "cannot chdir to '$SM_TMP/nope': No such file or directory" "$SM_LOG" || fail "no reason"
}

t_workers_auto_is_nproc() {
	n=$(nproc)
	sm_start -w auto -- "$PROBE"
	wait_for 5 ids_are "$n" || fail "not $n workers: $(count_children "$SM_PID")"
	[ "$n" -ge 1 ] || fail "nproc $n"
	grep -q "starting $n worker" "$SM_LOG" || fail "log does not say $n workers"
	stop_master
}

t_outside_env_does_not_leak() {
	mkdir -p "$SM_TMP/envrec"
	NOTIFY_SOCKET=/nonexistent/notify LISTEN_FDS=3 LISTEN_PID=1 LISTEN_FDNAMES=x \
		WATCHDOG_USEC=1000000 WATCHDOG_PID=1 SENTRIK_WORKER_ID=99 KEEP_ME=yes \
		sm_start -w 2 -- "$PROBE" --record "$SM_TMP/envrec"
	wait_for 5 sh -c "[ \$(ls $SM_TMP/envrec | wc -l) -ge 2 ]" || fail "workers did not start"
	for f in "$SM_TMP"/envrec/w*; do
		grep -E '^(NOTIFY_SOCKET=/nonexistent|LISTEN_[A-Z]*=|WATCHDOG_[A-Z]*=)' "$f" && fail "leaked into $f"
		grep -q '^SENTRIK_WORKER_ID=99$' "$f" && fail "outside SENTRIK_WORKER_ID leaked"
		grep -qx KEEP_ME=yes "$f" || fail "ordinary variables must pass"
	done
	stop_master
}

# 2000 mixed TTIN/TTOU/HUP in a burst: the master survives and settles to
# a consistent pool: slots exactly 1..N of one generation, N as it says.
t_signal_storm() {
	sm_start -w 3 --max-workers 8 -- "$PROBE"
	wait_for 5 ids_are 3 || fail "no workers"
	# HUPs wait for the first start: the storm begins after it.
	wait_for 5 grep -q "ready, generation" "$SM_LOG" || fail "not ready"
	sigs=(TTIN TTOU HUP TTIN TTOU)
	for i in $(seq 1 2000); do
		kill -"${sigs[$((RANDOM % 5))]}" "$SM_PID" 2>/dev/null || fail "master gone after $i signals"
	done
	# The size the log says last: a TTIN/TTOU (capped, or at the floor),
	# or a reload's new generation, which takes the size the config says.
	said_size() {
		local last
		last=$(grep -oE '[0-9]+ workers? wanted|capped at --max-workers [0-9]+|the least there is|(serving|starting generation [0-9]+) with [0-9]+ workers?' "$SM_LOG" | tail -1)
		case "$last" in
		*least*) echo 1 ;;
		capped*) echo "${last##* }" ;;
		*) echo "$last" | grep -oE '[0-9]+' | tail -1 ;;
		esac
	}
	settled() {
		local n gens
		n=$(said_size)
		ids_are "$n" || return 1
		gens=$(for p in $(children "$SM_PID"); do worker_var "$p" SENTRIK_GENERATION; done | sort -u | wc -l)
		[ "$gens" = 1 ]
	}
	wait_for 30 settled || fail "not settled: $(count_children "$SM_PID") children, log says $(said_size)"
	# Deliberate: nothing may change for a second after settling.
	sleep 1
	settled || fail "changed after settling"
	alive "$SM_PID" || fail "master died"
	echo "settled at $(count_children "$SM_PID") workers"
	stop_master
}

# A crash loop after the boot: restarts in the same slot with the delay
# doubling from 0.1 s, never a tight loop (no crash-loop limit here).
t_crash_loop_backs_off() {
	mkdir -p "$SM_TMP/loop"
	printf '#!/bin/sh\n[ -e "%s" ] && exit 1\ntouch "%s"\nsleep 1.2\nexit 1\n' \
		"$SM_TMP/loop/first" "$SM_TMP/loop/first" >"$SM_TMP/loop/app"
	chmod 755 "$SM_TMP/loop/app"
	sm_start -w 1 --start-retries 0 -- "$SM_TMP/loop/app"
	wait_for 10 grep -q 'restarting in 0.8 s' "$SM_LOG" || fail "no backoff up to 0.8 s"
	for d in 0.1 0.2 0.4 0.8; do
		[ "$(grep -c "worker 1 (pid [0-9]*) exited with status 1 after [0-9.]* s, before it was ready: start failure [0-9]* in a row; restarting in $d s" "$SM_LOG")" = 1 ] ||
			fail "not exactly one restart after $d s"
	done
	grep -q 'after 1\.[0-9]* s; restarting$' "$SM_LOG" || fail "the first death (after 1.2 s) was not restarted at once"
	alive "$SM_PID" || fail "master died"
	stop_master
}

run_tests "$@"
