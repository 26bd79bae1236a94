#!/bin/bash
# systemd and containers (SPEC §7): the notify protocol toward the service
# manager, the units, the Docker and Kubernetes examples, the man page.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
LISTENER="$REPO/tests/integration/notify_listener.py"

# listen ADDRESS: start the fake service manager on ADDRESS; NOTES is its
# record, one message a line: "usec pid KEY=VALUE|KEY=VALUE".
listen() {
	NOTIFY_ADDR=$1
	NOTES="$SM_TMP/notes.$RANDOM"
	python3 "$LISTENER" "$NOTIFY_ADDR" "$NOTES" 50 &
	track $!
	wait_for 5 test -e "$NOTES.ready" || fail "notify listener did not start"
}

# note N: the Nth message (1-based) without its time and pid.
note() { sed -n "$1p" "$NOTES" | cut -d' ' -f3-; }
note_count() { wc -l <"$NOTES"; }
wait_notes() { wait_for "$2" sh -c "[ \$(wc -l <'$NOTES') -ge $1 ]"; }
expect_note() {
	local got
	got=$(note "$1")
	[ "$got" = "$2" ] || fail "message $1: expected '$2', got '$got' (all: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/'))"
}
# Every message must come from the master itself (NotifyAccess=main).
all_from_master() {
	local bad
	bad=$(awk -v p="$SM_PID" '$2 != p' "$NOTES")
	[ -z "$bad" ] || fail "messages not sent by the master ($SM_PID): $bad"
}

# A copy of the probe the test can swap under the master's feet.
make_app() {
	APP="$SM_TMP/bin.$RANDOM/app"
	mkdir -p "$(dirname "$APP")"
	cp "$PROBE" "$APP"
}
# An executable that execve() rejects (its interpreter does not exist),
# put in place by rename so running workers are not disturbed.
break_app() {
	printf '#!/nonexistent/interpreter\n' >"$APP.new"
	chmod 755 "$APP.new"
	mv -f "$APP.new" "$APP"
}

workers_of_gen() {
	local c n=0
	for c in $(children "$SM_PID"); do
		tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx "SENTRIK_GENERATION=$1" && n=$((n + 1))
	done
	echo "$n"
}

t_notify_start_reload_rollback_stop() {
	need_root
	listen "@sentrik-test-$$-$RANDOM"
	make_app
	NOTIFY_SOCKET=$NOTIFY_ADDR sm_start -w 4 -- "$APP"
	wait_notes 1 10 || fail "no READY=1 within 10 s"
	# READY=1 only once all four first-generation workers run.
	[ "$(workers_of_gen 0)" = 4 ] || fail "READY=1 before 4 workers: $(workers_of_gen 0)"
	expect_note 1 "READY=1|MAINPID=$SM_PID|STATUS=4 workers ready, generation 0"
	# The outer variables never reach a worker.
	local w
	w=$(children "$SM_PID" | head -1)
	tr '\0' '\n' <"/proc/$w/environ" | grep -q '^NOTIFY_SOCKET=' && fail "NOTIFY_SOCKET leaked into worker $w"

	# A successful reload: RELOADING=1 with the time, then READY=1.
	local before after usec
	before=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC)//1000)')
	kill -HUP "$SM_PID"
	wait_notes 3 10 || fail "reload not reported: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
	after=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC)//1000)')
	[[ "$(note 2)" =~ ^RELOADING=1\|MONOTONIC_USEC=([0-9]+)\|STATUS=reloading:\ starting\ generation\ 1$ ]] ||
		fail "message 2: '$(note 2)'"
	usec=${BASH_REMATCH[1]}
	[ "$usec" -ge "$before" ] && [ "$usec" -le "$after" ] ||
		fail "MONOTONIC_USEC=$usec not between $before and $after"
	expect_note 3 "READY=1|STATUS=4 workers ready, generation 1"
	wait_for 5 sh -c "[ \$(cat /proc/$SM_PID/task/*/children | wc -w) -eq 4 ]" || fail "old generation not retired"

	# A reload whose workers cannot start: rolled back, READY=1 again with why.
	break_app
	kill -HUP "$SM_PID"
	wait_notes 5 10 || fail "rollback not reported: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
	[[ "$(note 4)" =~ ^RELOADING=1\|MONOTONIC_USEC=[0-9]+\|STATUS=reloading:\ starting\ generation\ 2$ ]] ||
		fail "message 4: '$(note 4)'"
	[[ "$(note 5)" == "READY=1|STATUS=reload failed, generation 1 keeps serving: "*"No such file or directory"* ]] ||
		fail "message 5: '$(note 5)'"
	[ "$(workers_of_gen 1)" = 4 ] || fail "generation 1 does not serve with 4 workers after the rollback"

	# TERM: STOPPING=1, then a clean exit and nothing more.
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
	[ "$EXIT_CODE" = 0 ] || fail "exit code $EXIT_CODE"
	expect_note 6 "STOPPING=1|STATUS=stopping"
	sleep 0.2
	[ "$(note_count)" = 6 ] || fail "extra messages: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
	all_from_master
}

