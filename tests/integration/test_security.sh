#!/bin/bash
# Attacks on the root phase and on the running master (SPEC §3, §4, §5, §8):
# the service user (or another local user) tries to make root act on a
# path it controls, to reach the terminal, to flood the notify sockets, to
# make root trust its config, to hang or kill the master.  Each attacker
# runs as an unprivileged user; each test says what it must never see.
. "$(dirname "$0")/lib.sh"

SEC_USER=smsec
SEC_UID=4741
OTHER_USER=smsecother
OTHER_UID=4742
FLIPPER="$SM_HELPERS/flipper"
TTYPROBE="$SM_HELPERS/ttyprobe"
FLOOD="$SM_HELPERS/flood"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROTATE_CONF="$REPO/examples/logrotate/sentrik-master"

# Files root must be able to trust live outside /tmp (world-writable):
# a root-owned 0755 directory under /run, removed with the file's SM_TMP.
SEC_ROOT=$(mktemp -d /run/sm-sec.XXXXXX)
chmod 755 "$SEC_ROOT"
# Races run on a tmpfs where one is (renames there are several times
# faster than on a journalling file system: many more swaps per start).
SHM_ROOT=$SM_TMP
[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && SHM_ROOT=$(mktemp -d /dev/shm/sm-sec.XXXXXX) &&
	chmod 755 "$SHM_ROOT"
trap 'kill_tracked; rm -rf "$SM_TMP" "$SEC_ROOT" "$SHM_ROOT"' EXIT

# need_tool CMD: skip without CMD, except under CI=true, where every test
# must run (a skip there would hide an attack nobody tried).
need_tool() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "${CI:-}" = true ] && fail "$1 is missing (CI=true: not skipped)"
	skip "$1 not installed"
}

# need_root, but under CI=true a test that cannot run is a failure here
# and now, not a skip to be counted later.
root_only() {
	[ "$(id -u)" -eq 0 ] && return 0
	[ "${CI:-}" = true ] && fail "needs root (CI=true: not skipped)"
	skip "needs root"
}

users() {
	root_only
	ensure_user "$SEC_USER" "$SEC_UID"
	ensure_user "$OTHER_USER" "$OTHER_UID"
	SEC_IDS="$(id -u "$SEC_USER"):$(id -g "$SEC_USER")"
}

# as USER CMD...: CMD as USER, with USER's group and no other.  In the
# background, `as USER CMD &` would leave $! the subshell's pid: there,
# "${AS[@]}" CMD & after as_user USER (its pid is CMD's: setpriv execs).
as_user() { AS=(setpriv --reuid="$(id -u "$1")" --regid="$(id -g "$1")" --clear-groups --); }
as() {
	local AS
	as_user "$1"
	shift
	"${AS[@]}" "$@"
}

# owner_mode PATH: "uid:gid mode" of PATH itself.
owner_mode() { stat -c '%u:%g %a' "$1"; }

# ---------------------------------------------------------------------------
# 1. --bind unix:PATH in a directory USER owns: USER swaps a symlink to a
# root file in and out of PATH while the master binds; root's file must
# keep its owner and mode, whatever the interleaving.

# RESTARTS SECONDS MIN MAX FILE MASTER ARGS...: start the master again and
# again, each time until it listens on a unix socket or exits, then TERM it,
# until FILE's owner or mode changes or SECONDS have passed (at least MIN
# starts, at most MAX).  Prints "starts N listened N" and, if FILE changed,
# "changed at start N: uid:gid mode".  (Python: a start every few ms.)
RESTARTS="$SM_TMP/restarts.py"
cat >"$RESTARTS" <<'PY'
import os, signal, subprocess, sys, time
secs, lo, hi, victim, cmd = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]

def mark():
    st = os.lstat(victim)
    return "%d:%d %o" % (st.st_uid, st.st_gid, st.st_mode & 0o7777)

def listening(pid):
    # A listening unix socket among the master's descriptors, whatever
    # path it was bound at.
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return False
    with open("/proc/net/unix") as f:
        return any(len(r) >= 7 and r[3] == "00010000" and r[6] in inodes
                   for r in (line.split() for line in f))

before, starts, listened = mark(), 0, 0
end = time.monotonic() + secs
while starts < hi and (starts < lo or time.monotonic() < end):
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    starts += 1
    limit = time.monotonic() + 5
    while p.poll() is None and not listening(p.pid) and time.monotonic() < limit:
        time.sleep(0.001)
    if p.poll() is None:
        listened += 1
        p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        print("start %d: the master did not exit within 10 s of TERM" % starts)
        break
    if mark() != before:
        print("changed at start %d: %s" % (starts, mark()))
        break
print("starts %d listened %d" % (starts, listened))
PY

