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

run_tests "$@"
