#!/bin/bash
# Command-line errors are golden: for each tests/golden/cli/NAME.args (one
# argument a line, @TMP@ = a scratch directory) the binary must print
# exactly NAME.err on standard error, nothing on standard output, exit 64
# (78 for config_*), and leave the system untouched.  --help, which prints
# the option table, must match the man page's OPTIONS list.
. "$(dirname "$0")/lib.sh"

GOLDEN="$(cd "$(dirname "$0")/../golden/cli" && pwd)"
MAN_PAGE="$(cd "$(dirname "$0")/../../docs" && pwd)/sentrik-master.8"

t_usage_errors_match_golden() {
	local args f name want code got rc scratch bad=0 n=0
	for args in "$GOLDEN"/*.args; do
		name=$(basename "$args" .args)
		scratch="$SM_TMP/$name"
		mkdir -p "$scratch"
		printf 'workers = 2\nfrobnicate = 1\n' >"$scratch/bad.ini"
		mapfile -t argv < <(sed "s|@TMP@|$scratch|g" "$args")
		want=$(sed "s|@TMP@|$scratch|g" "$GOLDEN/$name.err")
		code=64
		[[ $name == config_* ]] && code=78
		timeout 10 "$SM_BIN" "${argv[@]}" >"$scratch/out" 2>"$scratch/err"
		rc=$?
		got=$(cat "$scratch/err")
		n=$((n + 1))
		if [ "$rc" != "$code" ]; then
			echo "$name: exit $rc, want $code"; bad=1
		fi
		if [ "$got" != "$want" ]; then
			echo "$name: stderr differs"; echo "  want: $want"; echo "  got:  $got"; bad=1
		fi
		if [ "$(wc -l <"$scratch/err")" -ne 1 ]; then
			echo "$name: $(wc -l <"$scratch/err") lines on stderr"; bad=1
		fi
		if [ -s "$scratch/out" ]; then
			echo "$name: wrote on stdout"; bad=1
		fi
		# nothing created: only the files this test put there
		f=$(ls -A "$scratch" | grep -vxE 'out|err|bad.ini' | tr '\n' ' ')
		if [ -n "$f" ]; then
			echo "$name: created $f"; bad=1
		fi
	done
	[ "$n" -ge 20 ] || fail "only $n golden cases found in $GOLDEN"
	[ "$bad" = 0 ] || fail "usage errors differ from the golden files"
}

t_help_and_version_exit_0() {
	"$SM_BIN" --help >"$SM_TMP/help" 2>"$SM_TMP/help.err" || fail "--help exit $?"
	head -1 "$SM_TMP/help" | grep -q '^Usage: sentrik-master \[OPTION\]\.\.\. \[--\] COMMAND' ||
		fail "--help: $(head -1 "$SM_TMP/help")"
	for o in --workers --max-workers --graceful-timeout --stop-signal --forward --chdir --umask \
		--log-level --help --version; do
		grep -q -- "$o" "$SM_TMP/help" || fail "--help does not mention $o"
	done
	[ -s "$SM_TMP/help.err" ] && fail "--help wrote on stderr"
	"$SM_BIN" -h | cmp -s - "$SM_TMP/help" || fail "-h differs from --help"
	out=$("$SM_BIN" --version) || fail "--version exit $?"
	[[ $out =~ ^sentrik-master\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version: '$out'"
	[ "$("$SM_BIN" -V)" = "$out" ] || fail "-V differs from --version"
}

# Options come from one table, and --help prints that table.  Each option
# as "SHORT|LONG|value" or "SHORT|LONG|flag", one a line, sorted: from the
# option column of --help, and from the .It entries of the man page's
# OPTIONS section.
options_of_help() {
	grep -E '^  (-[A-Za-z], |    )--[a-z]' "$1" |
		sed -E 's/^  (-([A-Za-z]), |    )--([a-z-]+)( [^ ])?.*/\2|\3|\4/; s/\| .$/|value/; s/\|$/|flag/' |
		sort
}
options_of_man() {
	sed -n '/^\.Sh OPTIONS/,/^\.Sh [^O]/p' "$1" | grep -E '^\.It (Fl [A-Za-z] , )?Fl \\-' |
		sed -E 's/^\.It (Fl ([A-Za-z]) , )?Fl \\-([a-z-]+)( (Ar|Cm))?.*/\2|\3|\4/; s/\| (Ar|Cm)$/|value/; s/\|$/|flag/' |
		sort
}
# Prints what one side lists and the other lacks; fails if anything.
options_differ() {
	local help=$1 page=$2 out
	out=$(diff <(options_of_help "$help") <(options_of_man "$page")) && return 0
	printf '%s\n' "$out" | sed -n 's/^< /only in --help: /p; s/^> /only in the man page: /p'
	return 1
}

