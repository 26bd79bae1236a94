#!/bin/bash
# Logs (SPEC §6): capture through the master, line formats, reopen on USR1
# with mv and with logrotate, a full disk.
. "$(dirname "$0")/lib.sh"
LINES="$SM_HELPERS/lines"
ROTATE_CONF="$SM_EXAMPLE_SRC/logrotate/sentrik-master"
TEST_USER=smlogs
TEST_UID=4731

# worker_lines FILE...: how many worker lines the files hold so far.
worker_lines() { zcat -f "$@" 2>/dev/null | grep -c ' worker [0-9]*\[' ; }

# sm_start_as USER ARGS...: the master started by USER (the service user's
# view: the log file is opened and reopened with USER's rights).
sm_start_as() {
	local u=$1
	shift
	SM_BIN=setpriv sm_start --reuid="$(id -u "$u")" --regid="$(id -g "$u")" \
		--clear-groups "$SM_BIN" "$@"
}

t_text_format_pieces_and_last_line() {
	local f="$SM_TMP/text.log" pid
	sm_start -w 1 --log-file "$f" -- "$LINES" --count 3 --long 20480 --tail "no newline" --hold
	wait_for 5 grep -q 'stdout+: ' "$f" || fail "no piece in $f"
	wait_for 5 sh -c "[ \$(grep -c ' worker 1\[' $f) -ge 5 ]" || fail "lines missing"
	grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z sentrik-master\['"$SM_PID"'\] INFO: starting 1 worker ' "$f" ||
		fail "master line format: $(head -1 "$f")"
	pid=$(children "$SM_PID" | head -1)
	grep -Eq '^[0-9T:.-]{23}Z worker 1\['"$pid"'\] stdout: w1 00000003 \.+$' "$f" ||
		fail "worker line format: $(grep -m1 worker "$f" | cut -c1-120)"
	# 20 KiB: one 16 KiB piece marked stdout+, then the rest.
	[ "$(grep 'stdout+: ' "$f" | sed 's/^.*stdout+: //' | awk '{ print length($0) }')" = 16384 ] ||
		fail "first piece is not 16384 bytes"
	[ "$(grep -A1 'stdout+: ' "$f" | tail -1 | sed 's/^.*stdout: //' | awk '{ print length($0) }')" = 4096 ] ||
		fail "the rest is not 4096 bytes"
	grep -q 'stdout: no newline' "$f" && fail "unterminated line written before the worker ended"
	# The worker holds its two pipe ends, never the log file or a read end.
	[ "$(readlink /proc/"$pid"/fd/1 | cut -d: -f1)" = pipe ] || fail "worker stdout is not a pipe"
	ls -l /proc/"$pid"/fd | grep -q "$f" && fail "the log file leaked into the worker"
	[ "$(ls /proc/"$pid"/fd | wc -l)" -le 3 ] || fail "worker holds extra descriptors: $(ls -l /proc/"$pid"/fd)"
	stop_master
	grep -q "worker 1\[$pid\] stdout: no newline\$" "$f" || fail "last line without newline lost"
	[ "$(grep -n 'stdout: no newline' "$f" | cut -d: -f1)" -lt "$(grep -n "(pid $pid) was killed" "$f" | cut -d: -f1)" ] ||
		fail "the worker's last line comes after its exit line"
}

t_final_line_flushed_when_worker_exits() {
	local f="$SM_TMP/exit.log"
	# The worker writes its line without newline and exits on its own.
	sm_start -w 1 --log-file "$f" -- /bin/sh -c 'printf "first\nbye without newline"; exec sleep 1.5'
	wait_for 5 grep -q 'stdout: bye without newline$' "$f" || fail "final line not flushed at exit"
	grep -q 'stdout: first$' "$f" || fail "first line missing"
	stop_master
}

