#!/bin/bash
# The runtime directory (SPEC §3), one notify socket per worker (SPEC §4),
# RLIMIT_NOFILE for a large pool, and the shutdown signals of SPEC §5:
# a repeated TERM stays graceful, INT makes it quick, PID 1's halt signals.
. "$(dirname "$0")/lib.sh"

RT_USER=smrun
RT_UID=4743

user() {
	[ "$(id -u)" -eq 0 ] || { [ "${CI:-}" = true ] && fail "needs root (CI=true)"; skip "needs root"; }
	ensure_user "$RT_USER" "$RT_UID"
	RT_IDS="$(id -u "$RT_USER"):$(id -g "$RT_USER")"
}

owner_mode() { stat -c '%u:%g %a' "$1" 2>/dev/null; }

# worker_socket PID: the NOTIFY_SOCKET of process PID.
worker_socket() { tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^NOTIFY_SOCKET=//p'; }

# ready_start N ARGS...: start the master, wait for "N workers ready".
ready_start() {
	local n=$1
	shift
	sm_start "$@"
	wait_for 15 grep -Eq "$n workers? ready" "$SM_LOG" || fail "not $n workers ready"
}

# check_rundir DIR WORKERS: DIR is USER's, 0700, and holds each worker's socket.
check_rundir() {
	local dir=$1 w sock
	[ "$(owner_mode "$dir")" = "$RT_IDS 700" ] || fail "$dir is $(owner_mode "$dir"), want $RT_IDS 700"
	for w in $(children "$SM_PID"); do
		sock=$(worker_socket "$w")
		[ "$(dirname "$sock")" = "$dir" ] || fail "worker $w: NOTIFY_SOCKET '$sock' is not in $dir"
		[ -S "$sock" ] || fail "worker $w: no socket at $sock"
	done
}

# sockets_in DIR: how many sockets DIR holds.
sockets_in() { find "$1" -maxdepth 1 -type s 2>/dev/null | wc -l; }
# notify_sockets_in DIR: the workers' notify sockets there (the control
# socket lives there too).
notify_sockets_in() { find "$1" -maxdepth 1 -type s -name 'notify.*' 2>/dev/null | wc -l; }

# The default as root: /run/sentrik-master/PID.  USER cannot remove a
# directory from root's /run/sentrik-master: it is left empty at exit.
t_default_runtime_dir_under_run() {
	user
	local dir
	ready_start 2 --user "$RT_USER" --ready notify -w 2 -- "$PROBE" --notify READY=1
	dir=/run/sentrik-master/$SM_PID
	check_rundir "$dir"
	[ "$(owner_mode /run/sentrik-master)" = "0:0 755" ] || fail "/run/sentrik-master is $(owner_mode /run/sentrik-master)"
	grep -q "runtime directory $dir" "$SM_LOG" || fail "the log does not name $dir"
	stop_master
	[ "$(sockets_in "$dir")" = 0 ] || fail "sockets left in $dir: $(ls "$dir")"
	rmdir "$dir" 2>/dev/null
	true
}

# dead_pid: a pid that no process has now.
dead_pid() { local p; sh -c 'exit 0' & p=$!; wait "$p"; kill -0 "$p" 2>/dev/null || echo "$p"; }

# A start as root clears the empty directories gone masters left in
# /run/sentrik-master; a non-empty one, or a link, stays untouched.
t_stale_runtime_dirs_are_removed() {
	user
	local gone full link
	gone=$(dead_pid) full=$(dead_pid) link=$(dead_pid)
	[ -n "$gone" ] && [ -n "$full" ] && [ -n "$link" ] || skip "no free pid found"
	mkdir -p /run/sentrik-master "$SM_TMP/target"
	mkdir "/run/sentrik-master/$gone" "/run/sentrik-master/$full"
	touch "/run/sentrik-master/$full/keep"
	ln -s "$SM_TMP/target" "/run/sentrik-master/$link"
	ready_start 1 --user "$RT_USER" --ready notify -w 1 -- "$PROBE" --notify READY=1
	local ok=1
	[ ! -e "/run/sentrik-master/$gone" ] || { ok=0; echo "    $gone still there"; }
	[ -e "/run/sentrik-master/$full/keep" ] || { ok=0; echo "    the non-empty $full went"; }
	[ -L "/run/sentrik-master/$link" ] && [ -d "$SM_TMP/target" ] || { ok=0; echo "    the link $link went"; }
	rm -rf "/run/sentrik-master/$gone" "/run/sentrik-master/$full" "/run/sentrik-master/$link"
	stop_master
	rmdir "/run/sentrik-master/$SM_PID" 2>/dev/null
	[ "$ok" = 1 ] || fail "stale directories not handled as they should be"
}

# --runtime-dir in a directory USER owns: made, used, and removed whole.
t_given_runtime_dir_made_and_removed() {
	user
	local base="$SM_TMP/own" dir
	mkdir -p "$base"
	chown "$RT_IDS" "$base"
	dir="$base/rt"
	ready_start 3 --user "$RT_USER" --runtime-dir "$dir" --ready notify -w 3 -- "$PROBE" --notify READY=1
	check_rundir "$dir"
	[ "$(notify_sockets_in "$dir")" = 3 ] || fail "$(notify_sockets_in "$dir") notify sockets in $dir, want 3"
	stop_master
	[ ! -e "$dir" ] || fail "$dir still there after exit: $(ls -la "$dir")"
}

# RUNTIME_DIRECTORY (systemd's RuntimeDirectory=, made root's 0755): taken
# over, and only our sockets removed (systemd removes the directory).
t_systemd_runtime_directory_is_used() {
	user
	local dir="$SM_TMP/systemd-rt"
	mkdir -p "$dir"
	chmod 755 "$dir"
	echo keep >"$dir/other-file"
	RUNTIME_DIRECTORY=$dir ready_start 2 --user "$RT_USER" --ready notify -w 2 -- "$PROBE" --notify READY=1
	check_rundir "$dir"
	stop_master
	[ "$(sockets_in "$dir")" = 0 ] || fail "sockets left in $dir"
	[ -f "$dir/other-file" ] || fail "a file not ours was removed"
}

# /run read-only (a bind mount in a mount namespace of the master's own):
# /dev/shm/sentrik-master-PID, removed at exit (USER may, in sticky /dev/shm).
t_read_only_run_falls_back_to_dev_shm() {
	user
	command -v unshare >/dev/null || skip "unshare not installed"
	[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] || skip "/dev/shm is no tmpfs"
	local dir
	SM_BIN=unshare sm_start --mount --propagation private -- sh -c \
		'mount --bind /run /run && mount -o remount,bind,ro /run && exec "$@"' sh \
		"$SM_MASTER_BIN" --user "$RT_USER" --ready notify -w 2 -- "$PROBE" --notify READY=1
	wait_for 15 grep -Eq "2 workers? ready" "$SM_LOG" || fail "not ready"
	dir=/dev/shm/sentrik-master-$SM_PID
	check_rundir "$dir"
	[ ! -e "/run/sentrik-master/$SM_PID" ] || fail "made under the read-only /run"
	stop_master
	[ ! -e "$dir" ] || fail "$dir still there after exit"
}

# An explicit --runtime-dir that cannot be made stops the start: exit 73.
t_given_runtime_dir_that_cannot_be_made_exits_73() {
	user
	local out rc=0
	out=$(timeout -k 2 10 "$SM_BIN" --user "$RT_USER" --runtime-dir /proc/self/nope -w 1 -- "$PROBE" 2>&1) || rc=$?
	[ "$rc" = 73 ] || fail "exit $rc, want 73: $out"
	grep -q -- '--runtime-dir /proc/self/nope' <<<"$out" || fail "the message does not name it: $out"
	# Not root: a directory of root's is not ours to use.
	mkdir -p "$SM_TMP/roots"
	rc=0
	out=$(timeout -k 2 10 setpriv --reuid="$RT_USER" --regid="$RT_USER" --clear-groups -- \
		"$SM_BIN" --runtime-dir "$SM_TMP/roots" -w 1 -- "$PROBE" 2>&1) || rc=$?
	[ "$rc" = 73 ] || fail "not root, root's directory: exit $rc, want 73: $out"
}

# A master started as USER makes it as itself, under /dev/shm (no /run).
t_non_root_master_makes_its_own() {
	user
	local dir
	SM_BIN=setpriv sm_start --reuid="$RT_USER" --regid="$RT_USER" --clear-groups -- \
		"$SM_MASTER_BIN" --ready notify -w 1 -- "$PROBE" --notify READY=1
	wait_for 15 grep -Eq "1 workers? ready" "$SM_LOG" || fail "not ready"
	dir=$(dirname "$(worker_socket "$(children "$SM_PID")")")
	[ "$dir" = "/dev/shm/sentrik-master-$SM_PID" ] || fail "runtime dir $dir"
	check_rundir "$dir"
	stop_master
	[ ! -e "$dir" ] || fail "$dir still there after exit"
}

# systemd-notify run by a worker's shell script as USER (its pid is not
# the worker's): that worker is ready.
t_systemd_notify_from_a_worker_script() {
	user
	command -v systemd-notify >/dev/null || { [ "${CI:-}" = true ] && fail "no systemd-notify"; skip "no systemd-notify"; }
	sm_start --user "$RT_USER" --ready notify --ready-timeout 5 -w 2 -- \
		sh -c 'systemd-notify --ready || echo "systemd-notify failed: $?" >&2; exec sleep 600'
	wait_for 10 grep -Eq "2 workers? ready" "$SM_LOG" || fail "systemd-notify --ready did not make the workers ready"
	stop_master
}

# WATCHDOG=1 from a helper subprocess of the worker counts: the worker is
# not killed for silence, and READY=1 from a helper made it ready.
t_watchdog_from_a_helper_counts() {
	user
	local before after
	sm_start --user "$RT_USER" --ready notify --ready-timeout 5 --timeout 1.5 -w 1 -- sh -c \
		'"$0" --notify READY=1 --exit 0; while :; do "$0" --notify WATCHDOG=1 --exit 0; sleep 0.3; done' "$PROBE"
	wait_for 10 grep -Eq "1 workers? ready" "$SM_LOG" || fail "READY=1 from a helper did not count"
	before=$(children "$SM_PID" | head -1)
	sleep 4
	after=$(children "$SM_PID" | head -1)
	[ "$before" = "$after" ] || fail "the worker was replaced ($before -> $after): its helpers' WATCHDOG=1 did not count"
	grep -q 'sending KILL\|restarting' "$SM_LOG" && fail "the worker was killed or restarted: $(cat "$SM_LOG")"
	stop_master
}

# 1,024 workers with captured output and notify sockets at a soft limit
# of 1,024 descriptors: the master raises its own, workers keep 1,024.
t_thousand_workers_raise_nofile() {
	user
	local w hard
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] || [ "$hard" -ge 4096 ] || skip "hard RLIMIT_NOFILE $hard is below 4096"
	SM_BIN=sh sm_start -c 'ulimit -Sn 1024 && exec "$0" "$@"' "$SM_MASTER_BIN" --user "$RT_USER" \
		--capture-output --ready notify --ready-timeout 60 -w 1024 -- "$PROBE" --notify READY=1
	wait_for 45 grep -Eq "1024 workers? ready" "$SM_LOG" || fail "1024 workers not ready: $(grep -c . "$SM_LOG") lines, $(count_children "$SM_PID") workers"
	grep -q 'RLIMIT_NOFILE raised from 1024' "$SM_LOG" || fail "no line saying RLIMIT_NOFILE was raised"
	w=$(children "$SM_PID" | head -1)
	[ "$(awk '/Max open files/ {print $4}' "/proc/$w/limits")" = 1024 ] ||
		fail "worker $w: $(grep 'Max open files' "/proc/$w/limits")"
	note "$(ls "/proc/$SM_PID/fd" | wc -l) descriptors in the master"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 30 || fail "no exit within 30 s of TERM"
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE"
}

