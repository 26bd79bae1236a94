#!/bin/bash
# --check: the report (golden text), its exit codes (those a start would
# end with), and that it changes nothing on the system.
. "$(dirname "$0")/lib.sh"

# check ARGS...: run --check; OUT is its standard output with the test
# directory written TMP, RC its exit code.
check() {
	RC=0
	timeout 20 "$SM_BIN" --check "$@" >"$SM_TMP/check.out" 2>"$SM_TMP/check.err" || RC=$?
	OUT=$(sed "s|$SM_TMP|TMP|g" "$SM_TMP/check.out")
}

listing() { find "$SM_TMP/tree" -printf '%p %u %g %m %s %T@\n' | sort; }

t_report_golden_success() {
	need_root
	local u
	u=$(free_uid)
	SM_TEST_SECRET=s3cret check --user "$u" --chown "$SM_TMP/data" --log-file "$SM_TMP/data/app.log" \
		--pid-file "$SM_TMP/data/m.pid" --require-env 'SM_TEST_SECRET!=changeme' -- "$PROBE" --sleep 1
	expected="ok    user      $u (uid $u, gid $u, groups none, HOME=/, no passwd entry)
ok    env       SM_TEST_SECRET is set and not its default
ok    chown     TMP/data will be created and given to $u:$u mode 0755
ok    run dir   /run/sentrik-master/PID will be made for $u:$u mode 0700
ok    chown     TMP/data will be reachable and writable by $u:$u
ok    log dir   TMP/data will be reachable and writable by $u:$u
ok    log file  TMP/data/app.log will be created by $u:$u
ok    pid dir   TMP/data will be reachable and writable by $u:$u
ok    pid file  TMP/data/m.pid will be created by $u:$u
ok    command   $(echo "$PROBE" | sed "s|$SM_TMP|TMP|g") is executable by $u:$u
result: ok, a start would succeed"
	[ "$RC" = 0 ] || fail "exit $RC: $OUT"
	[ "$OUT" = "$expected" ] || fail "report differs:
$(diff <(echo "$expected") <(echo "$OUT"))"
	[ ! -e "$SM_TMP/data" ] || fail "--check created a --chown path"
}

t_report_golden_failure() {
	need_root
	local u
	u=$(free_uid)
	mkdir -p "$SM_TMP/logs"
	chmod 755 "$SM_TMP/logs"
	check --user "$u" --log-file "$SM_TMP/logs/app.log" -- "$SM_TMP/no-such-app"
	expected="ok    user      $u (uid $u, gid $u, groups none, HOME=/, no passwd entry)
ok    run dir   /run/sentrik-master/PID will be made for $u:$u mode 0700
FAIL  log dir   log directory TMP/logs is not writable by $u:$u (owner 0:0, mode 0755)
            fix: chown $u:$u TMP/logs
ok    log file  TMP/logs/app.log will be created by $u:$u
FAIL  command   cannot execute 'TMP/no-such-app' as $u:$u: No such file or directory
            fix: install it, fix PATH, or make it executable by USER
result: a start would fail with exit 73"
	[ "$RC" = 73 ] || fail "exit $RC: $OUT"
	[ "$OUT" = "$expected" ] || fail "report differs:
$(diff <(echo "$expected") <(echo "$OUT"))"
}

