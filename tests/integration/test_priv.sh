#!/bin/bash
# The privilege model (SPEC §3): what the kernel says about the master and
# every worker after the drop, --chown, --require-env, the writable-path
# preflight, the pid file.
. "$(dirname "$0")/lib.sh"

SUID_PROBE_SRC="$SM_HELPERS/setuid-probe"

# A uid with no passwd entry (Kubernetes runAsUser), 5000 when free.
sorted_words() { tr ' \t' '\n\n' | sed '/^$/d' | sort -n | uniq | tr '\n' ' '; }

# assert_identity PID UID GID "GROUPS" NNP [skip-bounding]: Uid and Gid in
# all four fields, the group set, every capability set empty, NoNewPrivs.
assert_identity() {
	local pid=$1 uid=$2 gid=$3 groups=$4 nnp=$5 skip_bnd=${6:-} f a b c d v
	read -r a b c d <<<"$(status_field "$pid" Uid)"
	[ "$a $b $c $d" = "$uid $uid $uid $uid" ] || fail "pid $pid: Uid '$a $b $c $d', want $uid x4"
	read -r a b c d <<<"$(status_field "$pid" Gid)"
	[ "$a $b $c $d" = "$gid $gid $gid $gid" ] || fail "pid $pid: Gid '$a $b $c $d', want $gid x4"
	v=$(status_field "$pid" Groups | sorted_words)
	[ "$v" = "$(echo "$groups" | sorted_words)" ] || fail "pid $pid: Groups '$v', want '$groups'"
	for f in CapInh CapPrm CapEff CapBnd CapAmb; do
		[ "$f" = CapBnd ] && [ -n "$skip_bnd" ] && continue
		v=$(status_field "$pid" $f)
		[ "$v" = 0000000000000000 ] || fail "pid $pid: $f is $v, want 0"
	done
	v=$(status_field "$pid" NoNewPrivs)
	[ "$v" = "$nnp" ] || fail "pid $pid: NoNewPrivs $v, want $nnp"
}

# workers PID: its children that are workers (children in lib.sh leaves
# out the master's own short-lived helpers).
workers() { children "$1"; }

has_workers() { [ "$(workers "$1" | wc -l)" -eq "$2" ]; }

# assert_all PID N ...: the master and each of its N workers.
assert_all() {
	local m=$1 n=$2 w
	shift 2
	wait_for 20 has_workers "$m" "$n" || fail "master has not $n workers: $(workers "$m" | wc -l)"
	assert_identity "$m" "$@"
	for w in $(workers "$m"); do assert_identity "$w" "$@"; done
}

# expect_fail CODE PATTERN CMD...: CMD exits CODE with exactly one line
# on its output, matching PATTERN (grep -E); OUT is that line.
expect_fail() {
	local code=$1 pattern=$2 rc=0
	shift 2
	OUT=$(timeout 10 "$@" 2>&1) || rc=$?
	[ "$rc" = "$code" ] || fail "exit $rc, want $code: $OUT"
	echo "$OUT" | grep -qE -- "$pattern" || fail "message does not match '$pattern': $OUT"
	[ "$(echo "$OUT" | wc -l)" = 1 ] || fail "more than one line: $OUT"
}

# start_as SETPRIV-OPTIONS... -- MASTER-ARGS...: start the master through
# setpriv (its pid is the master's: setpriv execs).
start_as() {
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	SM_LOG="$SM_TMP/master.$RANDOM.log"
	setsid setpriv "${opts[@]}" "$SM_BIN" "$@" 2>"$SM_LOG" &
	SM_PID=$!
	track "$SM_PID"
}

worker_env() { tr '\0' '\n' <"/proc/$1/environ" | grep -E "^$2=" | head -1 | cut -d= -f2-; }

stop_master() {
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "master did not exit on TERM"
	[ "$EXIT_CODE" = 0 ] || fail "exit code $EXIT_CODE after TERM"
}

