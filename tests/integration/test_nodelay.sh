#!/bin/bash
# TCP_NODELAY: every TCP listener the master hands over has it, so accepted
# connections do too (apps that take the socket as it is, uvicorn --fd 3,
# would otherwise stall on Nagle's algorithm).  Checked on the accepted
# socket itself, by a worker that reports getsockopt: for a --bind address,
# an inherited fd:N and a socket-activated one made without it.
. "$(dirname "$0")/lib.sh"
NODELAY="$SM_HELPERS/nodelay"

# asked PORT: the line the nodelay worker answers a connection with.
asked() {
	timeout 3 bash -c 'exec 5<>/dev/tcp/127.0.0.1/$1 && head -1 <&5' _ "$1" 2>/dev/null
}

expect_nodelay() {
	local line
	wait_for 5 sh -c "ss -ltnH | grep -q ':$PORT '" || fail "$1: nothing listens on $PORT"
	wait_for 5 sh -c "[ -n \"\$(timeout 3 bash -c 'exec 5<>/dev/tcp/127.0.0.1/$PORT && head -1 <&5' 2>/dev/null)\" ]" ||
		fail "$1: the worker does not answer"
	line=$(asked "$PORT")
	[ "$line" = "TCP_NODELAY=1" ] || fail "$1: accepted socket says '$line'"
}

t_bound_address_has_nodelay() {
	sm_start -w 1 --bind 127.0.0.1:0 -- "$NODELAY"
	wait_for 5 port_known || fail "master holds no listening socket"
	expect_nodelay "--bind 127.0.0.1:0"
	sm_start -w 1 --bind :0 -- "$NODELAY"
	wait_for 5 port_known || fail "master holds no listening socket"
	expect_nodelay "--bind :0"
}

# A socket made without TCP_NODELAY (checked before the exec) is put at
# fd 3 and handed to the master, as --bind fd:3 or by activation (same pid).
handed_over() {
	local how=$1
	local portfile="$SM_TMP/port.$how"
	shift
	SM_LOG="$SM_TMP/master.$how.log"
	setsid python3 -c '
import os, socket, sys
how, portfile = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
if how == "activated":
    os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
open(portfile, "w").write(str(s.getsockname()[1]))
os.execv(sys.argv[3], sys.argv[3:])
' "$how" "$portfile" "$SM_BIN" "$@" >"$SM_LOG.out" 2>"$SM_LOG" &
	SM_PID=$!
	track "$SM_PID"
	wait_for 5 test -s "$portfile" || fail "socket helper did not start"
	PORT=$(cat "$portfile")
	expect_nodelay "$how"
}

t_inherited_fd_gets_nodelay() {
	handed_over fd -w 1 --bind fd:3 -- "$NODELAY"
}

t_activated_socket_gets_nodelay() {
	handed_over activated -w 1 -- "$NODELAY"
}

run_tests "$@"