# A worker whose graceful stop takes 2 s; it writes FILE ($0) when it
# finished, in a directory slow_dir makes USER's.
slow_dir() { mkdir -p "$SM_TMP/slow" && chown "$RT_IDS" "$SM_TMP/slow"; }
SLOW_STOP='trap "sleep 2; echo done >$0; exit 0" TERM; while :; do sleep 0.2 & wait $!; done'

# TERM, then TERM 2 ms later (timeout(1) signals the pid, then its group):
# still graceful, the worker finishes its 2 s.
t_repeated_term_stays_graceful() {
	user
	local f="$SM_TMP/slow/done" t0 ms
	slow_dir
	ready_start 1 --user "$RT_USER" --graceful-timeout 10 -w 1 -- sh -c "$SLOW_STOP" "$f"
	t0=$(date +%s%N)
	kill -TERM "$SM_PID"
	sleep 0.002
	kill -TERM -- "-$SM_PID"
	wait_exit "$SM_PID" 8 || fail "no exit within 8 s"
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE"
	[ -s "$f" ] || fail "the worker did not finish its graceful stop (after $ms ms)"
	grep -q 'sending KILL' "$SM_LOG" && fail "a KILL was sent"
	note "two TERMs: exit after $ms ms, the worker's 2 s stop completed"
}