t_named_user_master_and_workers() {
	need_root
	ensure_user sentrikat 999
	local uid gid w
	uid=$(id -u sentrikat) gid=$(id -g sentrikat)
	sm_start --user sentrikat -w 3 -- "$PROBE"
	assert_all "$SM_PID" 3 "$uid" "$gid" "$(id -G sentrikat)" 1
	for w in $(workers "$SM_PID"); do
		[ "$(worker_env "$w" USER)" = sentrikat ] || fail "USER in worker $w"
		[ "$(worker_env "$w" LOGNAME)" = sentrikat ] || fail "LOGNAME in worker $w"
		[ "$(worker_env "$w" HOME)" = "$(getent passwd sentrikat | cut -d: -f6)" ] ||
			fail "HOME in worker $w: $(worker_env "$w" HOME)"
	done
	[ "$(grep -c 'running as root' "$SM_LOG")" = 0 ] || fail "root warning with --user"
	stop_master
}

# A user in several groups: master and workers get all of them, looked up
# before the drop and set with setgroups.
t_supplementary_groups_reach_master_and_workers() {
	need_root
	ensure_user sentrikgr 998
	getent group sentrikx >/dev/null || groupadd sentrikx 2>/dev/null || getent group sentrikx >/dev/null ||
		fail "cannot create group sentrikx"
	id -nG sentrikgr | grep -qw sentrikx || usermod -aG sentrikx sentrikgr ||
		fail "cannot add sentrikgr to sentrikx"
	[ "$(id -G sentrikgr | wc -w)" -ge 2 ] || fail "sentrikgr has no supplementary group"
	sm_start --user sentrikgr -w 2 -- "$PROBE"
	assert_all "$SM_PID" 2 "$(id -u sentrikgr)" "$(id -g sentrikgr)" "$(id -G sentrikgr)" 1
	stop_master
}

# The user, group and host name lookups run in short-lived children: an NSS
# module (systemd, sss, ldap, mdns) must never be loaded into the master.
t_master_loads_no_nss_module() {
	need_root
	local mod
	mod=$(ls /lib/*/libnss_systemd.so.2 /usr/lib/*/libnss_systemd.so.2 2>/dev/null | head -1)
	[ -n "$mod" ] || skip "libnss_systemd.so.2 not installed (apt-get install libnss-systemd)"
	ensure_user sentrikat 999
	# The machine's nsswitch.conf may list files only: in a mount namespace
	# of its own the master sees one that sends lookups to the module too.
	# ("hosts: systemd" makes glibc load the module for a host name too,
	# though it answers no host lookups: --bind localhost is covered.)
	printf 'passwd: files systemd\ngroup: files systemd\nhosts: systemd files\n' >"$SM_TMP/nsswitch.conf"
	SM_BIN=unshare sm_start --mount -- sh -c 'mount --bind "$0" /etc/nsswitch.conf && exec "$@"' \
		"$SM_TMP/nsswitch.conf" "$SM_MASTER_BIN" --user sentrikat --bind localhost:0 -w 1 -- "$PROBE"
	wait_for 10 has_workers "$SM_PID" 1 || fail "no worker"
	if grep -q 'libnss_' "/proc/$SM_PID/maps"; then
		fail "the master maps $(grep -o '[^/]*libnss_[^ ]*' "/proc/$SM_PID/maps" | sort -u | tr '\n' ' ')"
	fi
	stop_master
}

t_numeric_uid_without_passwd_entry() {
	need_root
	local uid w
	uid=$(free_uid)
	sm_start --user "$uid" -w 2 -- "$PROBE"
	assert_all "$SM_PID" 2 "$uid" "$uid" "" 1
	for w in $(workers "$SM_PID"); do
		[ "$(worker_env "$w" HOME)" = / ] || fail "HOME '$(worker_env "$w" HOME)', want /"
		[ "$(worker_env "$w" USER)" = "$uid" ] || fail "USER in worker $w"
		[ "$(worker_env "$w" LOGNAME)" = "$uid" ] || fail "LOGNAME in worker $w"
	done
	stop_master
}

t_user_and_group_numbers() {
	need_root
	local uid
	uid=$(free_uid)
	sm_start --user "$uid:$((uid + 7))" -w 1 -- "$PROBE"
	assert_all "$SM_PID" 1 "$uid" "$((uid + 7))" "" 1
	stop_master
}