t_stderr_is_captured_and_not_mixed() {
	local f="$SM_TMP/both.log"
	sm_start -w 2 --log-file "$f" -- "$LINES" --count 2000 --batch 7 --fd 2 --done "$SM_TMP/both.done" --hold
	wait_for 10 sh -c "[ \$(cat $SM_TMP/both.done 2>/dev/null | wc -l) -eq 2 ]" || fail "workers did not finish"
	wait_for 5 sh -c "[ \$(grep -c 'stderr: ' $f) -eq 4000 ]" || fail "stderr lines: $(grep -c 'stderr: ' "$f")"
	[ "$(grep -c 'stderr: ' "$f" | head -1)" = "$(grep -Ec '^[^ ]+ worker [12]\[[0-9]+\] stderr: w[12] [0-9]{8} \.{87}$' "$f")" ] ||
		fail "a stderr line is mixed or cut"
	stop_master
}

t_fatal_start_error_reaches_the_log_file() {
	local f="$SM_TMP/fatal.log"
	sm_start -w 1 --log-file "$f" -- "$SM_TMP/no-such-app"
	wait_exit "$SM_PID" 5 || fail "master did not exit"
	[ "$EXIT_CODE" = 69 ] || fail "exit code $EXIT_CODE"
	grep -q "FATAL: cannot execute '$SM_TMP/no-such-app': No such file or directory" "$f" ||
		fail "no FATAL line in the log file: $(cat "$f")"
}

t_reload_captures_both_generations() {
	local f="$SM_TMP/reload.log" pids
	sm_start -w 2 --log-file "$f" -- "$LINES" --count 5 --hold
	wait_for 5 sh -c "[ \$(grep -c ' stdout: w' $f) -eq 10 ]" || fail "first generation lines"
	local before=$(ls -l /proc/"$SM_PID"/fd | grep -c pipe:)
	kill -HUP "$SM_PID"
	wait_for 10 grep -q 'reload done' "$f" || fail "no reload"
	wait_for 5 sh -c "[ \$(grep -c ' stdout: w' $f) -eq 20 ]" || fail "second generation lines"
	pids=$(sed -n 's/.* worker [12]\[\([0-9]*\)\] stdout: .*/\1/p' "$f" | sort -u | wc -l)
	[ "$pids" = 4 ] || fail "lines from $pids worker pids, expected 4"
	# The old generation's pipes are closed once its workers are gone.
	wait_for 5 sh -c "[ \$(ls -l /proc/$SM_PID/fd | grep -c pipe:) -eq $before ]" ||
		fail "master holds $(ls -l /proc/"$SM_PID"/fd | grep -c pipe:) pipes, $before before the reload"
	stop_master
}

t_no_capture_workers_inherit() {
	local w
	sm_start -w 1 -- "$PROBE"
	wait_for 5 has_children "$SM_PID" 1 || fail "no worker"
	w=$(children "$SM_PID")
	[ "$(readlink /proc/"$w"/fd/1)" = "$(readlink /proc/"$SM_PID"/fd/1)" ] || fail "stdout not inherited"
	[ "$(readlink /proc/"$w"/fd/2)" = "$(readlink /proc/"$SM_PID"/fd/2)" ] || fail "stderr not inherited"
	stop_master
}

t_json_lines_parse() {
	local f="$SM_TMP/json.log"
	sm_start -w 2 --log-file "$f" --log-format json -- /bin/sh -c \
		'printf "bad \377\376 utf8 \001 ctl \"quoted\" back\\\\slash\r\n" >&2; exec "$0" --count 5 --long 20000 --hold' "$LINES"
	wait_for 5 sh -c "[ \$(grep -c '\"partial\":true' $f) -eq 2 ]" || fail "no partial pieces"
	wait_for 5 sh -c "[ \$(grep -c '\"stream\":\"stderr\"' $f) -eq 2 ]" || fail "no stderr lines"
	stop_master
	python3 - "$f" <<'PY' || fail "JSON check failed"
import json, sys
n = {"master": 0, "worker": 0, "partial": 0}
with open(sys.argv[1], "rb") as fh:
    for raw in fh:
        rec = json.loads(raw.decode("utf-8"))  # raises on invalid UTF-8 or JSON
        n[rec["source"]] += 1
        assert isinstance(rec["ts"], str) and rec["ts"].endswith("Z"), rec
        assert isinstance(rec["pid"], int), rec
        if rec["source"] == "master":
            assert "worker" not in rec and rec["level"] in ("debug", "info", "warning", "error", "fatal"), rec
        else:
            assert rec["stream"] in ("stdout", "stderr") and rec["worker"] in (1, 2), rec
            if rec.get("partial"):
                n["partial"] += 1
                assert len(rec["msg"]) == 16384, len(rec["msg"])
            if rec["stream"] == "stderr":
                assert rec["msg"] == 'bad \ufffd\ufffd utf8 \x01 ctl "quoted" back\\slash', repr(rec["msg"])
assert n["master"] >= 3 and n["worker"] == 2 * (5 + 2 + 1) and n["partial"] == 2, n
PY
}

