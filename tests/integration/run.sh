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
trap 'rm -f "$rcfile"' EXIT
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
