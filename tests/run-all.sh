#!/bin/bash
# make test: unit tests, then integration tests, then one summary line.
set -u
here=$(cd "$(dirname "$0")" && pwd)
unit_out=$(sh "$here/run-unit.sh" "$@" 2>&1); unit_rc=$?
printf '%s\n' "$unit_out"
int_log=$(mktemp)
bash "$here/integration/run.sh" 2>&1 | tee "$int_log"; int_rc=${PIPESTATUS[0]}
int_out=$(cat "$int_log"); rm -f "$int_log"
up=$(printf '%s\n' "$unit_out" | sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
uf=$(printf '%s\n' "$unit_out" | sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
us=$(printf '%s\n' "$unit_out" | sed -n 's/^unit: .*, \([0-9]*\) skipped.*/\1/p')
ip=$(printf '%s\n' "$int_out" | sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped.*/\1/p')
if_=$(printf '%s\n' "$int_out" | sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped.*/\2/p')
is=$(printf '%s\n' "$int_out" | sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped.*/\3/p')
total_p=$(( ${up:-0} + ${ip:-0} ))
total_f=$(( ${uf:-0} + ${if_:-0} ))
[ "$unit_rc" -ne 0 ] && [ "${uf:-0}" -eq 0 ] && total_f=$((total_f + 1))
[ "$int_rc" -ne 0 ] && [ "${if_:-0}" -eq 0 ] && total_f=$((total_f + 1))
echo
echo "$total_p passed, $total_f failed, $(( ${us:-0} + ${is:-0} )) skipped"
[ "$total_f" -eq 0 ]