t_usr1_reopen_failure_keeps_old_file() {
	local d="$SM_TMP/gone" f
	mkdir -p "$d"
	f="$d/app.log"
	sm_start -w 1 --log-file "$f" -- "$LINES" --count 100000 --delay-us 2000
	wait_for 5 grep -q ' worker 1\[' "$f" || fail "no worker line"
	mv "$d" "$d.moved"
	kill -USR1 "$SM_PID"
	wait_for 5 grep -q "ERROR: USR1: cannot reopen log file '$f', keeping the old one: No such file or directory" "$d.moved/app.log" ||
		fail "no reopen error in the old file"
	local before=$(worker_lines "$d.moved/app.log")
	wait_for 5 sh -c "[ \$(grep -c ' worker 1\[' $d.moved/app.log) -gt $((before + 10)) ]" || fail "old file no longer written"
	alive "$SM_PID" || fail "master died"
	[ ! -e "$f" ] || fail "a new file appeared"
	stop_master
}

# 4 workers x 10,000 lines; the file is moved away and USR1 sent while
# they write.  Every line exactly once across the files, none cut.
t_usr1_mv_rotation_as_service_user() {
	need_root
	ensure_user "$TEST_USER" "$TEST_UID"
	local d="$SM_TMP/mv" i r
	mkdir -p "$d" && chown "$TEST_USER:$TEST_USER" "$d"
	sm_start_as "$TEST_USER" -w 4 --log-file "$d/app.log" -- "$LINES" --count 10000 --delay-us 150 \
		--done "$d/done" --hold
	wait_for 5 test -s "$d/app.log" || fail "no log file"
	for i in 1 2 3 4 5; do
		sleep 0.25 # deliberate: the renames are spread over the writing
		mv "$d/app.log" "$d/app.log.$i"
		kill -USR1 "$SM_PID"
		wait_for 5 test -e "$d/app.log" || fail "USR1 did not create a new file"
	done
	wait_for 30 sh -c "[ \$(cat $d/done 2>/dev/null | wc -l) -eq 4 ]" || fail "workers did not finish"
	wait_for 10 sh -c "[ \$(cat $d/app.log* | grep -c ' worker [0-9]*\[') -ge 40000 ]" || fail "lines missing"
	stop_master
	r=$(audit 10000 4 "$d"/app.log*)
	[ "$r" = "40000 0 0 0 0" ] || fail "lines dups cut missing runs: $r"
	for i in 1 2 3 4 5; do
		[ "$(worker_lines "$d/app.log.$i")" -gt 0 ] || fail "rotation $i: the old file got no lines"
	done
	[ "$(stat -c %U "$d/app.log")" = "$TEST_USER" ] || fail "new file owned by $(stat -c %U "$d/app.log")"
	grep -q "USR1: log file '$d/app.log' reopened" "$d/app.log" || fail "no reopen line"
}

