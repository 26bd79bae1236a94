#!/bin/bash
# Listening sockets: --bind forms and errors, fd: and socket activation,
# and what of the outer environment reaches a worker.
. "$(dirname "$0")/lib.sh"
HELLO="${SM_EXAMPLES:?SM_EXAMPLES must point to the built examples}/hello-http/hello-http"

# ids_seen URL N SECONDS: request until N distinct worker ids answered.
ids_seen() {
	local url=$1 want=$2 end=$((SECONDS + $3)) ids=""
	while [ "$SECONDS" -lt "$end" ]; do
		r=$(curl -s --max-time 2 -H 'Connection: close' "$url") || continue
		ids=$(printf '%s\n%s\n' "$ids" "$(echo "$r" | awk '{print $4}')" | sed '/^$/d' | sort -u)
		[ "$(echo "$ids" | wc -l)" -ge "$want" ] && return 0
	done
	echo "ids seen: $(echo $ids)"
	return 1
}

# start_with_socket FDNUM ACTIVATE ARGS...: a listening socket on
# 127.0.0.1:0 placed at FDNUM, then exec of the master (same pid), with
# LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES=web when ACTIVATE is 1.
start_with_socket() {
	local fdnum=$1 activate=$2 portfile="$SM_TMP/port.$RANDOM$RANDOM"
	shift 2
	SM_LOG="$SM_TMP/master.$RANDOM.log"
	setsid python3 -c '
import os, socket, sys
fdnum, activate, portfile = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(portfile, "w").write(str(s.getsockname()[1]))
os.dup2(s.fileno(), fdnum)
os.set_inheritable(fdnum, True)
if activate:
    os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1", LISTEN_FDNAMES="web")
os.execv(sys.argv[4], sys.argv[4:])
' "$fdnum" "$activate" "$portfile" "$SM_BIN" "$@" >"$SM_LOG.out" 2>"$SM_LOG" &
	SM_PID=$!
	track "$SM_PID"
	wait_for 5 test -s "$portfile" || fail "socket helper did not start"
	PORT=$(cat "$portfile")
}

t_ephemeral_port_served_by_every_worker() {
	sm_start -w 3 --bind 127.0.0.1:0 -- "$HELLO"
	wait_for 5 port_known || fail "master holds no listening socket"
	ids_seen "http://127.0.0.1:$PORT/" 3 15 || fail "not every worker answered"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit on TERM"
	[ "$EXIT_CODE" = 0 ] || fail "exit code $EXIT_CODE"
}

t_dual_stack_any_address() {
	sm_start -w 1 --bind :0 -- "$HELLO"
	wait_for 5 port_known || fail "master holds no listening socket"
	curl -s --max-time 3 "http://127.0.0.1:$PORT/" | grep -q "hello from worker 1" ||
		fail "IPv4 client not served on :PORT"
	# Where the host has IPv6 loopback, ":PORT" must take IPv6 clients too
	# (whatever socket the master chose); only a host without IPv6 gets the
	# plain IPv4 fallback.
	if grep -q '^0\{31\}1 .* lo$' /proc/net/if_inet6 2>/dev/null; then
		curl -s --max-time 3 -g "http://[::1]:$PORT/" | grep -q "hello from worker 1" ||
			fail "IPv6 client not served on :PORT: $(ss -ltnH | grep ":$PORT ")"
	else
		echo "no IPv6 loopback on this host: the IPv4 fallback only"
	fi
}

# Run as root: the port is below 1024.  (--user is applied by the
# privilege phase; here the bind itself is checked.)
t_port_below_1024() {
	need_root
	local p
	for p in $(shuf -i 600-1000 -n 20); do
		ss -ltnH | awk '{print $4}' | grep -q ":$p\$" && continue
		sm_start -w 2 --bind "127.0.0.1:$p" -- "$HELLO"
		if wait_for 5 sh -c "curl -s --max-time 1 http://127.0.0.1:$p/ | grep -q hello"; then
			kill -TERM "$SM_PID"
			wait_exit "$SM_PID" 10 || fail "no exit on TERM"
			return 0
		fi
		grep -q "Address already in use" "$SM_LOG" && continue
		fail "port $p not served"
	done
	skip "no free port below 1024"
}

