#!/bin/bash
# Worker lifecycle (SPEC §4, §5, §7, §10): an early death is a restart, the
# crash-loop limit, alive readiness and rollback, planned exits, recycling
# by age and memory, STATUS= kept true, nothing outliving a stop, and the
# size a reload takes from the config.
. "$(dirname "$0")/lib.sh"
HELLO="${SM_EXAMPLES:?SM_EXAMPLES must point to the built examples}/hello-http/hello-http"
LISTENER="$(cd "$(dirname "$0")" && pwd)/notify_listener.py"
TEST_TIMEOUT=${TEST_TIMEOUT:-90}

# listen: the fake service manager; NOTES holds its messages.
listen() {
	NOTIFY_ADDR="@sentrik-life-$$-$RANDOM"
	NOTES="$SM_TMP/notes.$RANDOM"
	python3 "$LISTENER" "$NOTIFY_ADDR" "$NOTES" 60 &
	track $!
	wait_for 5 test -e "$NOTES.ready" || fail "notify listener did not start"
}
statuses() { cut -d' ' -f3- "$NOTES" | tr '|' '\n' | sed -n 's/^STATUS=//p'; }

# The defect: a worker killed right after "ready" stopped the pool (69).
t_early_kill_after_ready_is_restarted() {
	local mode old
	for mode in alive:1 exec; do
		sm_start -w 4 --ready "$mode" -- "$PROBE"
		wait_for 5 grep -q "4 workers ready" "$SM_LOG" || fail "$mode: not ready"
		old=$(slot_pid 3)
		kill -KILL "$old"
		replaced() { local p; p=$(slot_pid 3) && [ "$p" != "$old" ]; }
		wait_for 5 replaced || fail "$mode: slot 3 not refilled"
		sleep 0.3
		alive "$SM_PID" || fail "$mode: the master stopped (exit $(wait "$SM_PID"; echo $?))"
		grep -q FATAL "$SM_LOG" && fail "$mode: a FATAL line"
		[ "$(count_children "$SM_PID")" = 4 ] || fail "$mode: $(count_children "$SM_PID") workers"
		stop_master
	done
}

# An app that always exits 1 at start: exit 69 after exactly N start
# failures, within the backoff sum (+1 s), its stderr line in the FATAL.
t_crash_loop_limit_names_the_cause() {
	local app="$SM_TMP/failing" t0 took n
	printf '#!/bin/sh\necho "config: DATABASE_URL is not set" >&2\nexit 1\n' >"$app"
	chmod 755 "$app"
	t0=$EPOCHREALTIME
	sm_start -w 1 --start-retries 4 --capture-output -- "$app"
	wait_exit "$SM_PID" 10 || fail "master still running"
	took=$(awk "BEGIN{print $EPOCHREALTIME - $t0}")
	[ "$EXIT_CODE" = 69 ] || fail "exit $EXIT_CODE, want 69"
	n=$(grep -c "worker 1 (pid [0-9]*) exited with status 1" "$SM_LOG")
	[ "$n" = 4 ] || fail "$n start failures logged, want 4"
	[ "$(grep -c FATAL "$SM_LOG")" = 1 ] || fail "not one FATAL line"
	grep -q "FATAL: worker 1: 4 start failures in a row, the last exited with status 1; its last stderr line: config: DATABASE_URL is not set" "$SM_LOG" ||
		fail "FATAL: $(grep FATAL "$SM_LOG")"
	# backoff 0.1 + 0.2 + 0.4 s, plus 1 s
	awk "BEGIN{exit !($took <= 1.7 * $SM_SLOW)}" || fail "took $took s"
	note "exit 69 after $took s"
}

# --ready alive:1 (the default) checks a release's start: one that dies at
# 0.3 s is rolled back, and a client loop across the HUP sees no failure.
t_hup_of_release_dying_at_start_rolls_back() {
	local app="$SM_TMP/release" ok bad
	printf '#!/bin/sh\nif [ -e "%s" ]; then sleep 0.3; echo "release: bad migration" >&2; exit 1; fi\nexec "%s"\n' \
		"$SM_TMP/broken" "$HELLO" >"$app"
	chmod 755 "$app"
	sm_start -w 2 --bind 127.0.0.1:0 -- "$app"
	wait_for 5 grep -q "ready, generation" "$SM_LOG" || fail "not ready"
	wait_for 5 port_known || fail "no socket"
	client_loop "$PORT" 4 "$SM_TMP/client.out"
	sleep 0.5
	touch "$SM_TMP/broken"
	kill -HUP "$SM_PID"
	wait_for 5 grep -q "reload failed" "$SM_LOG" || fail "not rolled back"
	wait "$CLIENT"
	read -r _ ok _ bad _ < <(tail -1 "$SM_TMP/client.out")
	[ "${bad:-x}" = 0 ] || fail "$bad requests failed: $(cat "$SM_TMP/client.out")"
	[ "${ok:-0}" -gt 10 ] || fail "only $ok requests"
	curl -s --max-time 3 "http://127.0.0.1:$PORT/" | grep -q "generation 0" || fail "generation 0 not serving"
	# The rolled-back generation used its number: the next one is 2.
	rm -f "$SM_TMP/broken"
	kill -HUP "$SM_PID"
	wait_for 5 grep -q "reload done: generation 2" "$SM_LOG" || fail "no generation 2"
	note "client: $ok requests, $bad failed across the rolled-back HUP"
	stop_master
}