# rotate_with MODE: the shipped logrotate file in MODE (create or
# copytruncate), forced three times while 4 workers write 10,000 lines.
rotate_with() {
	local mode=$1 d="$SM_TMP/lr-$1" i
	ensure_user "$TEST_USER" "$TEST_UID"
	mkdir -p "$d/log" "$d/run" && chown "$TEST_USER:$TEST_USER" "$d/log" "$d/run"
	sed -e "s|/var/log/app/|$d/log/|" -e "s|/run/app/master.pid|$d/run/master.pid|g" \
		-e "s|^\tsu app app\$|\tsu $TEST_USER $TEST_USER|" -e "s|runuser -u app --|runuser -u $TEST_USER --|" \
		"$ROTATE_CONF" >"$d/conf"
	grep -q "^	su $TEST_USER $TEST_USER$" "$d/conf" && grep -q "runuser -u $TEST_USER -- " "$d/conf" ||
		fail "shipped config does not rotate and signal as the service user: $(grep -v '^#' "$d/conf")"
	grep -v '^#' "$d/conf" | grep -E '/app/| app( |$)' && fail "a path or user of the example is left"
	[ "$mode" = copytruncate ] && sed -i 's/^\tcreate 0640$/\tcopytruncate/' "$d/conf"
	grep -q "^	$mode" "$d/conf" || fail "shipped config has no '$mode' line to use"
	chmod 644 "$d/conf"
	sm_start_as "$TEST_USER" -w 4 --log-file "$d/log/app.log" -- "$LINES" --count 10000 --delay-us 150 \
		--done "$d/run/done" --hold
	echo "$SM_PID" >"$d/run/master.pid"
	wait_for 5 test -s "$d/log/app.log" || fail "no log file"
	for i in 1 2 3; do
		sleep 0.3 # deliberate: the rotations are spread over the writing
		logrotate -f -s "$d/state" "$d/conf" || fail "logrotate failed"
	done
	wait_for 30 sh -c "[ \$(cat $d/run/done 2>/dev/null | wc -l) -eq 4 ]" || fail "workers did not finish"
	sleep 0.5 # deliberate: a last rotation window after the writing, before the stop
	stop_master
	ls "$d/log" | grep -q 'app.log.2.gz' || fail "logrotate did not rotate: $(ls "$d/log")"
	R=$(audit 10000 4 "$d"/log/app.log*)
	NULS=$(zcat -f "$d"/log/app.log* | tr -cd '\000' | wc -c)
	OWNER=$(stat -c %U "$d/log/app.log")
}

t_logrotate_create() {
	need_root
	rotate_with create
	[ "$R" = "40000 0 0 0 0" ] || fail "lines dups cut missing runs: $R"
	[ "$OWNER" = "$TEST_USER" ] || fail "new file owned by $OWNER"
	[ "$NULS" = 0 ] || fail "$NULS NUL bytes"
}

t_logrotate_copytruncate() {
	need_root
	rotate_with copytruncate
	local lines dups cut missing runs
	read -r lines dups cut missing runs <<<"$R"
	[ "$dups" = 0 ] && [ "$cut" = 0 ] || fail "lines dups cut missing runs: $R"
	[ "$NULS" = 0 ] || fail "$NULS NUL bytes after copytruncate"
	# Only the window between copy and truncate may be lost: per worker,
	# at most one run of missing lines per rotation.
	[ "$runs" -le $((3 * 4)) ] || fail "lost lines in $runs windows (3 rotations): $R"
	[ "$lines" -gt 30000 ] || fail "lost too much: $R"
	[ "$OWNER" = "$TEST_USER" ] || fail "file owned by $OWNER"
}

# Back-pressure: standard error is a pipe whose reader does not read yet.
# The workers must wait in their pipes, the master stay small and keep
# serving signals, and every line arrive once the reader reads.
t_slow_pipe_sink_backpressure() {
	local d="$SM_TMP/slow" rss reader
	mkdir -p "$d"
	mkfifo "$d/fifo"
	sh -c 'sleep 3; exec cat' <"$d/fifo" >"$d/out" &
	reader=$!
	track "$reader"
	SM_BIN=sh sm_start -c 'exec "$0" "$@" 2>"'"$d/fifo"'"' "$SM_BIN" -w 2 --capture-output -- \
		"$LINES" --count 20000 --done "$d/done" --hold
	wait_for 5 has_children "$SM_PID" 2 || fail "no workers"
	sleep 1 # deliberate: a second of a sink nobody reads
	[ ! -e "$d/done" ] || fail "a worker finished writing 2 MB into a pipe nobody reads"
	kill -TTIN "$SM_PID"
	wait_for 1.5 has_children "$SM_PID" 3 || fail "master did not serve TTIN while the sink was full"
	rss=$(status_field "$SM_PID" VmRSS | awk '{ print $1 }')
	[ "$rss" -lt 16384 ] || fail "master RSS $rss kB while the sink is full"
	wait_for 30 sh -c "[ \$(cat $d/done 2>/dev/null | wc -l) -eq 3 ]" || fail "workers did not finish after the reader started"
	wait_for 10 sh -c "[ \$(grep -c ' worker [0-9]*\\[' $d/out) -ge 60000 ]" || fail "lines missing: $(grep -c ' worker' "$d/out")"
	stop_master
	wait "$reader"
	r=$(audit 20000 3 "$d/out")
	[ "$r" = "60000 0 0 0 0" ] || fail "lines dups cut missing runs: $r"
	grep -q 'TTIN: 3 workers wanted' "$d/out" || fail "master lines missing"
}