t_unix_bind_never_chmods_through_a_symlink() {
	users
	need_tool python3
	local dir="$SHM_ROOT/sockdir" secret="$SM_TMP/root-only/secret" flips=() f loop before out starts listened
	mkdir -p "$dir" "$(dirname "$secret")"
	echo "root's secret" >"$secret"
	chmod 600 "$secret"
	chown "$SEC_IDS" "$dir"
	before=$(owner_mode "$secret")
	# Two flippers: more swaps, and their interleaving varies the timing.
	as_user "$SEC_USER"
	for f in 1 2; do
		"${AS[@]}" "$FLIPPER" "$dir" app.sock .flip "$secret" 40 >"$SM_TMP/flips.$f" &
		flips+=("$!")
		track "$!"
	done
	wait_for 5 test -L "$dir/.flip" || fail "the flipper made no symlink"
	# Every start races the flippers; one that loses stops with an error,
	# which is fine: root's file must never change, whatever the order.
	setsid python3 "$RESTARTS" 20 200 20000 "$secret" "$SM_BIN" --user "$SEC_USER" --chown "$dir" \
		--bind "unix:$dir/app.sock" -w 1 -- "$PROBE" >"$SM_TMP/race" 2>&1 &
	loop=$!
	track "$loop"
	wait_exit "$loop" 40 || fail "the start loop did not end"
	kill "${flips[@]}" 2>/dev/null
	wait "${flips[@]}" 2>/dev/null
	out=$(cat "$SM_TMP/race")
	read -r starts listened <<<"$(sed -n 's/^starts \([0-9]*\) listened \([0-9]*\)$/\1 \2/p' <<<"$out")"
	note "$starts starts, $listened listened, $(cat "$SM_TMP"/flips.* | tr '\n' ' ')"
	grep -q '^changed' <<<"$out" &&
		fail "root's file $secret ($before) $(grep '^changed' <<<"$out") (of $starts starts, $listened listened)"
	[ "$(owner_mode "$secret")" = "$before" ] || fail "root's file is now $(owner_mode "$secret")"
	[ -n "$starts" ] && [ "$starts" -ge 200 ] || fail "start loop: $out"
	[ "$listened" -ge 10 ] || fail "only $listened of $starts starts listened: the race was hardly run"
}

# ---------------------------------------------------------------------------
# 2. The master started from a terminal (a shell, a `docker run -it`): its
# workers must have no way back to that terminal, and Ctrl-C and TERM
# still stop everything.

# PTY_RUN DIR MASTER ARGS...: run the master as the foreground process of a
# new pseudo-terminal (a session leader with it as controlling terminal,
# like a login shell's job).  Writes DIR/pid (the master's pid), copies the
# terminal's output to DIR/out, sends Ctrl-C (a \x03 typed on the
# terminal) once DIR/ctrl-c exists, and writes the master's exit code (or
# "signal N") to DIR/status when it ends.
PTY_RUN="$SM_TMP/pty-run.py"
cat >"$PTY_RUN" <<'PY'
import fcntl, os, select, sys, termios
d, cmd = sys.argv[1], sys.argv[2:]
master, slave = os.openpty()
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.closerange(3, 1024)
    os.execv(cmd[0], cmd)
os.close(slave)
open(d + "/pid.tmp", "w").write("%d\n" % pid)
os.rename(d + "/pid.tmp", d + "/pid")
out, sent = open(d + "/out", "ab", 0), False
while True:
    if not sent and os.path.exists(d + "/ctrl-c"):
        os.write(master, b"\x03")
        sent = True
    r, _, _ = select.select([master], [], [], 0.05)
    if r:
        try:
            out.write(os.read(master, 65536))
        except OSError:
            pass
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        code = os.waitstatus_to_exitcode(status)
        open(d + "/status", "w").write(str(code) if code >= 0 else "signal %d" % -code)
        break
PY

# pty_start DIR ARGS...: the master under PTY_RUN, workers ttyprobe with
# their reports in DIR/w1, DIR/w2, ...; SM_PID is the master.
pty_start() {
	local d=$1
	shift
	mkdir -p "$d/ctl"
	setsid python3 "$PTY_RUN" "$d/ctl" "$SM_BIN" --chown "$d/rep" "$@" -- \
		/bin/sh -c 'exec "$0" "$1/w$SENTRIK_WORKER_ID"' "$TTYPROBE" "$d/rep" &
	track "$!"
	wait_for 5 test -s "$d/ctl/pid" || fail "the terminal runner did not start"
	SM_PID=$(cat "$d/ctl/pid")
	track "$SM_PID"
	SM_LOG="$d/ctl/out"
}

# stat_field PID N: field N of /proc/PID/stat (counted after the command).
stat_field() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk -v n="$(($2 - 2))" '{print $n}'; }

# report FILE KEY: a value from a ttyprobe report.
report() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p"; }

