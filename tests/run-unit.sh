#!/bin/sh
# Runs every cmocka unit-test binary given and sums their verdicts.
# Prints "unit: N passed, N failed"; exits non-zero if any failed.
passed=0 failed=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" | grep -E '^\[  (FAILED|ERROR) |^\[ +ERROR|error|Assert|FAIL' | head -20
		echo "FAIL $(basename "$t") (exit $rc)"
		[ "${f:-0}" -eq 0 ] && failed=$((failed + 1))
	else
		echo "ok   $(basename "$t"): ${p:-0} tests"
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