t_allow_new_privs_leaves_nnp_off() {
	need_root
	ensure_user sentrikat 999
	sm_start --user sentrikat --allow-new-privs -w 2 -- "$PROBE"
	assert_all "$SM_PID" 2 "$(id -u sentrikat)" "$(id -g sentrikat)" "$(id -G sentrikat)" 0
	stop_master
}

t_non_root_start_via_setpriv() {
	need_root
	local uid
	uid=$(free_uid)
	start_as --reuid="$uid" --regid="$uid" --clear-groups -- --user "$uid" -w 2 -- "$PROBE"
	# Without CAP_SETPCAP nobody can empty the bounding set; no_new_privs
	# is what keeps it from ever mattering.
	assert_all "$SM_PID" 2 "$uid" "$uid" "" 1 skip-bounding
	stop_master
}

t_non_root_cannot_switch_to_another_uid() {
	need_root
	local uid
	uid=$(free_uid)
	expect_fail 77 "running as uid $uid, cannot switch to uid $((uid + 1))" \
		setpriv --reuid="$uid" --regid="$uid" --clear-groups "$SM_BIN" --user "$((uid + 1))" -- "$PROBE"
}

t_setuid_helper_does_not_get_root() {
	need_root
	ensure_user sentrikat 999
	local suid="$SM_TMP/suid-probe" out="$SM_TMP/out"
	install -o root -g root -m 4755 "$SUID_PROBE_SRC" "$suid"
	sm_start --user sentrikat --chown "$out" -w 1 -- /bin/sh -c "$suid >$out/r.tmp && mv $out/r.tmp $out/r; exec sleep 600"
	wait_for 10 test -s "$out/r" || fail "the worker did not run the helper"
	grep -qx "ruid=$(id -u sentrikat) euid=$(id -u sentrikat)" "$out/r" || fail "helper says: $(cat "$out/r")"
	stop_master
	# The control: without no_new_privs the same helper does get euid 0,
	# so the check above can fail.
	rm -f "$out/r"
	sm_start --user sentrikat --allow-new-privs --chown "$out" -w 1 -- /bin/sh -c "$suid >$out/r.tmp && mv $out/r.tmp $out/r; exec sleep 600"
	wait_for 10 test -s "$out/r" || fail "the worker did not run the helper (control)"
	grep -q "euid=0" "$out/r" || fail "control: setuid helper did not get euid 0 ($(cat "$out/r")): test is blind"
	stop_master
}

t_chown_refuses_symlink_at_path() {
	need_root
	ensure_user sentrikat 999
	mkdir -p "$SM_TMP/victim" "$SM_TMP/vol"
	chmod 700 "$SM_TMP/victim"
	ln -s "$SM_TMP/victim" "$SM_TMP/vol/logs"
	expect_fail 73 "FATAL: --chown $SM_TMP/vol/logs: $SM_TMP/vol/logs is a symlink" \
		"$SM_BIN" --user sentrikat --chown "$SM_TMP/vol/logs" -- "$PROBE"
	[ "$(stat -c '%u:%g %a' "$SM_TMP/victim")" = "0:0 700" ] ||
		fail "target changed: $(stat -c '%u:%g %a' "$SM_TMP/victim")"
}

t_chown_refuses_symlink_inside_path() {
	need_root
	ensure_user sentrikat 999
	mkdir -p "$SM_TMP/victim" "$SM_TMP/vol"
	chmod 700 "$SM_TMP/victim"
	ln -s "$SM_TMP/victim" "$SM_TMP/vol/data"
	expect_fail 73 "FATAL: --chown $SM_TMP/vol/data/sub/dir: $SM_TMP/vol/data is a symlink" \
		"$SM_BIN" --user sentrikat --chown "$SM_TMP/vol/data/sub/dir:0700" -- "$PROBE"
	[ ! -e "$SM_TMP/victim/sub" ] || fail "created through the symlink"
	[ "$(stat -c '%u:%g %a' "$SM_TMP/victim")" = "0:0 700" ] || fail "target changed"
}