# TERM, then INT: the graceful shutdown turns quick (KILL after 1 s).
t_int_after_term_is_quick() {
	user
	local f="$SM_TMP/slow/done2" t0 ms
	slow_dir
	ready_start 1 --user "$RT_USER" --graceful-timeout 10 -w 1 -- sh -c "$SLOW_STOP" "$f"
	t0=$(date +%s%N)
	kill -TERM "$SM_PID"
	sleep 0.2
	kill -INT "$SM_PID"
	wait_exit "$SM_PID" 5 || fail "no exit within 5 s"
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE"
	[ ! -e "$f" ] || fail "the worker finished its 2 s stop: INT did not make the shutdown quick"
	[ "$ms" -lt 2000 ] || fail "exit after $ms ms"
	note "TERM then INT: exit after $ms ms"
}

# As PID 1 (a container), PWR and RTMIN+3 stop gracefully, as TERM.
t_pid1_halt_signals_stop_gracefully() {
	user
	command -v unshare >/dev/null || skip "unshare not installed"
	local sig init
	for sig in PWR RTMIN+3; do
		SM_LOG="$SM_TMP/pid1.$RANDOM.log"
		setsid unshare --pid --fork --mount-proc "$SM_BIN" -w 1 -- "$PROBE" >"$SM_LOG.out" 2>"$SM_LOG" &
		SM_PID=$!
		track "$SM_PID"
		wait_for 10 grep -Eq "1 workers? ready" "$SM_LOG" || fail "not ready"
		init=$(children "$SM_PID" | head -1)
		kill -s "$sig" "$init"
		wait_exit "$SM_PID" 10 || fail "$sig did not stop PID 1"
		[ "$EXIT_CODE" = 0 ] || fail "$sig: exit $EXIT_CODE"
		grep -q "$sig: graceful shutdown" "$SM_LOG" || fail "$sig: no graceful shutdown line: $(cat "$SM_LOG")"
	done
}

run_tests "$@"