t_workers_have_no_terminal() {
	users
	need_tool python3
	local d="$SM_TMP/tty" f w fd msid problems=() pids=() child
	pty_start "$d" --user "$SEC_USER" -w 2
	wait_for 10 test -s "$d/rep/w1" -a -s "$d/rep/w2" || fail "no reports from the workers"
	msid=$(stat_field "$SM_PID" 6)
	[ "$msid" = "$SM_PID" ] || fail "the master does not lead its session ($msid): the test is blind"
	for f in "$d"/rep/w1 "$d"/rep/w2; do
		w=$(report "$f" pid)
		child=$(report "$f" child)
		pids+=("$w" "$child")
		[ "$(stat_field "$w" 6)" != "$msid" ] ||
			problems+=("worker $w is in the master's session $msid (its terminal is the master's)")
		[ "$(stat_field "$w" 7)" = 0 ] ||
			problems+=("worker $w has a controlling terminal (tty_nr $(stat_field "$w" 7))")
		[ "$(report "$f" tty)" = E6 ] ||
			problems+=("worker $w: open(/dev/tty) gave '$(report "$f" tty)', want ENXIO (E6)")
		for fd in 0 1 2; do
			[ "$(report "$f" "sti$fd")" != ok ] || problems+=("worker $w: TIOCSTI on fd $fd succeeded")
		done
		[ "$(report "$f" stitty)" != ok ] || problems+=("worker $w: TIOCSTI on /dev/tty succeeded")
		[ "$(readlink "/proc/$w/fd/0")" = /dev/null ] ||
			problems+=("worker $w: stdin is $(readlink "/proc/$w/fd/0"), want /dev/null")
		[ "$(stat_field "$w" 5)" = "$w" ] || problems+=("worker $w does not lead its process group")
	done
	# Ctrl-C on the terminal: SIGINT to its foreground group, the master's.
	touch "$d/ctl/ctrl-c"
	wait_for 5 test -s "$d/ctl/status" || problems+=("Ctrl-C did not stop the master within 5 s")
	[ ! -s "$d/ctl/status" ] || [ "$(cat "$d/ctl/status")" = 0 ] ||
		problems+=("after Ctrl-C the master ended with '$(cat "$d/ctl/status")', want exit 0")
	for w in "${pids[@]}"; do
		wait_for 3 sh -c "! kill -0 $w 2>/dev/null" || problems+=("pid $w survived Ctrl-C")
	done
	[ "${#problems[@]}" -eq 0 ] || fail "$(printf '%s\n' "${problems[@]}")"
}

t_term_stops_every_worker_group_of_a_terminal_master() {
	users
	need_tool python3
	local d="$SM_TMP/tty-term" f w pids=()
	pty_start "$d" --user "$SEC_USER" -w 2
	wait_for 10 test -s "$d/rep/w1" -a -s "$d/rep/w2" || fail "no reports from the workers"
	for f in "$d"/rep/w1 "$d"/rep/w2; do pids+=("$(report "$f" pid)" "$(report "$f" child)"); done
	kill -TERM "$SM_PID"
	wait_for 5 test -s "$d/ctl/status" || fail "TERM did not stop the master within 5 s"
	[ "$(cat "$d/ctl/status")" = 0 ] || fail "after TERM the master ended with '$(cat "$d/ctl/status")'"
	for w in "${pids[@]}"; do
		wait_for 3 sh -c "! kill -0 $w 2>/dev/null" || fail "pid $w (a worker or its child) survived TERM"
	done
}

# ---------------------------------------------------------------------------
# 3. The shipped logrotate file runs its postrotate script as root with a
# pid read from a file the service user writes: the user names a pid and
# root's signal must not reach it.

# rotate_conf DIR: the shipped example with its log and pid paths moved
# under DIR/log and DIR/run, and the service user's name (wherever the
# example names one: runuser -u, su, setpriv) replaced by the test user.
rotate_conf() {
	local d=$1
	# The example is written for the instance "app" of the systemd unit.
	sed -e "s|/var/log/app/|$d/log/|g" -e "s|/run/app/master.pid|$d/run/master.pid|g" \
		-e "s|runuser -u [^ ]*|runuser -u $SEC_USER|g" -e "s|^\([[:space:]]*su\) [^ ]* [^ ]*\$|\1 $SEC_USER $SEC_USER|" \
		-e "s|--reuid[= ][^ ]*|--reuid=$SEC_USER|g" -e "s|--regid[= ][^ ]*|--regid=$SEC_USER|g" \
		"$ROTATE_CONF" >"$d/conf"
	chmod 644 "$d/conf"
	grep -q "$d/run/master.pid" "$d/conf" || fail "the example names no /run/app/master.pid to move"
	grep -q "^$d/log/" "$d/conf" || fail "the example names no /var/log/app/ to move"
}

