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

users() {
	need_root
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

run_tests "$@"