# The same with a stream socket on standard error, as systemd's journal
# gives: the socket is written with MSG_DONTWAIT, the loop keeps serving.
t_slow_socket_sink_backpressure() {
	local d="$SM_TMP/sock" r
	mkdir -p "$d"
	timeout 40 python3 - "$SM_BIN" "$LINES" "$d" <<'PY' || fail "socket sink check failed"
import os, signal, socket, subprocess, sys, time
sm, lines, d = sys.argv[1:4]
def children(pid):
    out = ""
    for t in os.listdir(f"/proc/{pid}/task"):
        out += open(f"/proc/{pid}/task/{t}/children").read()
    return out.split()
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
p = subprocess.Popen([sm, "-w", "2", "--capture-output", "--", lines, "--count", "20000",
                      "--done", f"{d}/done", "--hold"], stderr=theirs, start_new_session=True)
theirs.close()
try:
    time.sleep(1.0)
    assert not os.path.exists(f"{d}/done"), "a worker wrote 2 MB into a socket nobody reads"
    os.kill(p.pid, signal.SIGTTIN)
    deadline = time.time() + 1.5
    while len(children(p.pid)) < 3:
        assert time.time() < deadline, "TTIN not served while the sink was full"
        time.sleep(0.02)
    with open(f"{d}/out", "wb") as out:
        ours.settimeout(20)
        got = b""
        while got.count(b" stdout: w") < 60000:
            chunk = ours.recv(1 << 16)
            assert chunk, "socket closed early"
            out.write(chunk)
            got += chunk
        p.send_signal(signal.SIGTERM)
        while True:
            chunk = ours.recv(1 << 16)
            if not chunk:
                break
            out.write(chunk)
    assert p.wait(10) == 0
finally:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
PY
	r=$(audit 20000 3 "$d/out")
	[ "$r" = "60000 0 0 0 0" ] || fail "lines dups cut missing runs: $r"
}

# A full disk: a 1 MiB tmpfs in a mount namespace of the master's own,
# reached from here through /proc/PID/root.
t_enospc_counts_and_resumes() {
	need_root
	local d="$SM_TMP/enospc" full lines dropped
	sm_start_tmpfs "$d/full" 1m -w 1 --log-level warning --log-file "$d/full/app.log" -- \
		"$LINES" --count 3000 --delay-us 1000 --hold
	full=$TMPFS
	wait_for 5 sh -c "grep -q ' worker 1\[' $full/app.log 2>/dev/null" || fail "no line written"
	mountpoint -q "$d/full" && fail "the tmpfs leaked into the test's namespace"
	dd if=/dev/zero of="$full/filler" bs=64k 2>/dev/null
	sleep 0.5 # deliberate: the master runs a while on a full disk
	alive "$SM_PID" || fail "master died on ENOSPC"
	rm -f "$full/filler"
	wait_for 10 grep -q 'ERROR: dropped [0-9]* lines (No space left on device)$' "$full/app.log" ||
		fail "no dropped-lines report"
	wait_for 10 grep -q ' stdout: w1 00003000 ' "$full/app.log" || fail "did not resume to the last line"
	alive "$SM_PID" || fail "master died"
	dropped=$(sed -n 's/.*ERROR: dropped \([0-9]*\) lines.*/\1/p' "$full/app.log" | awk '{ s += $1 } END { print s }')
	lines=$(audit 3000 1 "$full/app.log" | cut -d' ' -f1)
	[ "$dropped" -gt 0 ] || fail "nothing dropped: the disk never filled"
	# Every line is either in the file or counted.
	[ $((lines + dropped)) -eq 3000 ] || fail "$lines lines + $dropped dropped != 3000"
	stop_master
}

run_tests "$@"
