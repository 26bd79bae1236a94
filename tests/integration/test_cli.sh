#!/bin/bash
# Command-line errors are golden: for each tests/golden/cli/NAME.args (one
# argument a line, @TMP@ = a scratch directory) the binary must print
# exactly NAME.err on standard error, nothing on standard output, exit 64
# (78 for config_*), and leave the system untouched.
. "$(dirname "$0")/lib.sh"

GOLDEN="$(cd "$(dirname "$0")/../golden/cli" && pwd)"

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

# The app's own options are the app's: parsing stops at COMMAND.
t_app_flags_reach_the_app() {
	mkdir -p "$SM_TMP/rec"
	sm_start -w 2 "$PROBE" --record "$SM_TMP/rec"
	wait_for 5 sh -c "[ \$(ls $SM_TMP/rec | wc -l) -ge 2 ]" || fail "the probe did not get its flags"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 5 || fail "no exit"
	[ "$EXIT_CODE" = 0 ] || fail "exit $EXIT_CODE"
}

run_tests "$@"