t_logrotate_signals_no_pid_the_user_wrote() {
	users
	need_tool logrotate
	local d="$SM_TMP/lr" victim
	mkdir -p "$d/log" "$d/run"
	chown "$SEC_IDS" "$d/log" "$d/run"
	rotate_conf "$d"
	# A root process the user would like to see dead.
	setsid sleep 300 &
	victim=$!
	track "$victim"
	as "$SEC_USER" sh -c "echo 'a line' >$d/log/app.log && echo $victim >$d/run/master.pid" ||
		fail "the user could not write its files"
	logrotate -f -s "$d/state" "$d/conf" >"$d/lr.out" 2>&1
	[ -e "$d/log/app.log.1" ] || fail "logrotate did not rotate: $(ls "$d/log"; cat "$d/lr.out")"
	sleep 0.3
	alive "$victim" || fail "root's process $victim (named in the user's pid file) was killed by the postrotate script"
	# The control: with the real master's pid there, its log is reopened.
	rm -f "$d/log"/app.log*
	sm_start --user "$SEC_USER" --pid-file "$d/run/master.pid" --log-file "$d/log/app.log" -w 1 -- "$PROBE"
	wait_for 10 sh -c "[ \"\$(cat $d/run/master.pid 2>/dev/null)\" = $SM_PID ]" || fail "the master wrote no pid file"
	wait_for 10 test -s "$d/log/app.log" || fail "the master wrote no log"
	logrotate -f -s "$d/state" "$d/conf" >"$d/lr.out" 2>&1
	wait_for 5 grep -q "USR1: log file '$d/log/app.log' reopened" "$d/log/app.log" ||
		fail "control: the postrotate script did not make the master reopen its log ($(cat "$d/lr.out"))"
	stop_master
}

# ---------------------------------------------------------------------------
# 4. --chown of a regular file that is a hard link to root's secret (one
# planted in a volume the user filled, or made while protected_hardlinks
# was off): root must not give the secret away.

