#!/bin/bash
# Runs every tests/integration/test_*.sh and prints
# "integration: N passed, N failed, N skipped".  With CI=true a skipped
# test counts as failed: CI runs as root and must run everything.
set -u
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0 skipped=0
# Under valgrind (SM_VALGRIND) each file gets SM_SLOW times longer.
file_timeout=900
[ -n "${SM_VALGRIND:-}" ] && file_timeout=$((900 * ${SM_SLOW:-5}))
# A file's own exit status is kept aside: a file that dies (a syntax error,
# its time limit) or reports no test at all must count as a failure, not
# vanish from the totals with the tests it never ran.
rcfile=$(mktemp)
stage=""
trap 'rm -f "$rcfile"; [ -z "$stage" ] || rm -rf "$stage"' EXIT

# The test users (the --user of most tests, the service user that starts the
# master through setpriv) must execute the master and the helpers and read
# the example apps.  A checkout under a private directory (a clone in a
# `mktemp -d`, a home of mode 0700) is out of their reach, so as root the
# run copies all of it once into a directory of mode 0755, removed at exit.
if [ "$(id -u)" = 0 ] && [ -z "${SM_STAGED:-}" ]; then
	: "${SM_BIN:?SM_BIN must point to the sentrik-master binary}"
	: "${SM_HELPERS:?SM_HELPERS must point to the built test helpers}"
	stage=$(mktemp -d /tmp/sm-stage.XXXXXX)
	mkdir "$stage/sbin"
	cp "$SM_BIN" "$stage/sbin/sentrik-master"
	[ -z "${SM_CTL:-}" ] || cp "$SM_CTL" "$stage/sbin/sentrikctl"
	cp -R "$SM_HELPERS" "$stage/helpers"
	[ -z "${SM_EXAMPLES:-}" ] || cp -R "$SM_EXAMPLES" "$stage/examples"
	cp -R "$here/../../examples" "$stage/examples-src"
	chmod -R a+rX,go-w "$stage"
	export SM_STAGED=$stage SM_BIN="$stage/sbin/sentrik-master" SM_HELPERS="$stage/helpers" \
		SM_EXAMPLE_SRC="$stage/examples-src"
	[ -z "${SM_EXAMPLES:-}" ] || export SM_EXAMPLES="$stage/examples"
	[ -z "${SM_CTL:-}" ] || export SM_CTL="$stage/sbin/sentrikctl"
fi
for f in "$here"/test_*.sh; do
	[ -n "${SM_ONLY:-}" ] && [[ "$f" != *"$SM_ONLY"* ]] && continue
	echo "== $(basename "$f" .sh)"
	verdicts=0
	echo none >"$rcfile"
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		"ok   "*) passed=$((passed + 1)) verdicts=$((verdicts + 1)) ;;
		"FAIL "*) failed=$((failed + 1)) verdicts=$((verdicts + 1)) ;;
		"SKIP "*)
			verdicts=$((verdicts + 1))
			if [ "${CI:-}" = true ]; then failed=$((failed + 1)); echo "     (CI=true: a skip is a failure)"
			else skipped=$((skipped + 1)); fi ;;
		esac
	done < <(timeout "$file_timeout" bash "$f" 2>&1; echo "$?" >"$rcfile")
	rc=$(cat "$rcfile")
	if [ "$rc" != 0 ] || [ "$verdicts" -eq 0 ]; then
		echo "FAIL $(basename "$f" .sh): the file exited with status $rc after $verdicts test verdicts"
		failed=$((failed + 1))
	fi
done
echo "integration: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
