#!/bin/bash
# Real servers under the master, as the recipes of examples/ run them:
# uvicorn, gunicorn, Node and Flask (through gunicorn), 4 workers on a
# loopback port, as a service user.  A sequential client (keep-alive off)
# counts its failed requests across a HUP (none), a kill -9 of one worker
# (at most the one request in flight on it) and the TERM that stops the
# master (exit 0 within a few seconds).  Also measures, without asserting,
# uvicorn's req/s on the master's socket against uvicorn on its own.
. "$(dirname "$0")/lib.sh"
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
APP_USER=smapps
APP_UID=4761
# The apps are read from the copy the test users reach; neither they nor
# root may leave __pycache__ there (nor in the checkout).
export PYTHONDONTWRITEBYTECODE=1

# The client: one request per connection until the phase file says "stop"
# (or 90 s, or 50,000 requests, whichever comes first), each request
# counted under the phase the file names when it starts.  After every
# request it rewrites COUNTS: one line "phase ok failed generations" per
# phase, generations being those that answered, sorted and joined by ",".
CLIENT_PY='
import http.client, os, sys, time
port, phase_file, counts = int(sys.argv[1]), sys.argv[2], sys.argv[3]
stats, order = {}, []
end, n = time.monotonic() + 90, 0
while time.monotonic() < end and n < 50000:
    with open(phase_file) as f:
        phase = f.read().strip()
    if phase == "stop":
        break
    if phase not in stats:
        stats[phase] = [0, 0, set()]
        order.append(phase)
    s = stats[phase]
    n += 1
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/", headers={"Connection": "close"})
        r = c.getresponse()
        body = r.read().decode(errors="replace")
        c.close()
        if r.status == 200 and body.startswith("hello from worker"):
            s[0] += 1
            s[2].add(body.split()[5])
        else:
            s[1] += 1
            print(phase, "status", r.status, body[:100].strip(), flush=True)
    except Exception as e:
        s[1] += 1
        print(phase, "error:", repr(e), flush=True)
    with open(counts + ".tmp", "w") as f:
        for p in order:
            ok, bad, gens = stats[p]
            f.write("%s %d %d %s\n" % (p, ok, bad, ",".join(sorted(gens)) or "-"))
    os.rename(counts + ".tmp", counts)
'

# need_cmd CMD...: skip the test unless every CMD is installed.
need_cmd() {
	local c
	for c in "$@"; do command -v "$c" >/dev/null || skip "$c not installed (make test-deps installs it)"; done
}

# phase NAME: the client's next requests count under NAME (written whole:
# the client must never read a half-written name).
phase() { echo "$1" >"$SM_TMP/phase.new" && mv "$SM_TMP/phase.new" "$SM_TMP/phase"; }

# client_state: what the client counted and its last complaints, for a failure message.
client_state() { echo "client counts (phase answered failed generations):"; cat "$SM_TMP/counts" 2>/dev/null; tail -5 "$SM_TMP/client.out"; }

# counts PHASE: "ok failed generations" of PHASE so far (empty before its first request).
counts() { awk -v p="$1" '$1 == p {print $2, $3, $4}' "$SM_TMP/counts" 2>/dev/null; }

# answered PHASE N: at least N requests of PHASE were answered.
answered() { local c; c=$(counts "$1"); [ "${c%% *}" -ge "$2" ] 2>/dev/null; }

# generation_answered PHASE GEN: a worker of generation GEN answered in PHASE.
generation_answered() { counts "$1" | awk -v g="$2" '{n = split($3, a, ","); for (i = 1; i <= n; i++) if (a[i] == g) f = 1} END {exit !f}'; }

# none_alive PID...: every PID is gone.
none_alive() { local p; for p in "$@"; do alive "$p" && return 1; done; return 0; }

# replaced OLD: the master has 4 workers again and OLD is not one of them.
replaced() { has_children "$SM_PID" 4 && ! children "$SM_PID" | grep -qx "$1"; }