# start_expect_exit CODE SECONDS ARGS...: start the master, which must
# exit CODE within SECONDS; OUT is what it printed.  A master that starts
# a worker instead has started: it is stopped and the test fails.
start_expect_exit() {
	local code=$1 secs=$2
	shift 2
	sm_start "$@"
	# (Grouped: "a || b || c && d" is "(a || b || c) && d" in sh, which
	# waited the whole time for every master that did exit.)
	wait_for "$secs" sh -c "! kill -0 $SM_PID 2>/dev/null || grep -qs '^State:.*Z' /proc/$SM_PID/status ||
		{ [ -n \"\$(cat /proc/$SM_PID/task/*/children 2>/dev/null)\" ] && grep -q 'workers ready' $SM_LOG; }"
	if alive "$SM_PID"; then
		if [ -n "$(children "$SM_PID")" ]; then
			START_FAIL="started workers (want exit $code): $(head -2 "$SM_LOG" | tr '\n' ' ')"
		else
			START_FAIL="still running after $secs s (want exit $code) $(head -2 "$SM_LOG" | tr '\n' ' ')"
		fi
		kill -KILL "$SM_PID" 2>/dev/null
		wait "$SM_PID" 2>/dev/null
		OUT=$(cat "$SM_LOG")
		return 1
	fi
	wait_exit "$SM_PID" 1
	OUT=$(cat "$SM_LOG")
	START_FAIL=""
	[ "$EXIT_CODE" = "$code" ] || START_FAIL="exit $EXIT_CODE, want $code: $OUT"
	[ -z "$START_FAIL" ]
}

t_chown_refuses_a_hard_link() {
	users
	local vol="$SM_TMP/vol" secret="$SM_TMP/keys/secret.key"
	mkdir -p "$vol" "$(dirname "$secret")"
	chown "$SEC_IDS" "$vol"
	echo "root's key" >"$secret"
	chmod 600 "$secret"
	# Made by root here: what protected_hardlinks=0 would let the user do.
	ln "$secret" "$vol/app.key"
	start_expect_exit 73 10 --user "$SEC_USER" --chown "$vol/app.key" -w 1 -- "$PROBE"
	[ "$(owner_mode "$secret")" = "0:0 600" ] ||
		fail "root's $secret (0:0 600, linked as $vol/app.key) is now $(owner_mode "$secret"); $START_FAIL"
	[ -z "$START_FAIL" ] || fail "$START_FAIL"
	grep -qF "$vol/app.key" <<<"$OUT" || fail "the message does not name $vol/app.key: $OUT"
	grep -qi 'link' <<<"$OUT" || fail "the message does not say it is a (hard) link: $OUT"
}

# A regular file given to the user keeps its mode when none is asked for.
t_chown_of_a_regular_file_changes_only_its_owner() {
	users
	local vol="$SM_TMP/volf"
	mkdir -p "$vol"
	echo data >"$vol/data.db"
	chmod 640 "$vol/data.db"
	sm_start --user "$SEC_USER" --chown "$vol/data.db" -w 1 -- "$PROBE"
	wait_for 10 has_children "$SM_PID" 1 || fail "no worker"
	[ "$(owner_mode "$vol/data.db")" = "$SEC_IDS 640" ] ||
		fail "data.db: $(owner_mode "$vol/data.db"), want $SEC_IDS 640"
	stop_master
}

# ---------------------------------------------------------------------------
# 5. The workers' notify sockets: a third local user floods them while the
# workers send READY=1 and WATCHDOG=1; no worker may be taken for dead.

worker_env() { tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n "s/^$2=//p" | head -1; }

t_notify_sockets_withstand_another_users_flood() {
	users
	local w sock addrs=() before after problems=() dir
	sm_start --user "$SEC_USER" --ready notify --timeout 2 -w 2 -- "$PROBE" --notify READY=1 --ping 0.5
	wait_for 10 has_children "$SM_PID" 2 || fail "no 2 workers"
	wait_for 10 grep -q 'workers ready' "$SM_LOG" || fail "the workers did not become ready"
	before=$(children "$SM_PID" | sort | tr '\n' ' ')
	for w in $before; do
		sock=$(worker_env "$w" NOTIFY_SOCKET)
		[ -n "$sock" ] || fail "worker $w has no NOTIFY_SOCKET"
		addrs+=("$sock")
	done
	# 10 s of datagrams from three processes of another user, at every
	# worker's socket (whatever it can reach of them).
	as "$OTHER_USER" "$FLOOD" 10 3 "${addrs[@]}" >"$SM_TMP/flood" 2>&1 || fail "flood: $(cat "$SM_TMP/flood")"
	sleep 1
	alive "$SM_PID" || fail "the master died under the flood"
	after=$(children "$SM_PID" | sort | tr '\n' ' ')
	[ "$after" = "$before" ] ||
		problems+=("workers replaced under another user's flood ($(cat "$SM_TMP/flood")): '$before' -> '$after'; $(grep -ci 'watchdog\|timeout' "$SM_LOG") watchdog lines in the log")
	for sock in "${addrs[@]}"; do
		case "$sock" in
		/*)
			dir=$(dirname "$sock")
			[ "$(owner_mode "$dir")" = "$SEC_IDS 700" ] ||
				problems+=("$sock: its directory is $(owner_mode "$dir"), want $SEC_IDS 700")
			;;
		*) problems+=("NOTIFY_SOCKET '$sock' is not a path in a private directory") ;;
		esac
	done
	[ "${addrs[0]}" != "${addrs[1]}" ] || problems+=("both workers share NOTIFY_SOCKET '${addrs[0]}'")
	[ "${#problems[@]}" -eq 0 ] || fail "$(printf '%s\n' "${problems[@]}")"
	note "flood: $(cat "$SM_TMP/flood")"
	stop_master
}

# ---------------------------------------------------------------------------
# 6. --config at a root start: only a file that only root can change is
# trusted; a line the parser would split, or a file that never ends, is
# refused instead of read some other way.

# config_refused FILE WHY: a root start with --user and --config FILE must
# exit 78 naming FILE; PROBLEMS gets what went wrong.
config_refused() {
	local f=$1 why=$2
	if ! start_expect_exit 78 10 --config "$f" --user "$SEC_USER" -w 1 -- "$PROBE"; then
		PROBLEMS+=("$why: $START_FAIL")
	elif ! grep -qF "$f" <<<"$OUT"; then
		PROBLEMS+=("$why: the message does not name $f: $OUT")
	fi
}

t_config_root_does_not_own_is_refused() {
	users
	local d="$SEC_ROOT/cfg-owner" PROBLEMS=()
	mkdir -p "$d/userdir"
	chown "$SEC_IDS" "$d/userdir"
	printf 'workers = 1\n' >"$d/user.conf"
	chown "$SEC_IDS" "$d/user.conf"
	config_refused "$d/user.conf" "a config owned by the service user"
	printf 'workers = 1\n' >"$d/group.conf"
	chmod 664 "$d/group.conf"
	config_refused "$d/group.conf" "a group-writable config"
	printf 'workers = 1\n' >"$d/other.conf"
	chmod 646 "$d/other.conf"
	config_refused "$d/other.conf" "a world-writable config"
	printf 'workers = 1\n' >"$d/userdir/app.conf"
	config_refused "$d/userdir/app.conf" "a root config in a directory the service user owns"
	[ "${#PROBLEMS[@]}" -eq 0 ] || fail "$(printf '%s\n' "${PROBLEMS[@]}")"
}

# A line of 210 bytes: inih reads 199 of them as one line and the rest,
# "user = root", as the next.
t_config_line_longer_than_the_parser_reads_is_refused() {
	users
	local d="$SEC_ROOT/cfg-long" f chdir pad
	mkdir -p "$d"
	chdir="$d/"
	pad=$((199 - 8 - ${#chdir}))
	chdir="$chdir$(printf 'a%.0s' $(seq 1 "$pad"))"
	mkdir -p "$chdir"
	f="$d/app.conf"
	printf 'user = %s\nchdir = %suser = root\n' "$SEC_USER" "$chdir" >"$f"
	[ "$(sed -n 2p "$f" | wc -c)" = 211 ] || fail "test bug: line 2 is $(sed -n 2p "$f" | wc -c) bytes"
	if ! start_expect_exit 78 10 --config "$f" -w 1 -- "$PROBE"; then
		fail "$START_FAIL$(grep -q 'running as root' <<<"$OUT" && echo " -- the master ran as root")"
	fi
	grep -qF "$f:2" <<<"$OUT" || fail "the message does not say $f:2: $OUT"
	! grep -q 'running as root' <<<"$OUT" || fail "the master ran as root: $OUT"
}

t_config_that_never_ends_is_refused() {
	users
	start_expect_exit 78 2 --config /dev/zero --user "$SEC_USER" -w 1 -- "$PROBE" ||
		fail "--config /dev/zero: $START_FAIL"
	grep -qF /dev/zero <<<"$OUT" || fail "the message does not name /dev/zero: $OUT"
}

# A Kubernetes ConfigMap volume: app.conf -> ..data/app.conf, ..data ->
# ..TIMESTAMP, all root's: trusted.
t_config_from_a_configmap_volume_is_accepted() {
	users
	local d="$SEC_ROOT/configmap"
	mkdir -p "$d/..2026_01_02_03_04_05.678901"
	printf 'workers = 2\n' >"$d/..2026_01_02_03_04_05.678901/app.conf"
	ln -s ..2026_01_02_03_04_05.678901 "$d/..data"
	ln -s ..data/app.conf "$d/app.conf"
	sm_start --config "$d/app.conf" --user "$SEC_USER" -- "$PROBE"
	wait_for 10 has_children "$SM_PID" 2 || fail "the master did not start 2 workers from the ConfigMap config"
	stop_master
}

# ---------------------------------------------------------------------------
# 7. A name service that never answers (an LDAP server gone, here a FIFO
# bind-mounted over /etc/passwd in a mount namespace of the master's own):
# the lookup is bounded and its helper dies with the master.

# nss_hang_start ARGS...: the master, its /etc/passwd a FIFO nobody writes
# and its nsswitch.conf "files" only, so that a passwd lookup blocks.
nss_hang_start() {
	local d
	d=$(mktemp -d "$SM_TMP/nss.XXXXXX")
	mkfifo "$d/passwd"
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' >"$d/nsswitch.conf"
	SM_BIN=unshare sm_start --mount --propagation private -- sh -c \
		'mount --bind "$0" /etc/nsswitch.conf && mount --bind "$1" /etc/passwd && shift && exec "$@"' \
		"$d/nsswitch.conf" "$d/passwd" "$SM_MASTER_BIN" "$@"
}

t_hung_user_lookup_is_bounded() {
	users
	need_tool unshare
	nss_hang_start --user "$SEC_USER" -w 1 -- "$PROBE"
	if ! wait_exit "$SM_PID" 13; then
		fail "still running 13 s after the start with /etc/passwd hanging (want exit 71 within 10 s): $(cat "$SM_LOG")"
	fi
	[ "$EXIT_CODE" = 71 ] || fail "exit $EXIT_CODE, want 71: $(cat "$SM_LOG")"
	grep -q "$SEC_USER" "$SM_LOG" || fail "the message does not name the lookup of $SEC_USER: $(cat "$SM_LOG")"
	grep -Eqi 'hung|hang|time|answer' "$SM_LOG" || fail "the message does not say the lookup hung: $(cat "$SM_LOG")"
}

t_hung_lookup_helper_dies_with_the_master() {
	users
	need_tool unshare
	local helpers left=""
	nss_hang_start --user "$SEC_USER" -w 1 -- "$PROBE"
	sleep 1
	alive "$SM_PID" || fail "the master did not wait for the lookup: $(cat "$SM_LOG")"
	helpers=$(descendants "$SM_PID")
	[ -n "$helpers" ] || fail "no lookup helper below the master: the test is blind ($(cat "$SM_LOG"))"
	for p in $helpers; do track "$p"; done
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 5 || left="the master itself (TERM did not stop it within 5 s) "
	for p in $helpers; do
		wait_for 3 sh -c "! kill -0 $p 2>/dev/null || grep -q '^State:.*Z' /proc/$p/status" ||
			left="$left$p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)) "
	done
	[ -z "$left" ] || fail "still alive after TERM to the master: $left"
}

# ---------------------------------------------------------------------------
# 8. Signals the service user can send that would kill the master by
# default: each is logged and ignored; the pool never notices.

# sig_pattern NAME: a log line that names signal NAME (with or without SIG,
# not as part of a longer name: VTALRM is not ALRM).
sig_pattern() { printf '(^|[^A-Z0-9])(SIG)?%s([^A-Z0-9+]|$)' "${1//+/\\+}"; }

warned_or_dead() { grep -Eq "WARNING:.*$(sig_pattern "$1")" "$SM_LOG" || ! alive "$SM_PID"; }

t_stray_signals_are_logged_and_ignored() {
	users
	local sig workers problems=() n lines
	sm_start --user "$SEC_USER" -w 2 -- "$PROBE"
	wait_for 10 has_children "$SM_PID" 2 || fail "no 2 workers"
	workers=$(children "$SM_PID" | sort | tr '\n' ' ')
	for sig in USR2 ALRM PROF VTALRM XCPU XFSZ PWR RTMIN+5; do
		# From the service user, who owns the master after the drop.
		as "$SEC_USER" bash -c 'kill -s "$0" "$1"' "$sig" "$SM_PID" || fail "could not send $sig"
		wait_for 2 warned_or_dead "$sig"
		if ! alive "$SM_PID"; then
			wait_exit "$SM_PID" 1
			problems+=("$sig killed the master (exit status $EXIT_CODE), log: '$(tail -1 "$SM_LOG")'")
			# A new master for the signals still to try.
			sm_start --user "$SEC_USER" -w 2 -- "$PROBE"
			wait_for 10 has_children "$SM_PID" 2 || fail "no 2 workers (after $sig)"
			workers=$(children "$SM_PID" | sort | tr '\n' ' ')
			continue
		fi
		n=$(grep -Ec "WARNING:.*$(sig_pattern "$sig")" "$SM_LOG")
		[ "$n" = 1 ] || problems+=("$sig: $n warning lines naming it, want 1")
		[ "$sig" != USR2 ] || grep -E "$(sig_pattern USR2)" "$SM_LOG" | grep -q HUP ||
			problems+=("the USR2 line does not say that HUP reloads: $(grep -E "$(sig_pattern USR2)" "$SM_LOG")")
		[ "$(children "$SM_PID" | sort | tr '\n' ' ')" = "$workers" ] ||
			problems+=("$sig: workers changed from '$workers' to '$(children "$SM_PID" | sort | tr '\n' ' ')'")
	done
	# PIPE: ignored without a word.
	lines=$(wc -l <"$SM_LOG")
	as "$SEC_USER" kill -s PIPE "$SM_PID"
	sleep 0.3
	alive "$SM_PID" || problems+=("PIPE killed the master")
	[ "$(wc -l <"$SM_LOG")" = "$lines" ] || problems+=("PIPE was logged: $(tail -1 "$SM_LOG")")
	[ "${#problems[@]}" -eq 0 ] || fail "$(printf '%s\n' "${problems[@]}")"
	stop_master
}

# ---------------------------------------------------------------------------
# 9. The service user replaces the log file by a FIFO before a USR1: the
# reopen must not block the master (nor open anything but a regular file).

t_usr1_reopen_does_not_block_on_a_fifo() {
	users
	local d="$SM_TMP/fifolog"
	mkdir -p "$d"
	chown "$SEC_IDS" "$d"
	sm_start --user "$SEC_USER" --log-file "$d/app.log" -w 1 -- "$PROBE"
	wait_for 10 grep -qs 'ready, generation' "$d/app.log" || fail "no log file"
	as "$SEC_USER" sh -c "mv $d/app.log $d/app.log.1 && mkfifo $d/app.log" || fail "the user could not plant the FIFO"
	kill -USR1 "$SM_PID"
	sleep 0.5
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 5 ||
		fail "the master did not exit within 5 s of TERM after a USR1 with a FIFO as its log file ($(tail -1 "$d/app.log.1"))"
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE after TERM"
	grep -E "USR1.*$d/app.log" "$d/app.log.1" | grep -Eiq 'keep|kept' ||
		fail "no line in the old file saying why it was kept: $(tail -3 "$d/app.log.1")"
}

# ---------------------------------------------------------------------------
# 10. Descriptors the master inherits: a careless parent's open secret is
# closed at start; a --bind fd:N that is no listening stream socket is
# refused.

t_inherited_descriptor_is_closed() {
	users
	local fd w link leaks=""
	# A parent holding /etc/shadow open on fd 7, not close-on-exec.
	exec 7</etc/shadow
	sm_start --user "$SEC_USER" -w 1 -- "$PROBE"
	exec 7<&-
	wait_for 10 has_children "$SM_PID" 1 || fail "no worker"
	for w in "$SM_PID" $(children "$SM_PID"); do
		for fd in /proc/"$w"/fd/*; do
			link=$(readlink "$fd" 2>/dev/null) || continue
			[ "$link" = /etc/shadow ] && leaks="$leaks pid $w fd ${fd##*/} -> $link;"
		done
	done
	[ ! -e "/proc/$SM_PID/fd/7" ] || leaks="$leaks master fd 7 still open ($(readlink "/proc/$SM_PID/fd/7"));"
	[ -z "$leaks" ] || fail "inherited descriptors still open after the start:$leaks"
	stop_master
}

# fd_bind_refused KIND: a socket of KIND (a TCP socket bound but not
# listening, or a raw socket) at fd 5, then exec
# of the master with --bind fd:5: it must exit 64 with one line naming fd:5.
fd_bind_refused() {
	local kind=$1 out rc=0
	out=$(timeout -k 2 3 python3 -c '
import os, socket, sys
kind = sys.argv[1]
if kind == "unlistened":
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
elif kind == "raw":
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
os.dup2(s.fileno(), 5)
os.set_inheritable(5, True)
os.execv(sys.argv[2], sys.argv[2:])
' "$kind" "$SM_BIN" --bind fd:5 -w 1 -- "$PROBE" 2>&1) || rc=$?
	if [ "$rc" != 64 ]; then
		[ "$rc" = 124 ] && rc="none: it started and ran until killed"
		PROBLEMS+=("$kind socket at fd:5: exit $rc, want 64 ($(echo "$out" | head -2 | tr '\n' ' '))")
	elif ! grep -q 'fd:5' <<<"$out" || [ "$(echo "$out" | wc -l)" != 1 ]; then
		PROBLEMS+=("$kind socket at fd:5: want one line naming fd:5, got: $out")
	fi
}

t_bind_fd_that_is_not_a_listening_stream_is_refused() {
	root_only
	need_tool python3
	local PROBLEMS=()
	fd_bind_refused unlistened
	fd_bind_refused raw
	[ "${#PROBLEMS[@]}" -eq 0 ] || fail "$(printf '%s\n' "${PROBLEMS[@]}")"
}

# ---------------------------------------------------------------------------
# 11. The "fix:" an unwritable path prints never hands a shared system
# directory to the service user; it proposes a directory of its own.

# hint_check DIR OWN CWD ARGS...: a start and a --check (from CWD) with
# ARGS for user nobody must exit 73, print no "chown UID:GID DIR" (DIR
# itself, or "." when DIR is CWD) and, when OWN is set, propose
# "--chown DIR/...".
hint_check() {
	local dir=$1 own=$2 cwd=$3 mode out rc re
	shift 3
	re="chown [0-9]+:[0-9]+ ${dir//./\\.}([ ;,)]|$)"
	[ "$dir" = "$cwd" ] && re="chown [0-9]+:[0-9]+ (${dir//./\\.}|\\.)([ ;,)]|$)"
	for mode in start --check; do
		rc=0
		if [ "$mode" = start ]; then
			out=$(cd "$cwd" && timeout -k 2 10 "$SM_BIN" --user nobody "$@" -- "$PROBE" 2>&1) || rc=$?
		else
			out=$(cd "$cwd" && timeout -k 2 10 "$SM_BIN" --check --user nobody "$@" -- "$PROBE" 2>&1) || rc=$?
		fi
		[ "$rc" = 73 ] || PROBLEMS+=("$mode $*: exit $rc, want 73: $out")
		if grep -Eq "$re" <<<"$out"; then
			PROBLEMS+=("$mode $* (from $cwd) gives $dir away: $(grep -Eo "$re" <<<"$out" | head -1)")
		fi
		if [ -n "$own" ] && ! grep -qF -- "--chown $dir/" <<<"$out"; then
			PROBLEMS+=("$mode $*: proposes no --chown $dir/<dir of its own>: $(grep -i 'fix' <<<"$out" | head -1)")
		fi
	done
}

t_fix_hints_never_give_system_directories_away() {
	root_only
	getent passwd nobody >/dev/null || fail "no user nobody"
	local PROBLEMS=() log="/var/log/sm-test-$$.log" pid="/run/sm-test-$$.pid"
	[ "$(owner_mode /var/log)" = "0:0 755" ] || note "/var/log is $(owner_mode /var/log)"
	hint_check /var/log own / --log-file "$log"
	hint_check /run own / --pid-file "$pid"
	hint_check / "" / --log-file "sm-test-$$.log"
	rm -f "$log" "$pid" "/sm-test-$$.log"
	[ "${#PROBLEMS[@]}" -eq 0 ] || fail "$(printf '%s\n' "${PROBLEMS[@]}")"
}

run_tests "$@"