t_chown_creates_parents_owner_and_mode() {
	need_root
	ensure_user sentrikat 999
	local uid gid
	uid=$(id -u sentrikat) gid=$(id -g sentrikat)
	mkdir -p "$SM_TMP/existing"
	sm_start --user sentrikat --chown "$SM_TMP/a/b/c:0750" --chown "$SM_TMP/existing" -- "$PROBE"
	wait_for 20 has_workers "$SM_PID" 1 || fail "no worker"
	[ "$(stat -c '%u:%g %a' "$SM_TMP/a/b/c")" = "$uid:$gid 750" ] ||
		fail "a/b/c: $(stat -c '%u:%g %a' "$SM_TMP/a/b/c")"
	[ "$(stat -c '%u:%g %a' "$SM_TMP/existing")" = "$uid:$gid 755" ] ||
		fail "existing: $(stat -c '%u:%g %a' "$SM_TMP/existing")"
	# Only PATH is given away: the parents made on the way stay root's.
	[ "$(stat -c '%u:%g %a' "$SM_TMP/a/b")" = "0:0 755" ] || fail "a/b: $(stat -c '%u:%g %a' "$SM_TMP/a/b")"
	stop_master
}

t_require_env() {
	expect_fail 78 "FATAL: SM_TEST_SECRET must be set$" \
		env -u SM_TEST_SECRET "$SM_BIN" --require-env SM_TEST_SECRET -- "$PROBE"
	expect_fail 78 "FATAL: SM_TEST_SECRET must be set$" \
		env SM_TEST_SECRET= "$SM_BIN" --require-env SM_TEST_SECRET -- "$PROBE"
	expect_fail 78 "FATAL: SM_TEST_SECRET must be changed from its default$" \
		env SM_TEST_SECRET=changeme "$SM_BIN" --require-env 'SM_TEST_SECRET!=changeme' -- "$PROBE"
	SM_TEST_SECRET=s3cret sm_start --require-env 'SM_TEST_SECRET!=changeme' -- "$PROBE"
	wait_for 20 has_workers "$SM_PID" 1 || fail "did not start with the variable set"
	stop_master
}

t_unwritable_log_dir_fails_before_any_worker() {
	need_root
	ensure_user sentrikat 999
	local uid gid
	uid=$(id -u sentrikat) gid=$(id -g sentrikat)
	mkdir -p "$SM_TMP/logs" "$SM_TMP/rec"
	chmod 755 "$SM_TMP/logs"
	chown sentrikat "$SM_TMP/rec"
	expect_fail 73 "FATAL: log directory $SM_TMP/logs is not writable by $uid:$gid \(owner 0:0, mode 0755\); fix: chown $uid:$gid $SM_TMP/logs$" \
		"$SM_BIN" --user sentrikat --log-file "$SM_TMP/logs/app.log" -w 2 -- "$PROBE" --record "$SM_TMP/rec"
	[ -z "$(ls "$SM_TMP/rec")" ] || fail "a worker started"
	[ ! -e "$SM_TMP/logs/app.log" ] || fail "log file created"
}

t_root_owned_log_file_is_named() {
	need_root
	ensure_user sentrikat 999
	local uid gid
	uid=$(id -u sentrikat) gid=$(id -g sentrikat)
	# The seed's "Permission denied writing logs": a file left by a root run.
	mkdir -p "$SM_TMP/oldlogs"
	touch "$SM_TMP/oldlogs/app.log"
	expect_fail 73 "FATAL: log file $SM_TMP/oldlogs/app.log is not writable by $uid:$gid \(owner 0:0, mode 0644\); fix: chown $uid:$gid $SM_TMP/oldlogs/app.log$" \
		"$SM_BIN" --user sentrikat --chown "$SM_TMP/oldlogs" --log-file "$SM_TMP/oldlogs/app.log" -- "$PROBE"
}

t_unreachable_chown_path_fails_before_any_change() {
	need_root
	local uid
	uid=$(free_uid)
	mkdir -p "$SM_TMP/locked"
	chmod 700 "$SM_TMP/locked"
	expect_fail 73 "FATAL: --chown path $SM_TMP/locked/data cannot be reached by $uid:$uid: $SM_TMP/locked is not searchable \(owner 0:0, mode 0700\); fix: chmod o\+x $SM_TMP/locked$" \
		"$SM_BIN" --user "$uid" --chown "$SM_TMP/locked/data" -- "$PROBE"
	[ ! -e "$SM_TMP/locked/data" ] || fail "--chown ran for a start that was going to fail"
}

