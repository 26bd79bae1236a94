#!/bin/bash
# Reload on HUP: generations under a client, failed reloads and invalid
# configs keep the old generation, --ready notify, --ready-timeout and the
# watchdog of --timeout.
. "$(dirname "$0")/lib.sh"
HELLO="${SM_EXAMPLES:?SM_EXAMPLES must point to the built examples}/hello-http/hello-http"

# worker_pids: the master's children, sorted, on one line.
worker_pids() { children "$SM_PID" | sort -n | tr '\n' ' '; }

t_hup_every_half_second_loses_no_request() {
	sm_start -w 2 --ready notify --ready-timeout 10 --graceful-timeout 5 \
		--bind 127.0.0.1:0 -- "$HELLO"
	wait_for 5 port_known || fail "master holds no listening socket"
	wait_for 5 grep -q "ready, generation" "$SM_LOG" || fail "not ready"
	# A sequential client for 6 s, a new connection per request.
	client_loop "$PORT" 6 "$SM_TMP/client.out"
	client=$CLIENT
	for i in $(seq 1 10); do
		sleep 0.5 # deliberate: a HUP every half second under the client
		kill -HUP "$SM_PID"
	done
	wait "$client"
	cat "$SM_TMP/client.out"
	read -r _ ok _ bad _ gens < <(tail -1 "$SM_TMP/client.out")
	[ "${bad:-x}" = 0 ] || fail "$bad requests failed"
	[ "${ok:-0}" -gt 20 ] || fail "only $ok requests served"
	[ "${gens:-0}" -gt 1 ] || fail "answers came from $gens generation(s)"
	alive "$SM_PID" || fail "master died"
}

t_failed_reload_keeps_old_generation() {
	# The command fails at once when the marker file exists.
	sm_start -w 2 --ready notify --ready-timeout 5 --bind 127.0.0.1:0 -- \
		sh -c "[ -e $SM_TMP/broken ] && exit 3; exec $HELLO"
	wait_for 5 grep -q "ready, generation" "$SM_LOG" || fail "not ready"
	wait_for 5 port_known || fail "no socket"
	before=$(worker_pids)
	touch "$SM_TMP/broken"
	kill -HUP "$SM_PID"
	wait_for 10 grep -q "reload failed" "$SM_LOG" || fail "no 'reload failed' line"
	[ "$(worker_pids)" = "$before" ] || fail "workers changed: '$before' -> '$(worker_pids)'"
	curl -s --max-time 3 "http://127.0.0.1:$PORT/" | grep -q "generation 0" ||
		fail "generation 0 does not serve"
	# Fixed again: the next HUP goes through.
	rm -f "$SM_TMP/broken"
	kill -HUP "$SM_PID"
	wait_for 10 grep -q "reload done" "$SM_LOG" || fail "second reload did not finish"
	curl -s --max-time 3 "http://127.0.0.1:$PORT/" | grep -q "generation 2" ||
		fail "generation 2 does not serve"
}

t_reload_that_never_gets_ready_rolls_back() {
	sm_start -w 1 --ready notify --ready-timeout 1 -- \
		sh -c "[ -e $SM_TMP/mute ] && exec $PROBE; exec $PROBE --notify READY=1"
	wait_for 5 grep -q "ready, generation" "$SM_LOG" || fail "not ready"
	before=$(worker_pids)
	touch "$SM_TMP/mute"
	kill -HUP "$SM_PID"
	wait_for 8 grep -q "reload failed: worker 1 (pid [0-9]*) not ready after 1 s" "$SM_LOG" ||
		fail "no rollback after the ready timeout"
	wait_for 3 sh -c "[ \"\$(cat /proc/$SM_PID/task/*/children | tr ' ' '\n' | sed '/^\$/d' | sort -n | tr '\n' ' ')\" = '$before' ]" ||
		fail "old worker replaced: '$before' -> '$(worker_pids)'"
}

t_invalid_config_at_reload_changes_nothing() {
	printf '# pool\nworkers = 2\n' >"$SM_TMP/app.ini"
	sm_start --config "$SM_TMP/app.ini" -- "$PROBE"
	wait_for 5 has_children "$SM_PID" 2 || fail "2 workers did not start"
	before=$(worker_pids)
	printf '# pool\nworkers = many\n' >"$SM_TMP/app.ini"
	kill -HUP "$SM_PID"
	wait_for 5 grep -q "reload refused: $SM_TMP/app.ini:2: --workers: invalid value 'many'" "$SM_LOG" ||
		fail "no refusal naming file:line"
	sleep 0.3 # deliberate: time for a wrong reload to show
	[ "$(worker_pids)" = "$before" ] || fail "workers changed"
	grep -q "starting generation" "$SM_LOG" && fail "a generation was started"
	# A valid change applies: 3 workers of generation 1, the number the
	# refused reload did not use.
	printf '# pool\nworkers = 3\n' >"$SM_TMP/app.ini"
	kill -HUP "$SM_PID"
	wait_for 5 grep -q "reload done: generation 1" "$SM_LOG" || fail "valid reload not done"
	wait_for 5 has_children "$SM_PID" 3 || fail "not 3 workers after the reload"
}