t_bad_addresses_exit_64() {
	local a
	for a in "8000" "::80" "1.2.3.999:80" "host name:80" ":70000" ":x" "[::1]80" "[zz]:80" \
		"unix:" "fd:2" "fd:x" ""; do
		"$SM_BIN" --bind "$a" -- true 2>"$SM_TMP/err"
		rc=$?
		[ "$rc" = 64 ] || fail "--bind '$a': exit $rc, want 64"
		[ "$(wc -l <"$SM_TMP/err")" = 1 ] || fail "--bind '$a': not one line: $(cat "$SM_TMP/err")"
		grep -q -- "--bind" "$SM_TMP/err" || fail "--bind '$a': message: $(cat "$SM_TMP/err")"
	done
	"$SM_BIN" --bind no-such-host.invalid:80 -- true 2>"$SM_TMP/err"
	rc=$?
	[ "$rc" = 64 ] || fail "unknown host: exit $rc"
	grep -q "no-such-host.invalid:80" "$SM_TMP/err" || fail "message: $(cat "$SM_TMP/err")"
	# A bad second address: the first one is never bound.
	"$SM_BIN" --bind "unix:$SM_TMP/never.sock" --bind "x:y" -- true 2>/dev/null
	[ $? = 64 ] || fail "second bad address not a usage error"
	[ ! -e "$SM_TMP/never.sock" ] || fail "socket created before the usage error"
}

t_address_in_use_exit_71() {
	sm_start -w 1 --bind 127.0.0.1:0 -- "$HELLO"
	wait_for 5 port_known || fail "master holds no listening socket"
	# Bounded: a master that wrongly started would otherwise run on.
	timeout -s KILL 10 "$SM_BIN" --bind "127.0.0.1:$PORT" -- "$HELLO" 2>"$SM_TMP/err"
	rc=$?
	[ "$rc" = 71 ] || fail "exit $rc, want 71"
	grep -q "cannot bind 127.0.0.1:$PORT: Address already in use" "$SM_TMP/err" ||
		fail "message: $(cat "$SM_TMP/err")"
}

t_unix_socket_mode_0660_and_stale_file() {
	local sock="$SM_TMP/app.sock"
	# A stale socket file left by a dead server is replaced.
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
	[ -S "$sock" ] || fail "could not make a stale socket"
	sm_start -w 1 --bind "unix:$sock" -- "$HELLO"
	wait_for 5 sh -c "curl -s --max-time 1 --unix-socket $sock http://x/ | grep -q hello" ||
		fail "not served on the unix socket"
	[ "$(stat -c %a "$sock")" = 660 ] || fail "mode $(stat -c %a "$sock"), want 660"
	[ -S "$sock" ] || fail "not a socket"
	# A live one is not stolen: 71, naming the address.
	"$SM_BIN" --bind "unix:$sock" -- "$HELLO" 2>"$SM_TMP/err"
	[ $? = 71 ] || fail "second master on a live socket did not exit 71"
	grep -q "unix:$sock" "$SM_TMP/err" || fail "message: $(cat "$SM_TMP/err")"
	# A file that is not a socket is never removed.
	echo data >"$SM_TMP/plain"
	"$SM_BIN" --bind "unix:$SM_TMP/plain" -- true 2>"$SM_TMP/err"
	[ $? = 71 ] || fail "plain file: not 71"
	[ "$(cat "$SM_TMP/plain")" = data ] || fail "plain file was touched"
}

t_fd_inherited() {
	start_with_socket 5 0 -w 2 --bind fd:5 -- "$HELLO"
	ids_seen "http://127.0.0.1:$PORT/" 2 15 || fail "inherited fd:5 not served by both workers"
}

