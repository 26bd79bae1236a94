#!/bin/bash
# The shape of the source that docs/structure.md promises: the include
# graph it draws is the code's and has no circle, only main.c turns an
# error into an exit code, files and functions stay short enough to read.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

t_include_graph_matches_the_docs() {
	local want got
	got=$("$ROOT/tools/include-graph.sh" --check) || fail "$got"
	want=$(sed -n '/^<!-- include-graph -->$/,/^<!-- end -->$/p' "$ROOT/docs/structure.md" |
		sed -e '1,2d' -e '$d' | sed '$d')
	[ -n "$want" ] || fail "docs/structure.md has no include-graph block"
	[ "$want" = "$got" ] || fail "docs/structure.md differs from the code (tools/include-graph.sh):
$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got"))"
}

t_include_graph_check_finds_a_circle() {
	# The check itself can fail: a copy of the tree with one include more.
	local copy="$SM_TMP/tree"
	mkdir -p "$copy"
	cp -R "$ROOT/src" "$ROOT/include" "$ROOT/tools" "$copy/"
	printf '#include <sentrik/master.h>\n' >>"$copy/src/pool.c"
	if out=$("$copy/tools/include-graph.sh" --check 2>&1); then
		fail "a circle pool -> master -> pool went unseen"
	fi
	grep -q "include circle" <<<"$out" || fail "no circle named: $out"
}

t_exit_codes_only_in_main() {
	local hits
	hits=$(grep -nE 'return (6[4-9]|7[0-8]);|exit\((6[4-9]|7[0-8])\)|EXIT_(USAGE|OSERR|CONFIG)' \
		"$ROOT"/src/*.c | grep -v '^[^:]*/main\.c:')
	[ -z "$hits" ] || fail "exit codes outside main.c: $hits"
}

t_files_and_functions_stay_short() {
	local f long=""
	for f in "$ROOT"/src/*.c "$ROOT"/src/ctl/*.c; do
		[ "$(wc -l <"$f")" -le 650 ] || long="$long $(basename "$f"):$(wc -l <"$f")"
	done
	[ -z "$long" ] || fail "files over ~600 lines:$long"
	# A function over 80 lines says why in the comment above it ("long:").
	long=$(for f in "$ROOT"/src/*.c "$ROOT"/src/ctl/*.c; do
		awk -v f="$(basename "$f")" '
			/^\/\*/ { comment = "" } { comment = comment $0 }
			/^[a-z].*\(/ { name = $0; said = comment ~ /long:/ }
			/^\{/ { start = NR }
			/^\}/ { if (start && NR - start > 80 && !said) print f ": " name; start = 0; comment = "" }' "$f"
	done)
	[ -z "$long" ] || fail "functions over 80 lines without a why: $long"
}

run_tests "$@"