t_exit_codes_are_those_of_a_start() {
	need_root
	ensure_user sentrikat 999
	local u
	u=$(free_uid)
	check --user sm-no-such-user -- "$PROBE"
	[ "$RC" = 67 ] || fail "unknown user: $RC"
	check --user sentrikat --group sm-no-such-group -- "$PROBE"
	[ "$RC" = 67 ] || fail "unknown group: $RC"
	env -u SM_TEST_SECRET "$SM_BIN" --check --require-env SM_TEST_SECRET -- "$PROBE" >"$SM_TMP/o" 2>&1
	RC=$?
	[ "$RC" = 78 ] || fail "missing env: $RC"
	grep -q "FAIL  env       SM_TEST_SECRET must be set" "$SM_TMP/o" || fail "env line: $(cat "$SM_TMP/o")"
	mkdir -p "$SM_TMP/ro"
	check --user "$u" --pid-file "$SM_TMP/ro/p.pid" -- "$PROBE"
	[ "$RC" = 73 ] || fail "unwritable pid dir: $RC"
	check --user "$u" -- "$SM_TMP/no-such-app"
	[ "$RC" = 69 ] || fail "missing command: $RC"
	install -m 0700 "$PROBE" "$SM_TMP/root-only-app"
	check --user "$u" -- "$SM_TMP/root-only-app"
	[ "$RC" = 69 ] || fail "command not executable by USER: $RC"
	echo "$OUT" | grep -q "cannot execute 'TMP/root-only-app' as $u:$u: Permission denied" || fail "$OUT"
	mkdir -p "$SM_TMP/private"
	chmod 700 "$SM_TMP/private"
	check --user "$u" --chdir "$SM_TMP/private" -- "$PROBE"
	[ "$RC" = 69 ] || fail "chdir not enterable: $RC"
	RC=0
	setpriv --reuid="$u" --regid="$u" --clear-groups "$SM_BIN" --check --user "$((u + 1))" -- "$PROBE" >"$SM_TMP/o" 2>&1 || RC=$?
	[ "$RC" = 77 ] || fail "non-root, other uid: $RC"
	grep -q "running as uid $u, cannot switch to uid $((u + 1))" "$SM_TMP/o" || fail "$(cat "$SM_TMP/o")"
	check --user "$u" -- "$PROBE"
	[ "$RC" = 0 ] || fail "a good start: $RC: $OUT"
}

t_check_names_a_symlink() {
	need_root
	mkdir -p "$SM_TMP/victim" "$SM_TMP/vol"
	ln -s "$SM_TMP/victim" "$SM_TMP/vol/logs"
	check --user "$(free_uid)" --chown "$SM_TMP/vol/logs/app" -- "$PROBE"
	[ "$RC" = 73 ] || fail "exit $RC"
	echo "$OUT" | grep -q "^FAIL  chown     --chown TMP/vol/logs/app: TMP/vol/logs is a symlink, refusing to follow it" ||
		fail "$OUT"
}

t_check_changes_nothing() {
	need_root
	ensure_user sentrikat 999
	local before after
	mkdir -p "$SM_TMP/tree/logs" "$SM_TMP/tree/run" "$SM_TMP/tree/victim" "$SM_TMP/tree/existing"
	echo 123 >"$SM_TMP/tree/run/old.pid"
	ln -s "$SM_TMP/tree/victim" "$SM_TMP/tree/link"
	chmod 700 "$SM_TMP/tree/victim"
	before=$(listing)
	# A passing check and several failing ones, each touching the tree.
	check --user sentrikat --chown "$SM_TMP/tree/new/a/b" --chown "$SM_TMP/tree/existing:0700" \
		--log-file "$SM_TMP/tree/new/a/b/app.log" -- "$PROBE"
	[ "$RC" = 0 ] || fail "passing check: $RC: $OUT"
	check --user sentrikat --chown "$SM_TMP/tree/link/sub" --log-file "$SM_TMP/tree/logs/app.log" \
		--pid-file "$SM_TMP/tree/run/old.pid" -- "$PROBE"
	[ "$RC" = 73 ] || fail "failing check: $RC: $OUT"
	check --chown "$SM_TMP/tree/new2" --pid-file "$SM_TMP/tree/run/m.pid" -- "$PROBE"
	[ "$RC" = 0 ] || fail "root-mode check: $RC: $OUT"
	after=$(listing)
	[ "$before" = "$after" ] || fail "the tree changed:
$(diff <(echo "$before") <(echo "$after"))"
}

run_tests "$@"