# A reload that cannot even begin (the command is gone) must still close
# the RELOADING=1 it announced, or systemd would wait for it forever.
t_notify_reload_aborted() {
	need_root
	listen "@sentrik-test-$$-$RANDOM"
	make_app
	NOTIFY_SOCKET=$NOTIFY_ADDR sm_start -w 2 -- "$APP"
	wait_notes 1 10 || fail "no READY=1"
	expect_note 1 "READY=1|MAINPID=$SM_PID|STATUS=2 workers ready, generation 0"
	rm -f "$APP"
	kill -HUP "$SM_PID"
	wait_notes 3 10 || fail "aborted reload not reported: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
	[[ "$(note 2)" == "RELOADING=1|MONOTONIC_USEC="*"|STATUS=reloading: starting generation 1" ]] ||
		fail "message 2: '$(note 2)'"
	expect_note 3 "READY=1|STATUS=reload failed, generation 0 keeps serving: cannot execute the command"
	[ "$(workers_of_gen 0)" = 2 ] || fail "generation 0 not serving after the aborted reload"
	kill -INT "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after INT"
	[ "$EXIT_CODE" = 0 ] || fail "exit code $EXIT_CODE"
	expect_note 4 "STOPPING=1|STATUS=stopping"
	all_from_master
}

# A path NOTIFY_SOCKET (not abstract) works the same way.
t_notify_path_socket() {
	need_root
	listen "$SM_TMP/notify.$RANDOM.sock"
	NOTIFY_SOCKET=$NOTIFY_ADDR sm_start -w 1 -- "$PROBE"
	wait_notes 1 10 || fail "no READY=1 on a path socket"
	expect_note 1 "READY=1|MAINPID=$SM_PID|STATUS=1 workers ready, generation 0"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
	expect_note 2 "STOPPING=1|STATUS=stopping"
	all_from_master
}

# A failed first start still says STOPPING=1 and never READY=1.
t_notify_boot_failure() {
	need_root
	listen "@sentrik-test-$$-$RANDOM"
	make_app
	break_app
	NOTIFY_SOCKET=$NOTIFY_ADDR sm_start -w 2 -- "$APP"
	wait_exit "$SM_PID" 10 || fail "no exit on a failed boot"
	[ "$EXIT_CODE" = 69 ] || fail "exit code $EXIT_CODE, expected 69"
	sleep 0.2
	expect_note 1 "STOPPING=1|STATUS=stopping"
	[ "$(note_count)" = 1 ] || fail "messages: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
}

# count_pings SECONDS: WATCHDOG=1 messages received during SECONDS.
count_pings() {
	local a b
	a=$(grep -c 'WATCHDOG=1' "$NOTES")
	sleep "$1"
	b=$(grep -c 'WATCHDOG=1' "$NOTES")
	echo $((b - a))
}

t_watchdog_at_half_the_interval() {
	need_root
	listen "@sentrik-test-$$-$RANDOM"
	# WATCHDOG_USEC=400 ms: a ping every 200 ms, 15 in 3 s.
	NOTIFY_SOCKET=$NOTIFY_ADDR WATCHDOG_USEC=400000 sm_start -w 1 -- "$PROBE"
	wait_notes 1 10 || fail "no message"
	sleep 0.3
	local n
	n=$(count_pings 3)
	[ "$n" -ge 11 ] && [ "$n" -le 17 ] || fail "$n pings in 3 s with WATCHDOG_USEC=400000, expected about 15"
	# The gaps between pings: about 200 ms each (margins for a busy machine).
	awk '/WATCHDOG=1/ { if (prev) { d = $1 - prev; if (d < 150000 || d > 400000) bad = bad " " d } prev = $1 }
		END { if (bad) { print "ping gaps (usec):" bad; exit 1 } }' "$NOTES" || fail "irregular pings"
	w=$(children "$SM_PID" | head -1)
	tr '\0' '\n' <"/proc/$w/environ" | grep -q '^WATCHDOG_' && fail "WATCHDOG_* leaked into worker $w"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
	all_from_master
}

# WATCHDOG_PID names who must ping: the master when it is its own pid,
# nobody when it is another process.
t_watchdog_pid_honoured() {
	need_root
	# Own pid: exec keeps the pid, so $$ of that shell is the master's pid.
	listen "@sentrik-test-$$-$RANDOM"
	SM_LOG="$SM_TMP/master.$RANDOM.log"
	NOTIFY_SOCKET=$NOTIFY_ADDR WATCHDOG_USEC=200000 setsid sh -c 'WATCHDOG_PID=$$ exec "$0" "$@"' \
		"$SM_BIN" -w 1 -- "$PROBE" 2>"$SM_LOG" &
	SM_PID=$!
	track "$SM_PID"
	wait_notes 1 10 || fail "no message"
	[ "$(count_pings 1)" -ge 3 ] || fail "no pings with WATCHDOG_PID = the master's pid"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
	all_from_master

	listen "@sentrik-test-$$-$RANDOM"
	NOTIFY_SOCKET=$NOTIFY_ADDR WATCHDOG_USEC=200000 WATCHDOG_PID=1 sm_start -w 1 -- "$PROBE"
	wait_notes 1 10 || fail "no READY=1"
	[ "$(count_pings 1)" = 0 ] || fail "pings although WATCHDOG_PID names another process"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
}

# Without WATCHDOG_USEC an idle master has no timer: it does not wake up.
t_no_watchdog_no_wakeups() {
	need_root
	listen "@sentrik-test-$$-$RANDOM"
	NOTIFY_SOCKET=$NOTIFY_ADDR sm_start -w 2 -- "$PROBE"
	wait_notes 1 10 || fail "no READY=1"
	sleep 0.5
	local a b
	a=$(status_field "$SM_PID" voluntary_ctxt_switches)
	sleep 3
	b=$(status_field "$SM_PID" voluntary_ctxt_switches)
	[ "$a" = "$b" ] || fail "idle master woke up $((b - a)) times in 3 s"
	[ "$(note_count)" = 1 ] || fail "messages while idle: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10
}

run_tests "$@"