# serve_app NAME [LOG]: with the master SM_PID (4 workers) serving HTTP and
# writing its lines to LOG (default SM_LOG), run the client through "warm"
# (the workers come up), "hup" (a reload until every old worker is gone and
# generation 1 answers) and "kill9" (one worker killed and replaced), check
# the failures of each, then TERM the master.
serve_app() {
	local name=$1 log=${2:-$SM_LOG} old victim client t0 t1 c
	# bail WHY: fail with what the client saw so far.
	bail() { fail "$name: $*
$(client_state)"; }
	wait_for 10 port_known || bail "master holds no listening socket"
	rm -f "$SM_TMP/counts" # a previous test's counts would satisfy the waits below
	phase warm
	python3 -c "$CLIENT_PY" "$PORT" "$SM_TMP/phase" "$SM_TMP/counts" >"$SM_TMP/client.out" 2>&1 &
	client=$!
	track "$client"
	wait_for 30 answered warm 10 || bail "fewer than 10 answers in 30 s"
	wait_for 10 has_children "$SM_PID" 4 || bail "not 4 workers"
	# A gunicorn worker that gets TERM between its fork and installing its
	# handlers loses it, and its arbiter then waits for it up to its own
	# graceful timeout: the HUP comes once every app process is past its boot.
	wait_for 20 workers_aged 1 || bail "workers not past their boot"

	old=$(children "$SM_PID")
	phase hup
	kill -HUP "$SM_PID"
	wait_for 20 grep -q "reload done: generation 1" "$log" || bail "reload not done"
	# shellcheck disable=SC2086 # one pid per word
	wait_for 30 none_alive $old || bail "the old generation is still running"
	wait_for 20 generation_answered hup 1 || bail "generation 1 never answered"
	c=$(counts hup)
	wait_for 10 answered hup $((${c%% *} + 10)) || bail "no answers after the reload"

	phase kill9
	victim=$(children "$SM_PID" | head -1)
	kill -KILL "$victim"
	wait_for 10 replaced "$victim" || bail "worker $victim not replaced"
	c=$(counts kill9)
	wait_for 20 answered kill9 $((${c%% *} + 20)) || bail "no answers after the kill"
	phase stop
	wait "$client"
	wait_for 20 workers_aged 1 || bail "the replacement is not past its boot"

	t0=$(date +%s%N)
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || bail "master still running 10 s after TERM"
	t1=$(date +%s%N)
	[ "$EXIT_CODE" = 0 ] || bail "exit code $EXIT_CODE after TERM"
	grep -q "sending KILL" "$log" && bail "a worker had to be killed: $(grep -B3 -A3 "sending KILL" "$log")"

	note "$name: failed/answered requests: warm-up $(counts warm | awk '{print $2 "/" $1}')," \
		"HUP $(counts hup | awk '{print $2 "/" $1}'), kill -9 $(counts kill9 | awk '{print $2 "/" $1}');" \
		"TERM: exit 0 in $(((t1 - t0) / 1000000)) ms"
	# A slow stop is shown with the lines that explain it.
	[ $((t1 - t0)) -lt 2000000000 ] ||
		sed -n '/TERM: graceful shutdown/,$p' "$log" | grep -v 'GET /' | head -15 | sed 's/^/note:   /'
	cat "$SM_TMP/client.out"
	[ "$(counts warm | cut -d' ' -f2)" = 0 ] || bail "requests failed while the workers started"
	# uvicorn's shutdown closes every connection whose request it has not
	# read yet, one it accepted an instant before its stop signal included:
	# that client sees the connection closed without an answer.  No
	# supervisor can take such a connection back, so for uvicorn one such
	# close (the sequential client has one request in flight) is allowed,
	# and nothing else; gunicorn and Node finish what they accepted.
	local hup_failed allowed=0
	hup_failed=$(counts hup | cut -d' ' -f2)
	[ "$name" = uvicorn ] && grep -q 'hup error: RemoteDisconnected' "$SM_TMP/client.out" && allowed=1
	[ "$hup_failed" -le "$allowed" ] || bail "requests failed across the HUP"
	[ "$hup_failed" = 0 ] || note "$name: $hup_failed request closed unanswered by uvicorn's own shutdown"
	[ "$(counts kill9 | cut -d' ' -f2)" -le 1 ] || bail "more than the one request in flight failed at kill -9"
	return 0
}

# uids_of PID: the real uid of PID and of every process below it, one a line.
uids_of() {
	local c
	status_field "$1" Uid | awk '{print $1}'
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do uids_of "$c"; done
}

# all_run_as_app_user: master and every worker process run as APP_USER.
all_run_as_app_user() {
	local bad
	bad=$(uids_of "$SM_PID" | grep -vx "$APP_UID" | sort -u)
	[ -z "$bad" ] || fail "processes run as uid $bad, not $APP_UID"
}

t_uvicorn_fd3() {
	need_root
	need_cmd uvicorn
	ensure_user "$APP_USER" "$APP_UID"
	sm_start -w 4 --user "$APP_USER" --bind 127.0.0.1:0 --graceful-timeout 10 \
		--chdir "$SM_EXAMPLE_SRC/uvicorn" -- uvicorn --fd 3 app:app
	wait_for 10 has_children "$SM_PID" 4 || fail "not 4 workers"
	all_run_as_app_user
	serve_app uvicorn
}

t_gunicorn_adopts_listen_fds() {
	need_root
	need_cmd gunicorn
	ensure_user "$APP_USER" "$APP_UID"
	sm_start -w 4 --user "$APP_USER" --bind 127.0.0.1:0 --graceful-timeout 10 \
		--chdir "$SM_EXAMPLE_SRC/gunicorn" -- gunicorn app:app
	wait_for 10 has_children "$SM_PID" 4 || fail "not 4 workers"
	all_run_as_app_user
	serve_app gunicorn
	grep -q "Listening at: http://127.0.0.1:$PORT" "$SM_LOG" || fail "gunicorn did not take the master's socket"
}

# What the gunicorn recipe warns of: `--bind fd://3` on top of LISTEN_FDS
# makes gunicorn close descriptor 3 and fail; the master says so at start.
t_gunicorn_bind_fd_fails_as_the_recipe_says() {
	need_root
	need_cmd gunicorn
	sm_start -w 1 --bind 127.0.0.1:0 --chdir "$SM_EXAMPLE_SRC/gunicorn" -- gunicorn --bind fd://3 app:app
	wait_exit "$SM_PID" 30 || fail "master still running"
	[ "$EXIT_CODE" = 69 ] || fail "exit code $EXIT_CODE, expected 69"
	grep -q "Bad file descriptor" "$SM_LOG" || fail "gunicorn did not fail with EBADF: $(tail -5 "$SM_LOG")"
}

t_node_listen_fd3() {
	need_root
	need_cmd node
	ensure_user "$APP_USER" "$APP_UID"
	sm_start -w 4 --user "$APP_USER" --bind 127.0.0.1:0 --graceful-timeout 10 \
		-- node "$SM_EXAMPLE_SRC/node/server.js"
	wait_for 10 has_children "$SM_PID" 4 || fail "not 4 workers"
	all_run_as_app_user
	serve_app node
}

# Flask through gunicorn as the service user: root creates the log
# directory and gives it to the user; every line lands in the log file,
# which the user owns.
t_flask_gunicorn_user_and_log_file() {
	need_root
	need_cmd gunicorn
	/usr/bin/python3 -c 'import flask' 2>/dev/null || skip "python3-flask not installed (make test-deps installs it)"
	ensure_user "$APP_USER" "$APP_UID"
	local logs="$SM_TMP/flask/log"
	sm_start -w 4 --user "$APP_USER" --chown "$logs" --log-file "$logs/app.log" \
		--bind 127.0.0.1:0 --graceful-timeout 10 --chdir "$SM_EXAMPLE_SRC/flask" -- gunicorn app:app
	wait_for 10 has_children "$SM_PID" 4 || fail "not 4 workers"
	all_run_as_app_user
	[ "$(stat -c %U "$logs")" = "$APP_USER" ] || fail "log directory owned by $(stat -c %U "$logs")"
	[ "$(stat -c %U "$logs/app.log")" = "$APP_USER" ] || fail "log file owned by $(stat -c %U "$logs/app.log")"
	serve_app flask "$logs/app.log"
	grep -Eq ' worker [1-4]\[[0-9]+\] stderr: .*Booting worker with pid' "$logs/app.log" ||
		fail "gunicorn's lines are not in the log file: $(tail -5 "$logs/app.log")"
	grep -q "exiting" "$logs/app.log" || fail "no master lines in the log file"
}

# wrk_rps URL: req/s of `wrk -t2 -c16 -d5s URL`.
wrk_rps() { wrk -t2 -c16 -d5s "$1" 2>/dev/null | awk '/^Requests\/sec:/ {print $2}'; }

# A figure, not an assertion: one uvicorn worker on the master's socket
# (`uvicorn --fd 3`) against the same uvicorn binding its own port.
t_uvicorn_fd3_req_per_s() {
	need_root
	need_cmd uvicorn wrk
	local own own_port fd3 uv
	sm_start -w 1 --bind 127.0.0.1:0 --chdir "$SM_EXAMPLE_SRC/uvicorn" -- \
		uvicorn --fd 3 --no-access-log app:app
	wait_for 10 port_known || fail "master holds no listening socket"
	wait_for 20 curl -sf -o /dev/null "http://127.0.0.1:$PORT/" || fail "uvicorn --fd 3 does not answer"
	fd3=$(wrk_rps "http://127.0.0.1:$PORT/")
	stop_master
	(cd "$SM_EXAMPLE_SRC/uvicorn" && exec setsid uvicorn --host 127.0.0.1 --port 0 --no-access-log app:app) \
		>"$SM_TMP/uvicorn-own.log" 2>&1 &
	uv=$!
	track "$uv"
	wait_for 20 sh -c "ss -ltnpH | grep -q 'pid=$uv,'" || fail "uvicorn bound no port: $(tail -3 "$SM_TMP/uvicorn-own.log")"
	own_port=$(master_port "$uv")
	wait_for 20 curl -sf -o /dev/null "http://127.0.0.1:$own_port/" || fail "uvicorn on its own does not answer"
	own=$(wrk_rps "http://127.0.0.1:$own_port/")
	if [ -z "$fd3" ] || [ -z "$own" ]; then fail "wrk printed no figure (fd 3: '$fd3', own port: '$own')"; fi
	note "uvicorn, 1 process, wrk -t2 -c16 -d5s: --fd 3 under the master $fd3 req/s," \
		"own port $own req/s ($(awk "BEGIN {printf \"%.2f\", $fd3 / $own}")x)"
}

run_tests "$@"