t_unreachable_pid_dir_names_the_blocking_directory() {
	need_root
	local uid
	uid=$(free_uid)
	mkdir -p "$SM_TMP/private/run"
	chmod 700 "$SM_TMP/private"
	chmod 777 "$SM_TMP/private/run"
	expect_fail 73 "$SM_TMP/private is not searchable \(owner 0:0, mode 0700\); fix: chmod o\+x $SM_TMP/private$" \
		"$SM_BIN" --user "$uid" --pid-file "$SM_TMP/private/run/m.pid" -- "$PROBE"
}

t_pid_file_owned_by_user_and_removed() {
	need_root
	ensure_user sentrikat 999
	local pidf="$SM_TMP/run/master.pid"
	sm_start --user sentrikat --chown "$SM_TMP/run" --pid-file "$pidf" -- "$PROBE"
	wait_for 10 test -s "$pidf" || fail "no pid file"
	[ "$(cat "$pidf")" = "$SM_PID" ] || fail "pid file holds '$(cat "$pidf")', master is $SM_PID"
	[ "$(stat -c '%u:%g' "$pidf")" = "$(id -u sentrikat):$(id -g sentrikat)" ] ||
		fail "pid file owned by $(stat -c '%u:%g' "$pidf")"
	stop_master
	[ ! -e "$pidf" ] || fail "pid file left behind"
}

t_unknown_user_or_group_changes_nothing() {
	expect_fail 67 "^sentrik-master: --user: unknown user 'sm-no-such-user'; fix: create the user, or give a numeric uid$" \
		"$SM_BIN" --user sm-no-such-user --chown "$SM_TMP/never" -- "$PROBE"
	expect_fail 67 "^sentrik-master: --group: unknown group 'sm-no-such-group'" \
		"$SM_BIN" --user root --group sm-no-such-group --chown "$SM_TMP/never" -- "$PROBE"
	[ ! -e "$SM_TMP/never" ] || fail "a --chown path was created"
}

t_root_mode_warns_once() {
	need_root
	sm_start -w 2 -- "$PROBE"
	wait_for 20 has_workers "$SM_PID" 2 || fail "no workers"
	[ "$(grep -c 'running as root' "$SM_LOG")" = 1 ] || fail "want exactly one warning: $(cat "$SM_LOG")"
	[ "$(status_field "$SM_PID" Uid | awk '{print $1}')" = 0 ] || fail "root mode is not root"
	stop_master
}

t_non_root_start_sheds_ambient_capabilities() {
	need_root
	local uid
	uid=$(free_uid)
	# What a service manager's AmbientCapabilities= would hand us.
	start_as --reuid="$uid" --regid="$uid" --clear-groups \
		--inh-caps=+net_bind_service --ambient-caps=+net_bind_service -- -w 2 -- "$PROBE"
	assert_all "$SM_PID" 2 "$uid" "$uid" "" 1 skip-bounding
	stop_master
}

t_root_without_setuid_capability_exits_77() {
	need_root
	local uid
	uid=$(free_uid)
	expect_fail 77 "FATAL: running as root without CAP_SETUID and CAP_SETGID: cannot switch to uid $uid gid $uid" \
		setpriv --bounding-set=-setuid,-setgid "$SM_BIN" --user "$uid" --chown "$SM_TMP/made" -- "$PROBE"
	# Found out before anything was changed.
	[ ! -e "$SM_TMP/made" ] || fail "--chown ran before the switch was known impossible"
}

t_root_without_setpcap_drops_with_nnp() {
	need_root
	local uid
	uid=$(free_uid)
	start_as --bounding-set=-setpcap -- --user "$uid" -w 1 -- "$PROBE"
	assert_all "$SM_PID" 1 "$uid" "$uid" "" 1 skip-bounding
	grep -q "WARNING: the capability bounding set is not empty" "$SM_LOG" || fail "no warning"
	stop_master
	expect_fail 77 "cannot clear the capability bounding set without CAP_SETPCAP" \
		setpriv --bounding-set=-setpcap "$SM_BIN" --user "$uid" --allow-new-privs \
		--chown "$SM_TMP/made" -- "$PROBE"
	[ ! -e "$SM_TMP/made" ] || fail "--chown ran before the drop was known impossible"
}

run_tests "$@"