# STOPPING=1 from a ready worker: its replacement starts at once, before
# the old one exits, and the exit is logged at info level.
t_planned_exit_starts_replacement_first() {
	local first started planned
	sm_start -w 1 --log-level debug -- "$PROBE" --notify READY=1 --sleep 0.5 \
		--notify STOPPING=1 --sleep 1 --exit 0
	wait_for 5 grep -q "a planned exit" "$SM_LOG" || fail "no planned exit"
	first=$(grep -m1 -o 'worker 1 (pid [0-9]*) sent STOPPING=1' "$SM_LOG" | grep -o 'pid [0-9]*')
	started=$(grep -n "started, generation 0" "$SM_LOG" | sed -n 2p | cut -d: -f1)
	planned=$(grep -n "worker 1 ($first) exited with status 0: a planned exit" "$SM_LOG" | cut -d: -f1)
	[ -n "$started" ] && [ -n "$planned" ] || fail "lines missing"
	[ "$started" -lt "$planned" ] || fail "the replacement started after the old one exited"
	grep "a planned exit" "$SM_LOG" | head -1 | grep -q "INFO:" || fail "not logged at info"
	grep -q "WARNING: worker 1 ($first)" "$SM_LOG" && fail "logged as a crash"
	stop_master
}

# --max-worker-age 2 under wrk for 20 s: every slot recycled, 0 failed
# requests, and never fewer than N workers (sampled every 0.1 s).
t_max_worker_age_under_wrk() {
	command -v wrk >/dev/null || skip "wrk not installed"
	local n=3 low=99 c errs slot
	sm_start -w "$n" --max-worker-age 2 --graceful-timeout 5 --bind 127.0.0.1:0 -- "$HELLO"
	wait_for 5 grep -q "ready, generation" "$SM_LOG" || fail "not ready"
	wait_for 5 port_known || fail "no socket"
	wrk -t2 -c8 -d20s "http://127.0.0.1:$PORT/" >"$SM_TMP/wrk.out" 2>&1 &
	local client=$!
	track "$client"
	while alive "$client"; do
		c=$(count_children "$SM_PID")
		# /proc lists the children before their programs are read: an
		# old worker may exit in between while its replacement, forked
		# after the listing, is missed.  Only a second look settles it.
		[ "$c" -lt "$n" ] && c=$(count_children "$SM_PID")
		[ "$c" -lt "$low" ] && low=$c
		sleep 0.1
	done
	wait "$client"
	errs=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$SM_TMP/wrk.out" | awk '{print $1+$2+$3+$4}')
	errs=$((${errs:-0} + $(sed -n 's/.*Non-2xx or 3xx responses: *//p' "$SM_TMP/wrk.out" | awk '{s+=$1} END{print s+0}')))
	[ "$errs" = 0 ] || fail "$errs failed requests: $(cat "$SM_TMP/wrk.out")"
	[ "$low" -ge "$n" ] || fail "only $low workers at one sample"
	for slot in $(seq 1 "$n"); do
		grep -q "worker $slot (pid [0-9]*) recycled" "$SM_LOG" || fail "slot $slot never recycled"
	done
	grep -q "WARNING: worker" "$SM_LOG" && fail "a worker warning: $(grep 'WARNING: worker' "$SM_LOG" | head -3)"
	note "$(grep -c recycled "$SM_LOG") recycled, $(sed -n 's/^Requests\/sec: *//p' "$SM_TMP/wrk.out") req/s, at least $low workers"
	stop_master
}

