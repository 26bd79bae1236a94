#!/bin/sh
# Runs every cmocka unit-test binary given and sums their verdicts.
# Prints "unit: N passed, N failed, N skipped"; exits non-zero if any
# failed.  With CI=true a skipped test counts as failed, as in run.sh.
passed=0 failed=0 skipped=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "${s:-0}" -gt 0 ]; then
		printf '%s\n' "$out" | grep -E '^\[  SKIPPED \] [a-z_]' | sort -u | sed "s/^\[  SKIPPED \]/SKIP $(basename "$t"):/"
		if [ "${CI:-}" = true ]; then failed=$((failed + s)); echo "     (CI=true: a skip is a failure)"
		else skipped=$((skipped + s)); fi
	fi
	if [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" | grep -E '^\[  (FAILED|ERROR) |^\[ +ERROR|error|Assert|FAIL' | head -20
		echo "FAIL $(basename "$t") (exit $rc)"
		[ "${f:-0}" -eq 0 ] && failed=$((failed + 1))
	else
		echo "ok   $(basename "$t"): ${p:-0} tests"
	fi
done
echo "unit: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
