#!/bin/sh
# The module graph of src/, read from its #include <sentrik/...> lines:
# one "module: what it includes" line per module.  A module is src/NAME.c
# with include/sentrik/NAME.h; a file NAME_PART.c or NAME_PART.h (such as
# master_workers.c, pool_internal.h, config_options.c) is a part of module
# NAME.  --check also fails (exit 1) on a circle.
set -eu
cd "$(dirname "$0")/.."
module() {
	case "$1" in
	*_*) if [ -e "src/${1%%_*}.c" ]; then echo "${1%%_*}"; else echo "$1"; fi ;;
	*) echo "$1" ;;
	esac
}
edges() {
	for f in src/*.c include/sentrik/*.h; do
		m=$(basename "$f"); m=$(module "${m%.*}")
		sed -n 's/^#include <sentrik\/\([a-z0-9_]*\)\.h>.*/\1/p' "$f" |
			while read -r d; do
				d=$(module "$d")
				if [ "$d" != "$m" ]; then echo "$m $d"; fi
			done
	done | sort -u
}
all=$(edges)
if [ "${1:-}" = --check ]; then
	# tsort names the modules of a circle on standard error.
	if ! loop=$(printf '%s\n' "$all" | tsort 2>&1 >/dev/null) || [ -n "$loop" ]; then
		echo "include circle: $(printf '%s\n' "$loop" | sed -n 's/^tsort: //p' | grep -v 'loop' | tr '\n' ' ')"
		exit 1
	fi
fi
for f in src/*.c; do
	m=$(basename "$f" .c); m=$(module "$m")
	printf '%s:%s\n' "$m" "$(printf '%s\n' "$all" | awk -v m="$m" '$1 == m {printf " %s", $2}')"
done | sort -u