t_socket_activation_of_the_master() {
	mkdir -p "$SM_TMP/rec"
	start_with_socket 3 1 -w 1 --bind 127.0.0.1:0 -- "$PROBE" --record "$SM_TMP/rec"
	wait_for 5 sh -c "ls $SM_TMP/rec/ | grep -qx 'w1\.[0-9]*'" || fail "worker did not start"
	f=$(ls "$SM_TMP"/rec/w1.* | grep -v '\.tmp$')
	wpid=${f##*.}
	grep -qx "LISTEN_FDS=2" "$f" || fail "LISTEN_FDS: $(grep LISTEN_FDS "$f")"
	grep -qx "LISTEN_PID=$wpid" "$f" || fail "LISTEN_PID: $(grep LISTEN_PID "$f")"
	grep -qx "LISTEN_FDNAMES=127.0.0.1_0:web" "$f" || fail "names: $(grep LISTEN_FDNAMES "$f")"
	# The activated socket is at 4 in the worker, and it is the same socket.
	ss -ltnpH | grep ":$PORT " | grep -q "pid=$wpid,fd=4)" ||
		fail "worker does not hold the activated socket at fd 4: $(ss -ltnpH | grep ":$PORT ")"
	[ "$(readlink /proc/$SM_PID/fd/3)" = "$(readlink /proc/$wpid/fd/4)" ] || fail "not the same socket"
}

t_outer_variables_never_leak() {
	mkdir -p "$SM_TMP/recenv"
	SM_LOG="$SM_TMP/m.log"
	NOTIFY_SOCKET=/nonexistent/outer LISTEN_PID=1 LISTEN_FDS=3 LISTEN_FDNAMES=a:b:c \
		WATCHDOG_USEC=1000000 WATCHDOG_PID=1 \
		setsid "$SM_BIN" -w 1 --ready notify --ready-timeout 5 -- \
		"$PROBE" --record "$SM_TMP/recenv" --notify READY=1 2>"$SM_LOG" &
	SM_PID=$!
	track "$SM_PID"
	wait_for 5 grep -q "ready, generation" "$SM_LOG" || fail "not ready"
	wait_for 5 sh -c "ls $SM_TMP/recenv/ | grep -qx 'w1\.[0-9]*'" || fail "no record"
	f=$(ls "$SM_TMP"/recenv/w1.* | grep -v '\.tmp$')
	grep -q "^LISTEN_" "$f" && fail "LISTEN_* leaked: $(grep ^LISTEN_ "$f")"
	grep -q "^WATCHDOG_" "$f" && fail "WATCHDOG_* leaked: $(grep ^WATCHDOG_ "$f")"
	# The worker's own socket, in the master's runtime directory.
	grep -Eq "^NOTIFY_SOCKET=/.*sentrik-master.$SM_PID/notify\.[0-9]+\$" "$f" ||
		fail "NOTIFY_SOCKET is not the master's: $(grep NOTIFY "$f")"
	# Under --ready exec without --timeout there is no NOTIFY_SOCKET at all.
	rm -rf "$SM_TMP/rec2"; mkdir -p "$SM_TMP/rec2"
	NOTIFY_SOCKET=/nonexistent/outer sm_start -w 1 --ready exec -- "$PROBE" --record "$SM_TMP/rec2"
	wait_for 5 sh -c "ls $SM_TMP/rec2/ | grep -qx 'w1\.[0-9]*'" || fail "worker did not start"
	grep -q "^NOTIFY_SOCKET" $(ls "$SM_TMP"/rec2/w1.* | grep -v '\.tmp$') && fail "NOTIFY_SOCKET set without need"
	return 0
}

t_python_example_serves_and_stops() {
	local app
	app="$(cd "$(dirname "$0")/../.." && pwd)/examples/python-app/app.py"
	sm_start -w 2 --ready notify --ready-timeout 20 --bind 127.0.0.1:0 -- python3 "$app"
	wait_for 20 grep -q "ready, generation" "$SM_LOG" || fail "python workers not ready"
	wait_for 5 port_known || fail "master holds no listening socket"
	ids_seen "http://127.0.0.1:$PORT/" 2 15 || fail "not both python workers answered"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit on TERM"
	[ "$EXIT_CODE" = 0 ] || fail "exit code $EXIT_CODE"
	grep -q "sending KILL" "$SM_LOG" && fail "a python worker had to be killed"
	return 0
}

run_tests "$@"
