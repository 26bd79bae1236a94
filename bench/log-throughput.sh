#!/bin/bash
# Log capture throughput (SPEC §9): WORKERS workers each write MIB MiB of
# 100-byte lines; once captured by sentrik-master into --log-file (text
# prefix), once piped straight into `cat > file`.  Both runs alternate
# ROUNDS times in this one invocation; every line of every output is
# checked (count, order per worker, no line cut or glued).
#
# Before the rounds, a file as large as the master's output is written and
# removed once: on a virtual machine the first touch of guest memory the
# page cache has never used costs a fault in the host, several times the
# copy itself, and would fall on whichever side runs first and writes the
# most (the master writes 1.48x cat's bytes: its prefix).  Both sides then
# write into memory the guest has touched before, as a long-running
# service's log does.
#   bench/log-throughput.sh            (SM_BIN, SM_HELPERS as for make test)
#   MIB=64 WORKERS=4 ROUNDS=3 FORMAT=text bench/log-throughput.sh
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SM_BIN:-$here/build/sentrik-master}
LINES_BIN=${SM_HELPERS:-$here/build/helpers}/lines
MIB=${MIB:-64} WORKERS=${WORKERS:-4} ROUNDS=${ROUNDS:-3} FORMAT=${FORMAT:-text}
[ -x "$BIN" ] && [ -x "$LINES_BIN" ] || { echo "build first: make all helpers" >&2; exit 1; }
N=$((MIB * 1024 * 1024 / 100))
BYTES=$((N * 100 * WORKERS))
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/sm-logbench.XXXXXX")
master=
cleanup() { [ -n "$master" ] && kill -KILL "$master" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

now() { date +%s%N; }

# check FILE: every worker's lines 1..N, in order, each exactly 99 bytes
# of payload; the capture's prefix is stripped first.
check() {
	awk -v n="$N" -v w="$WORKERS" -v fmt="$1" '
	fmt == "master" && $2 != "worker" { next }
	{
		if (fmt == "master") { sub(/^[^ ]+ worker [0-9]+\[[0-9]+\] stdout: /, "") }
		if (length($0) != 99) { bad++; next }
		split($0, f, " ")
		id = f[1]; seq = f[2] + 0
		if (seq != last[id] + 1) bad++
		last[id] = seq; total++
	}
	END {
		for (i = 1; i <= w; i++) if (last["w" i] != n) bad++
		if (bad || total != n * w) { printf "BAD: %d lines, %d faults\n", total, bad; exit 1 }
	}' "$2"
}

run_cat() {
	local t0 t1 i
	t0=$(now)
	(
		for i in $(seq 1 "$WORKERS"); do
			SENTRIK_WORKER_ID=$i "$LINES_BIN" --count "$N" --batch 40 &
		done
		wait
	) | cat >"$dir/cat.out"
	t1=$(now)
	check cat "$dir/cat.out" || exit 1
	rm -f "$dir/cat.out"
	echo $(((t1 - t0) / 1000))
}

run_master() {
	local t0 t1
	rm -f "$dir/done"
	t0=$(now)
	"$BIN" --ready exec -w "$WORKERS" --log-file "$dir/master.out" --log-format "$FORMAT" --log-level warning \
		-- "$LINES_BIN" --count "$N" --batch 40 --done "$dir/done" --hold 2>"$dir/master.err" &
	master=$!
	# Polled with builtins only: a fork every 5 ms would take CPU from
	# the side being timed.
	local done_ids=()
	while [ "${#done_ids[@]}" -lt "$WORKERS" ]; do
		read -r -t 0.005 -u "$nap_fd" _ || :
		[ -f "$dir/done" ] && mapfile -t done_ids <"$dir/done"
	done
	kill -TERM "$master"
	wait "$master" || { echo "master failed: $(cat "$dir/master.err")" >&2; exit 1; }
	t1=$(now)
	master=
	if [ "$FORMAT" = text ]; then check master "$dir/master.out" || exit 1; else
		[ "$(grep -c '"source":"worker"' "$dir/master.out")" -eq $((N * WORKERS)) ] || exit 1; fi
	rm -f "$dir/master.out"
	echo $(((t1 - t0) / 1000))
}

# A FIFO nobody writes to: read -t on it is a sleep without a fork.
mkfifo "$dir/nap"
exec {nap_fd}<>"$dir/nap"
dd if=/dev/zero of="$dir/warm" bs=1M count=$((BYTES * 3 / 2 / 1048576 + 16)) 2>/dev/null
rm -f "$dir/warm"

mbs() { awk -v b="$BYTES" -v us="$1" 'BEGIN { printf "%.0f", b / us }'; }

echo "log capture: $WORKERS workers x $MIB MiB of 100-byte lines, format $FORMAT, $ROUNDS rounds"
cats=() masters=()
for r in $(seq 1 "$ROUNDS"); do
	c=$(run_cat)
	m=$(run_master)
	cats+=("$c") masters+=("$m")
	echo "round $r: cat $(mbs "$c") MB/s, sentrik-master $(mbs "$m") MB/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mc=$(median "${cats[@]}") mm=$(median "${masters[@]}")
echo "median: cat $(mbs "$mc") MB/s, sentrik-master $(mbs "$mm") MB/s, ratio $(awk -v c="$mc" -v m="$mm" 'BEGIN { printf "%.2f", c / m }')$([ "$FORMAT" = text ] && echo " (target >= 0.90)"), all lines exact"
# One row for bench/run.sh's table: what|baseline|sentrik-master|ratio|target|met|anchors
ratio=$(awk -v c="$mc" -v m="$mm" 'BEGIN { printf "%.2f", c / m }')
if [ "$FORMAT" = text ]; then
	met=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.9) ? "yes" : "no" }')
	echo "log capture, $WORKERS x $MIB MiB of 100-byte lines (MB/s)|cat $(mbs "$mc")|$(mbs "$mm")|${ratio}x|>= 0.9x cat|$met|every line exact"
fi