# --max-worker-rss: a worker whose session passes the limit is recycled.
t_max_worker_rss_recycles() {
	command -v python3 >/dev/null || skip "python3 not installed"
	sm_start -w 1 --max-worker-rss 40 -- python3 -c '
import time
block = bytearray(80 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
time.sleep(1000)'
	wait_for 15 grep -q "over --max-worker-rss 40: recycling it" "$SM_LOG" || fail "not found over the limit"
	wait_for 5 grep -q "worker 1 (pid [0-9]*) recycled" "$SM_LOG" || fail "not recycled"
	alive "$SM_PID" || fail "master died"
	stop_master
}

# STATUS= follows TTIN and a kill -9.
t_status_follows_ttin_and_kill() {
	listen
	NOTIFY_SOCKET=$NOTIFY_ADDR sm_start -w 2 --max-workers 4 -- "$PROBE"
	wait_for 5 sh -c "grep -q 'READY=1' '$NOTES'" || fail "no READY=1"
	kill -TTIN "$SM_PID"
	wait_for 5 sh -c "grep -q 'STATUS=3/3 workers ready, generation 0' '$NOTES'" ||
		fail "no 3/3: $(statuses | tr '\n' '/')"
	statuses | grep -qx "2/3 workers ready, generation 0" || fail "no 2/3 on TTIN: $(statuses | tr '\n' '/')"
	sleep 0.2
	kill -KILL "$(slot_pid 2)"
	wait_for 5 sh -c "[ \$(grep -c 'STATUS=3/3 workers ready' '$NOTES') -ge 2 ]" ||
		fail "no 3/3 after the kill: $(statuses | tr '\n' '/')"
	[ "$(statuses | grep -c '^2/3 workers ready')" -ge 2 ] || fail "the kill not shown: $(statuses | tr '\n' '/')"
	stop_master
}

# A worker's setsid grandchild ignoring TERM is gone when the master
# exits, and the port is free for the next start.
t_setsid_orphan_gone_at_stop() {
	local app="$SM_TMP/daemonizing" o
	printf '#!/bin/sh\ntrap "" TERM\nsetsid sleep 1000 &\necho $! >>"%s"\nexec sleep 1000\n' "$SM_TMP/orphans" >"$app"
	chmod 755 "$app"
	sm_start -w 2 --graceful-timeout 1 --bind 127.0.0.1:0 -- "$app"
	wait_for 5 port_known || fail "no socket"
	wait_for 5 sh -c "[ \$(wc -l <'$SM_TMP/orphans' 2>/dev/null || echo 0) -ge 2 ]" || fail "no orphans"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit"
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE"
	for o in $(cat "$SM_TMP/orphans"); do
		gone "$o" || fail "orphan $o outlived the master"
		grep -q "orphan pid $o (sleep)" "$SM_LOG" || fail "orphan $o not named in the log"
	done
	ss -ltnH | awk '{print $4}' | grep -q ":$PORT\$" && fail "port $PORT still held"
	sm_start -w 1 --bind "127.0.0.1:$PORT" -- "$HELLO"
	wait_for 5 grep -q "workers\? ready" "$SM_LOG" || fail "the next start failed: $(cat "$SM_LOG")"
	stop_master
}

# The re-read `workers` is the new generation's size from its start.
t_config_workers_after_ttin_and_hup() {
	printf 'workers = 2\nmax-workers = 6\n' >"$SM_TMP/app.ini"
	sm_start --config "$SM_TMP/app.ini" -- "$PROBE"
	wait_for 5 grep -q "2 workers ready" "$SM_LOG" || fail "not ready"
	kill -TTIN "$SM_PID"
	wait_for 5 has_children "$SM_PID" 3 || fail "TTIN: not 3"
	kill -HUP "$SM_PID"
	wait_for 5 grep -q "reload: starting generation 1 with 2 workers" "$SM_LOG" ||
		fail "the new generation does not start at 2: $(grep reload "$SM_LOG")"
	wait_for 5 grep -q "reload done: generation 1 serving with 2 workers" "$SM_LOG" || fail "no reload done"
	wait_for 5 has_children "$SM_PID" 2 || fail "$(count_children "$SM_PID") workers after the reload"
	# A TTIN at --max-workers says it is capped.
	for _ in 1 2 3 4 5; do kill -TTIN "$SM_PID"; sleep 0.05; done
	wait_for 5 grep -q "TTIN: 7 workers wanted, capped at --max-workers 6" "$SM_LOG" || fail "no capped line"
	stop_master
}

# A setting a reload cannot change is named once, and the rest applies.
t_fixed_setting_changed_is_named() {
	printf 'workers = 1\nbacklog = 100\n' >"$SM_TMP/fixed.ini"
	sm_start --config "$SM_TMP/fixed.ini" -- "$PROBE"
	wait_for 5 grep -q "1 worker ready" "$SM_LOG" || fail "not ready"
	printf 'workers = 2\nbacklog = 200\n' >"$SM_TMP/fixed.ini"
	kill -HUP "$SM_PID"
	wait_for 5 grep -q "reload done" "$SM_LOG" || fail "no reload"
	[ "$(grep -c '`backlog` changed in the config: takes effect at the next start' "$SM_LOG")" = 1 ] ||
		fail "no single warning: $(grep -i backlog "$SM_LOG")"
	grep -q '`workers` changed' "$SM_LOG" && fail "a reloadable setting was named"
	wait_for 5 has_children "$SM_PID" 2 || fail "workers = 2 not applied"
	stop_master
}

t_alive_not_below_ready_timeout_is_usage() {
	"$SM_BIN" --ready alive:5 --ready-timeout 5 -- "$PROBE" 2>"$SM_TMP/err"
	[ "$?" = 64 ] || fail "exit $?, want 64"
	grep -q -- "--ready: alive:5 is not below --ready-timeout 5" "$SM_TMP/err" || fail "$(cat "$SM_TMP/err")"
}

run_tests "$@"