t_ready_notify_delays_readiness() {
	sm_start -w 2 --ready notify -- "$PROBE" --sleep 1 --notify READY=1
	start=$(date +%s%N)
	wait_for 10 grep -q "ready, generation" "$SM_LOG" || fail "never ready"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$ms" -ge 900 ] || fail "ready after $ms ms, before the workers said so"
}

t_never_ready_boot_fails_69() {
	sm_start -w 1 --ready notify --ready-timeout 1 -- "$PROBE"
	wait_exit "$SM_PID" 10 || fail "master did not give up"
	[ "$EXIT_CODE" = 69 ] || fail "exit $EXIT_CODE, want 69"
	grep -q "not ready after 1 s" "$SM_LOG" || fail "reason missing"
}

t_watchdog_kills_a_stopped_worker() {
	sm_start -w 1 --timeout 1 -- "$PROBE" --ping 0.2
	wait_for 5 has_children "$SM_PID" 1 || fail "no worker"
	old=$(worker_pids)
	# Past the worker's first WATCHDOG=1 (it pings every 0.2 s).
	wait_for 5 workers_aged 0.5 || fail "worker not past its first ping"
	kill -STOP $old
	wait_for 6 sh -c "! kill -0 $old 2>/dev/null || grep -q '^State:.*Z' /proc/$old/status" ||
		fail "stopped worker $old not killed"
	grep -q "sent no WATCHDOG=1 for 1 s" "$SM_LOG" || fail "no watchdog line"
	wait_for 5 sh -c "[ -n \"\$(cat /proc/$SM_PID/task/*/children)\" ] && [ \"\$(cat /proc/$SM_PID/task/*/children | tr -d ' ')\" != '$(echo $old)' ]" ||
		fail "worker not replaced"
}

# hello-http on TERM: no new connections, but a request already begun is
# answered (with Connection: close) before the worker exits.
t_hello_http_finishes_request_in_flight() {
	sm_start -w 1 --ready notify --graceful-timeout 10 --bind 127.0.0.1:0 -- "$HELLO"
	wait_for 5 grep -q "ready, generation" "$SM_LOG" || fail "not ready"
	wait_for 5 port_known || fail "no socket"
	python3 - "$PORT" "$SM_PID" >"$SM_TMP/inflight.out" 2>&1 <<'PY'
import os, signal, socket, sys, time
port, master = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
time.sleep(0.3)                      # accepted by the worker, head not complete
os.kill(master, signal.SIGTERM)
time.sleep(0.3)
s.sendall(b"\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode(errors="replace"))
PY
	grep -q "^HTTP/1.1 200 OK" "$SM_TMP/inflight.out" || fail "no answer: $(cat "$SM_TMP/inflight.out")"
	grep -qi "^Connection: close" "$SM_TMP/inflight.out" || fail "not told to close"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
	[ "$EXIT_CODE" = 0 ] || fail "exit code $EXIT_CODE"
	grep -q "sending KILL" "$SM_LOG" && fail "worker had to be killed"
	return 0
}

# Sockets are bound once, before the drop: a new --bind at reload is
# reported, the new generation serves on the sockets bound at start.
t_changed_bind_at_reload_keeps_sockets() {
	printf 'bind = 127.0.0.1:0\n' >"$SM_TMP/bind.ini"
	sm_start --config "$SM_TMP/bind.ini" -w 1 -- "$HELLO"
	wait_for 5 grep -q "ready, generation" "$SM_LOG" || fail "not ready"
	wait_for 5 port_known || fail "no socket"
	printf 'bind = unix:%s/new.sock\n' "$SM_TMP" >"$SM_TMP/bind.ini"
	kill -HUP "$SM_PID"
	wait_for 5 grep -q "reload done: generation 1" "$SM_LOG" || fail "reload not done"
	[ "$(grep -c '`bind` changed in the config: takes effect at the next start' "$SM_LOG")" = 1 ] ||
		fail "changed --bind not reported once"
	[ ! -e "$SM_TMP/new.sock" ] || fail "a new socket was bound at reload"
	curl -s --max-time 3 "http://127.0.0.1:$PORT/" | grep -q "generation 1" ||
		fail "generation 1 not serving on the old socket"
}

run_tests "$@"