t_man_page_lists_every_option() {
	local n d
	[ -f "$MAN_PAGE" ] || fail "no man page at $MAN_PAGE"
	"$SM_BIN" --help >"$SM_TMP/help" || fail "--help exit $?"
	n=$(options_of_help "$SM_TMP/help" | grep -c .)
	[ "$n" -ge 20 ] || fail "--help lists only $n options"
	d=$(options_differ "$SM_TMP/help" "$MAN_PAGE") || fail "man page and --help differ: $d"
	# The check must be able to fail: an entry taken from the man page, an
	# option added to --help, a short form or a value lost are all found.
	grep -v '^\.It Fl \\-timeout ' "$MAN_PAGE" >"$SM_TMP/man.lacks"
	sed 's/^\(      --check  \)/      --frobnicate  x\n\1/' "$SM_TMP/help" >"$SM_TMP/help.more"
	sed 's/^\.It Fl w , Fl \\-workers/.It Fl \\-workers/' "$MAN_PAGE" >"$SM_TMP/man.short"
	sed 's/^\.It Fl \\-umask Ar mode/.It Fl \\-umask/' "$MAN_PAGE" >"$SM_TMP/man.flag"
	d=$(options_differ "$SM_TMP/help" "$SM_TMP/man.lacks") && fail "a missing --timeout went unseen"
	[ "$d" = "only in --help: |timeout|value" ] || fail "missing --timeout reported as: $d"
	d=$(options_differ "$SM_TMP/help.more" "$MAN_PAGE") && fail "an undocumented option went unseen"
	[ "$d" = "only in --help: |frobnicate|flag" ] || fail "undocumented option reported as: $d"
	options_differ "$SM_TMP/help" "$SM_TMP/man.short" >/dev/null && fail "a lost -w went unseen"
	options_differ "$SM_TMP/help" "$SM_TMP/man.flag" >/dev/null && fail "a lost value went unseen"
	true
}

# The app's own options are the app's: parsing stops at COMMAND.
t_app_flags_reach_the_app() {
	mkdir -p "$SM_TMP/rec"
	sm_start -w 2 "$PROBE" --record "$SM_TMP/rec"
	wait_for 5 sh -c "[ \$(ls $SM_TMP/rec | wc -l) -ge 2 ]" || fail "the probe did not get its flags"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 5 || fail "no exit"
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE"
}

# Messages that must say what a newcomer got wrong, at run time.

# A worker that binds the port itself (the master holds it) dies at start;
# with its output captured the master says where the socket is.
t_address_in_use_hint() {
	sm_start --capture-output --bind 127.0.0.1:0 -- python3 -c '
import socket
port = socket.socket(fileno=3).getsockname()[1]
socket.socket().bind(("127.0.0.1", port))'
	wait_exit "$SM_PID" 10 || fail "master still running"
	[ "$EXIT_CODE" = 69 ] || fail "exit $EXIT_CODE, want 69"
	grep -q "stderr: OSError: \[Errno 98\] Address already in use" "$SM_LOG" ||
		fail "the worker's own line is missing"
	grep -q "WARNING: worker 1 said 'address already in use': workers take their socket from the master, from fd 3 (LISTEN_FDS)" "$SM_LOG" ||
		fail "no hint"
	# A worker that merely mentions it later, once ready, gets no hint.
	sm_start --capture-output --ready exec -- sh -c 'sleep 1.5; echo "address already in use"; exit 1'
	wait_for 10 grep -q "exited with status 1" "$SM_LOG" || fail "the worker did not exit"
	grep -q "said 'address already in use'" "$SM_LOG" && fail "hint for a worker that ran 1.5 s"
	true
}

# A relative COMMAND is executed from --chdir: the message says so.
t_relative_command_from_chdir() {
	mkdir -p "$SM_TMP/elsewhere"
	(cd "$SM_HELPERS" && timeout 10 "$SM_BIN" --chdir "$SM_TMP/elsewhere" -- ./probe 2>"$SM_TMP/err")
	rc=$?
	[ "$rc" = 69 ] || fail "exit $rc, want 69"
	grep -q "cannot execute './probe': No such file or directory (a relative path: resolved from --chdir $SM_TMP/elsewhere)" "$SM_TMP/err" ||
		fail "message: $(cat "$SM_TMP/err")"
}

# The other way round: ./probe exists only in --chdir, where the worker
# runs it; the start looks for it there too.
t_relative_command_runs_from_chdir() {
	mkdir -p "$SM_TMP/there"
	cp "$PROBE" "$SM_TMP/there/probe"
	local here=$PWD
	cd / || fail "cd /"
	sm_start --chdir "$SM_TMP/there" --ready exec -w 1 -- ./probe
	cd "$here" || fail "cd back"
	wait_for 10 grep -q "ready, generation 0" "$SM_LOG" || fail "not started: $(cat "$SM_LOG")"
	stop_master
}

# Not root, port 80: both ways out are named.
t_low_port_as_non_root() {
	need_root
	command -v setpriv >/dev/null || skip "setpriv missing"
	[ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" -gt 80 ] ||
		skip "unprivileged ports start at or below 80 here"
	timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups "$SM_BIN" --bind 127.0.0.1:80 -- true 2>"$SM_TMP/err"
	rc=$?
	[ "$rc" = 71 ] || fail "exit $rc, want 71"
	grep -q "cannot bind 127.0.0.1:80: Permission denied (a port below 1024 needs root: start as root with --user USER, or use a port >= 1024)" "$SM_TMP/err" ||
		fail "message: $(cat "$SM_TMP/err")"
}

# A key set twice in the file: the later wins, with a warning naming both
# lines; inline comments and quotes are what they are in other INI files.
t_config_file_as_written() {
	printf 'workers = 3 # three\nbind = "127.0.0.1:0"\nworkers = 2\n' >"$SM_TMP/c.ini"
	sm_start --config "$SM_TMP/c.ini" -- "$PROBE"
	wait_for 5 grep -q "workers ready" "$SM_LOG" || fail "did not start"
	grep -q "WARNING: $SM_TMP/c.ini:3: 'workers' repeats line 1; the value of line 3 is used" "$SM_LOG" ||
		fail "no warning for the repeated key"
	grep -q "INFO: listening on 127.0.0.1:0" "$SM_LOG" || fail "quoted --bind not taken"
	grep -q "2 workers ready" "$SM_LOG" || fail "the later value did not win"
}

run_tests "$@"
