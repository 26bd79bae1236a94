# Shared helpers for the integration tests: start the real binary, wait on
# what the kernel says, clean up every process started, by pid.
# Each test file sources this, defines functions named t_*, and ends with
# `run_tests "$@"`.  Output: "ok NAME", "FAIL NAME: why", "SKIP NAME: why".

: "${SM_BIN:?SM_BIN must point to the sentrik-master binary}"
: "${SM_HELPERS:?SM_HELPERS must point to the built test helpers}"
PROBE="$SM_HELPERS/probe"
# The example apps and configs, as files the test users can read (run.sh
# copies them with the binaries); the checkout's own when run on their own.
SM_EXAMPLE_SRC=${SM_EXAMPLE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../examples" && pwd)}
# Run on its own from a private checkout, a file would fail test after test
# with "Permission denied" as the test users: stop at once and say why.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$PROBE" -a -x "$SM_BIN" -a -r "$SM_EXAMPLE_SRC"; then
	echo "FAIL setup: $SM_BIN or $PROBE is out of reach of an unprivileged user (a private parent directory); run tests through tests/integration/run.sh, which copies them where test users reach them"
	exit 1
fi
SM_MASTER_BIN=$SM_BIN
SM_TMP=$(mktemp -d /tmp/sm-test.XXXXXX)
chmod 755 "$SM_TMP"
SM_PIDS=()
SM_MASTERS=()
SM_LOGS=()

# Under valgrind (make valgrind) the master runs many times slower: SM_SLOW
# scales every wait_for/wait_exit limit and the per-test timeout, and tests
# may use it for their own delays.  It is always 1 in a normal run.
if [ -n "${SM_VALGRIND:-}" ]; then SM_SLOW=${SM_SLOW:-5}; else SM_SLOW=1; fi
export SM_SLOW

# Every pid a test started (and its process group) is killed when the
# test ends, however it ends.
kill_tracked() {
	local p
	# Under valgrind a master still running is asked to stop first, so that
	# its leak check runs at exit; a KILL would leave nothing to check.
	if [ -n "${SM_VALGRIND:-}" ]; then
		for p in "${SM_MASTERS[@]}"; do kill -TERM "$p" 2>/dev/null; done
		for p in "${SM_MASTERS[@]}"; do wait_for 30 sh -c "! kill -0 $p 2>/dev/null || grep -q '^State:.*Z' /proc/$p/status"; done
		SM_MASTERS=()
	fi
	for p in "${SM_PIDS[@]}"; do
		kill -KILL -- "-$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${SM_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	SM_PIDS=()
}
trap 'kill_tracked; rm -rf "$SM_TMP"' EXIT
# A file stopped from outside (run.sh's time limit, Ctrl-C) stops the test
# that is running first, so that test's own clean-up kills what it started.
stop_running_test() {
	if [ -n "${SM_TEST_PID:-}" ] && kill -TERM "$SM_TEST_PID" 2>/dev/null; then
		wait "$SM_TEST_PID" 2>/dev/null
	fi
	exit 143
}
trap stop_running_test TERM INT

track() { SM_PIDS+=("$1"); }

# sm_start [ARGS...]: start the master in the background, in its own process
# group; SM_PID is its pid, SM_LOG its stderr.
sm_start() {
	SM_LOG="$SM_TMP/master.$RANDOM.log"
	# valgrind only when the master itself is started: a test that starts it
	# through a wrapper (SM_BIN=unshare...) would check the wrapper instead.
	# No vgdb: after the drop to a service user valgrind cannot remove its
	# vgdb pipes and says so in the log.
	if [ -n "${SM_VALGRIND:-}" ] && [ "$SM_BIN" = "$SM_MASTER_BIN" ]; then
		setsid valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
			--show-leak-kinds=definite --vgdb=no \
			--trace-children=no "$SM_BIN" "$@" >"$SM_LOG.out" 2>"$SM_LOG" &
		SM_MASTERS+=("$!")
		SM_LOGS+=("$SM_LOG")
	else
		setsid "$SM_BIN" "$@" >"$SM_LOG.out" 2>"$SM_LOG" &
	fi
	SM_PID=$!
	track "$SM_PID"
}

# sm_start_tmpfs DIR SIZE [ARGS...]: sm_start with a tmpfs of SIZE on DIR
# in a mount namespace of the master's own, so a full disk is the master's
# only; TMPFS is DIR as seen from here, through /proc/PID/root (gone once
# the master has exited: look at the files before stopping it).
sm_start_tmpfs() {
	local dir=$1 size=$2
	shift 2
	mkdir -p "$dir"
	SM_BIN=unshare sm_start --mount --propagation private sh -c \
		'mount -t tmpfs -o size="$1" sm-full "$0" && shift && exec "$@"' "$dir" "$size" \
		"$SM_BIN" "$@"
	TMPFS="/proc/$SM_PID/root$dir"
}

# vg_lines LOG: valgrind's lines in LOG, less its warnings and the three
# lines it prints when it kills a forked child whose execve failed (the
# tests that make exec fail on purpose; that child is valgrind's, not ours).
vg_lines() {
	grep -E '^==[0-9]+== ' "$1" |
		grep -vE '^==[0-9]+== +(Warning: |execve\(.*\) failed, errno|EXEC FAILED: |Add more stringent tests in PRE)'
}

# vg_verdict: under valgrind, the errors and definite leaks it reported in
# the logs of the masters this test started (with -q valgrind prints only
# those, plus warnings); exits 1 when there are any, so the test fails even
# when the master's exit code 99 went unchecked.
vg_verdict() {
	local l bad=0
	[ -n "${SM_VALGRIND:-}" ] || return 0
	for l in "${SM_LOGS[@]}"; do
		[ -f "$l" ] || continue
		if vg_lines "$l" | grep -q .; then
			echo "valgrind: errors or definite leaks in the master ($(basename "$l")):"
			vg_lines "$l" | head -40
			bad=1
		fi
	done
	SM_LOGS=()
	[ "$bad" -eq 0 ] || exit 1
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds; 1 on timeout.
wait_for() {
	local limit=$1 i=0
	shift
	local steps=$(awk "BEGIN{print int($limit*${SM_SLOW:-1}*50)}")
	while [ "$i" -lt "$steps" ]; do
		"$@" && return 0
		sleep 0.02
		i=$((i + 1))
	done
	return 1
}

# wait_exit PID SECONDS: wait for our child PID to exit; EXIT_CODE is its code.
wait_exit() {
	local pid=$1 limit=$2
	if ! wait_for "$limit" sh -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status 2>/dev/null"; then
		EXIT_CODE=timeout
		return 1
	fi
	wait "$pid" 2>/dev/null
	EXIT_CODE=$?
	return 0
}

# children PID: its running child processes, less those still running
# PID's own program: the master's short-lived helpers (the path check as
# USER, the lookups) and a worker not yet past its exec are not workers.
# Under valgrind both sides run valgrind's tool, so the rule holds there
# too.  A child with no program left (exiting, or a zombie) is not counted.
children() {
	local c self exe
	self=$(readlink /proc/"$1"/exe 2>/dev/null)
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		exe=$(readlink /proc/"$c"/exe 2>/dev/null) || continue
		[ -n "$self" ] && [ "$exe" = "$self" ] && continue
		echo "$c"
	done
}

count_children() { children "$1" | wc -l; }

has_children() { [ "$(count_children "$1")" -eq "$2" ]; }

# worker_var PID NAME: a variable of PID's environment.
worker_var() { tr '\0' '\n' </proc/"$1"/environ 2>/dev/null | sed -n "s/^$2=//p"; }

# slot_pid SLOT: the pid of the master's worker in SLOT (none when absent).
slot_pid() {
	local p
	for p in $(children "$SM_PID"); do
		[ "$(worker_var "$p" SENTRIK_WORKER_ID)" = "$1" ] && { echo "$p"; return 0; }
	done
	return 1
}

# gone PID: exited (or a zombie not yet reaped).
gone() { ! alive "$1"; }

# client_loop PORT SECONDS OUT: sequential requests, a new connection each;
# the last line of OUT is "ok N bad N generations N"; CLIENT is its pid.
client_loop() {
	python3 - "$1" "$2" >"$3" 2>&1 <<'PY' &
import http.client, sys, time
port, ok, bad, gens = int(sys.argv[1]), 0, 0, set()
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/")
        r = c.getresponse()
        body = r.read().decode()
        c.close()
        if r.status != 200:
            bad += 1
            continue
        ok += 1
        gens.add(body.split()[5])
    except Exception as e:
        bad += 1
        print("error:", e)
print("ok", ok, "bad", bad, "generations", len(gens))
PY
	CLIENT=$!
	track "$CLIENT"
}

# descendants PID: every process below PID, one a line.
descendants() {
	local c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# aged PID SECONDS: PID has run for at least SECONDS (its start time in
# /proc/PID/stat, field 22, counts clock ticks since boot).
aged() {
	local start
	start=$(sed 's/^.*) //' /proc/"$1"/stat 2>/dev/null | cut -d' ' -f20)
	[ -n "$start" ] || return 1
	awk -v s="$start" -v hz="$(getconf CLK_TCK)" -v up="$(cut -d' ' -f1 /proc/uptime)" -v min="$2" \
		'BEGIN {exit !(up - s / hz >= min)}'
}

# workers_aged SECONDS: the master SM_PID has workers, and each of them and
# every process below them has run at least SECONDS.  A wait for this
# replaces a fixed sleep where a test must be past a window measured from a
# start (a worker dying within 1 s of its exec is a failed start, not a
# crash; an app still booting may not have its TERM handler yet).
workers_aged() {
	local w p n=0
	for w in $(children "$SM_PID"); do
		n=$((n + 1))
		for p in "$w" $(descendants "$w"); do aged "$p" "$1" || return 1; done
	done
	[ "$n" -gt 0 ]
}

# has_signal PID FIELD SIGNUM: SIGNUM is set in FIELD of /proc/PID/status
# (SigCgt: caught, SigIgn: ignored, SigBlk: blocked): a test waits for this
# instead of sleeping until a worker has installed its handlers.
has_signal() {
	local mask
	mask=$(status_field "$1" "$2")
	[ -n "$mask" ] && (((0x$mask >> ($3 - 1)) & 1))
}

alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' /proc/"$1"/status 2>/dev/null; }

# status_field PID FIELD: a line of /proc/PID/status without its name.
status_field() { sed -n "s/^$2:[[:space:]]*//p" /proc/"$1"/status 2>/dev/null; }

# ensure_user NAME UID: create a system user and group idempotently
# (retried: another test run may hold the passwd lock for a moment).
ensure_user() {
	local name=$1 uid=$2 try
	for try in 1 2 3 4 5 6 7 8 9 10; do
		getent group "$name" >/dev/null || groupadd -g "$uid" "$name" 2>/dev/null ||
			groupadd "$name" 2>/dev/null
		getent passwd "$name" >/dev/null ||
			useradd -u "$uid" -g "$name" -M -d /nonexistent -s /usr/sbin/nologin "$name" 2>/dev/null ||
			useradd -g "$name" -M -d /nonexistent -s /usr/sbin/nologin "$name" 2>/dev/null
		getent passwd "$name" >/dev/null && return 0
		sleep 0.3
	done
	fail "cannot create test user $name"
}

# free_uid: a uid (and gid) from 5000 up with no passwd or group entry.
free_uid() {
	local u=5000
	while getent passwd "$u" >/dev/null || getent group "$u" >/dev/null; do u=$((u + 1)); done
	echo "$u"
}

# stop_master: TERM to SM_PID, which must exit 0 within 10 s.
stop_master() {
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "master did not exit on TERM"
	[ "$EXIT_CODE" = 0 ] || fail "exit code $EXIT_CODE after TERM"
}

# master_port PID: the TCP port PID listens on, from the kernel's table.
master_port() {
	ss -ltnpH 2>/dev/null | grep "pid=$1," | awk '{print $4}' | sed 's/.*://' | head -1
}

# port_known: PORT is the port the master SM_PID listens on (for wait_for).
port_known() { PORT=$(master_port "$SM_PID"); [ -n "$PORT" ]; }

# audit N WORKERS FILE...: check the worker lines of the files (plain or
# gzip) written by `lines --size 100`.  Prints "lines dups cut missing
# runs": lines seen, seen twice, cut or glued (payload not 99 bytes),
# numbers 1..N never seen, and the runs (windows) those form.
audit() {
	local n=$1 w=$2
	shift 2
	zcat -f "$@" | awk -v n="$n" -v w="$w" '
	$2 != "worker" { next }
	{
		if (!sub(/^[^ ]+ worker [0-9]+\[[0-9]+\] stdout: /, "")) { cut++; next }
		if (length($0) != 99 || $0 !~ /^w[0-9]+ [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] \.+$/) { cut++; next }
		split($0, f, " ")
		k = f[1] " " (f[2] + 0)
		if (k in seen) dups++
		seen[k] = 1; total++
	}
	END {
		for (i = 1; i <= w; i++) {
			gap = 0
			for (s = 1; s <= n; s++) {
				if (("w" i " " s) in seen) { gap = 0; continue }
				missing++
				if (!gap) runs++
				gap = 1
			}
		}
		printf "%d %d %d %d %d\n", total, dups + 0, cut + 0, missing + 0, runs + 0
	}'
}

need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }

# Run every t_* function (or those named on the command line), each in a
# subshell bounded by TEST_TIMEOUT seconds.
run_tests() {
	local names t rc out tp waited limit=$((${TEST_TIMEOUT:-60} * SM_SLOW))
	if [ $# -gt 0 ]; then names="$*"; else names=$(declare -F | awk '{print $3}' | grep '^t_'); fi
	for t in $names; do
		out="$SM_TMP/$t.out"
		(
			SM_PIDS=() SM_MASTERS=() SM_LOGS=()
			trap 'kill_tracked; vg_verdict' EXIT
			trap 'exit 1' TERM
			"$t"
		) >"$out" 2>&1 &
		tp=$!
		SM_TEST_PID=$tp
		waited=0
		while kill -0 "$tp" 2>/dev/null && [ "$waited" -lt "$((limit * 10))" ]; do
			sleep 0.1
			waited=$((waited + 1))
		done
		if kill -0 "$tp" 2>/dev/null; then
			kill -TERM "$tp" 2>/dev/null
			sleep 2
			kill -KILL "$tp" 2>/dev/null
			wait "$tp" 2>/dev/null
			echo "FAIL ${t#t_}: timed out after $limit s"
			sed 's/^/    /' "$out" | tail -20
			continue
		fi
		wait "$tp"
		rc=$?
		if [ "$rc" -eq 0 ]; then
			echo "ok   ${t#t_}"
			sed -n 's/^note: /     /p' "$out"
		elif [ "$rc" -eq 77 ]; then
			echo "SKIP ${t#t_}: $(tail -1 "$out")"
		else
			echo "FAIL ${t#t_}"
			sed 's/^/    /' "$out" | tail -30
		fi
	done
}

# In a test: fail "why" prints and exits the test's subshell with 1;
# skip "why" exits with 77.
fail() { echo "$*"; [ -n "${SM_LOG:-}" ] && [ -f "$SM_LOG" ] && { echo "--- master log:"; tail -20 "$SM_LOG"; }; exit 1; }
skip() { echo "$*"; exit 77; }
# note "figure": a measured figure, shown under the test's "ok" line too.
note() { echo "note: $*"; }
