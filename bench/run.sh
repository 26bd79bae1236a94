#!/bin/bash
# make bench: every scenario of SPEC §9 side by side with its baseline, in
# one run, medians of several repetitions, printed as one table.  A
# benchmark, not a test: it reports figures and ratios and never fails on
# them (only a broken build or set-up makes it exit non-zero).
#
# Environment (make bench sets the first three):
#   SM_BIN              the sentrik-master binary
#   SM_HELPERS, SM_EXAMPLES   passed on to the scenario hooks
#   BENCH_REPS          repetitions per side and scenario (default 7)
#   BENCH_IDLE_SECONDS  length of the idle wake-up window (default 60)
#   BENCH_ORPHANS       orphans made under PID 1 (default 5000)
#   BENCH_RESTART_ROUNDS  rounds of kill -9 per side, 8 kills a round (default 4)
#   BENCH_OUT           also write the table to this file
#   CC                  compiler for the baseline and probe (default cc)
#
# Hooks for scenarios that live in their own scripts: bench/log-throughput.sh,
# bench/reload-wrk.sh and bench/uvicorn-wrk.sh run when they exist, with SM_BIN, SM_HELPERS,
# SM_EXAMPLES, BENCH_REPS, BENCH_TOOLS (the directory holding bare, probe and
# timer) and BENCH_TMP (a scratch directory of their own) in the
# environment.  Each line a hook prints on standard output is one row:
#   what|baseline|sentrik-master|ratio|target|met|anchors
# (trailing fields may be left out); its diagnostics go to standard error.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

: "${SM_BIN:?set SM_BIN to the sentrik-master binary (make bench does)}"
REPS=${BENCH_REPS:-7}
IDLE=${BENCH_IDLE_SECONDS:-60}
ORPHANS=${BENCH_ORPHANS:-5000}
ROUNDS=${BENCH_RESTART_ROUNDS:-4}
RESTART_WORKERS=8
CC=${CC:-cc}
tools=$root/build/bench

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sentrik-bench.XXXXXX") || exit 1
chmod 0755 "$tmp"
idle_pids=()
cleanup() {
	local p
	for p in "${idle_pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$tools" || exit 1
for t in probe bare timer; do
	"$CC" -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$tools/$t" "$here/$t.c" || exit 1
done
"$CC" -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$tools/libev-loop" \
	"$here/libev-loop.c" -lev || exit 1
have_tini=0
command -v tini >/dev/null 2>&1 && have_tini=1
have_unshare=0
[ "$(id -u)" = 0 ] && unshare --pid --fork --mount-proc --kill-child true 2>/dev/null && have_unshare=1

say() { printf '%s\n' "$*" >&2; }

# cmd SIDE N FIFO [PROBE-ARG...]: the supervisor command line of one side
# into CMD; tini has one child whatever N says.
cmd() {
	local side=$1 n=$2 fifo=$3
	shift 3
	case $side in
	bare) CMD=("$tools/bare" "$n" "$tools/probe" "$fifo" "$@") ;;
	sentrik) CMD=("$SM_BIN" --workers "$n" --ready exec -- "$tools/probe" "$fifo" "$@") ;;
	tini) CMD=(tini -- "$tools/probe" "$fifo" "$@") ;;
	libev) CMD=("$tools/libev-loop" "$n" "$tools/probe" "$fifo" "$@") ;;
	esac
}

# timer SCENARIO SIDE N [ARG]: one measurement; prints its figure(s).
timer() {
	local what=$1 side=$2 n=$3 arg=${4-}
	cmd "$side" "$n" "$tmp/fifo.$side"
	"$tools/timer" "$what" "$tmp/fifo.$side" "$tmp/$side.log" "$n" $arg -- "${CMD[@]}"
}

median() {
	grep -E '^[0-9.]+$' | sort -n | awk '
		{ a[NR] = $1; if ($1 != int($1)) frac = 1 }
		END {
			if (NR == 0) { print "error"; exit }
			m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			if (!frac && m == int(m)) printf "%d\n", m
			else printf (m < 10 ? "%.2f\n" : "%.4g\n"), m
		}'
}

# ratio A B -> "A/B" to two places, or "-" when either is not a number.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) { print "-"; exit }
		printf "%.2fx\n", a / b }'
}

# met RATIO LIMIT -> yes/no
met() {
	awk -v r="${1%x}" -v l="$2" 'BEGIN {
		if (r !~ /^[0-9.]+$/) { print "-"; exit }
		print (r <= l ? "yes" : "no") }'
}

rows=$tmp/rows
row() { local IFS='|'; printf '%s\n' "$*" >>"$rows"; }

# Alternates which side goes first, so a slow moment of the machine does
# not always land on the same side.
alternate() {
	local what=$1 n=$2 arg=${3-} rep
	: >"$tmp/$what.$n.bare"
	: >"$tmp/$what.$n.sentrik"
	for rep in $(seq 1 "$REPS"); do
		if [ $((rep % 2)) = 1 ]; then
			timer "$what" bare "$n" "$arg" >>"$tmp/$what.$n.bare"
			timer "$what" sentrik "$n" "$arg" >>"$tmp/$what.$n.sentrik"
		else
			timer "$what" sentrik "$n" "$arg" >>"$tmp/$what.$n.sentrik"
			timer "$what" bare "$n" "$arg" >>"$tmp/$what.$n.bare"
		fi
	done
	base=$(median <"$tmp/$what.$n.bare")
	mine=$(median <"$tmp/$what.$n.sentrik")
}

# --- 3. idle wake-ups: runs in the background while the rest is measured;
# an idle process blocked in the kernel is not woken by others' load.
say "idle wake-ups: ${IDLE} s window, in the background"
for side in bare sentrik; do
	(cmd "$side" 4 "$tmp/fifo.idle-$side" &&
		exec "$tools/timer" idle "$tmp/fifo.idle-$side" "$tmp/idle-$side.log" 4 "$IDLE" \
			-- "${CMD[@]}" >"$tmp/idle.$side") &
	idle_pids+=($!)
done
if [ $have_tini = 1 ]; then
	(cmd tini 1 "$tmp/fifo.idle-tini" &&
		exec "$tools/timer" idle "$tmp/fifo.idle-tini" "$tmp/idle-tini.log" 1 "$IDLE" \
			-- "${CMD[@]}" >"$tmp/idle.tini") &
	idle_pids+=($!)
fi

# --- 1. spawn to all running
for n in 64 256; do
	say "spawn-to-all-running, N=$n: $REPS repetitions a side"
	alternate spawn "$n"
	r=$(ratio "$mine" "$base")
	row "spawn-to-all-running, N=$n (ms)" "$base" "$mine" "$r" "<= 1.2x" "$(met "$r" 1.2)" ""
done

# --- 2. master RSS with 4 idle workers
say "master RSS, 4 idle workers"
REPS_SAVED=$REPS
REPS=3
alternate rss 4
REPS=$REPS_SAVED
# The floor of the stack itself: a libev loop that logs with snprintf.
for rep in 1 2 3; do timer rss libev 4; done >"$tmp/rss.libev"
anchor="libev loop $(median <"$tmp/rss.libev") KiB"
if [ $have_tini = 1 ]; then
	for rep in 1 2 3; do timer rss tini 1; done >"$tmp/rss.tini"
	anchor="$anchor, tini (1 child) $(median <"$tmp/rss.tini") KiB"
fi
r=$(ratio "$mine" "$base")
row "master RSS, 4 idle workers (KiB)" "$base" "$mine" "$r" "<= 1.3x" "$(met "$r" 1.3)" "$anchor"

# --- 4. TERM to exit, 64 prompt workers
say "TERM-to-exit, 64 workers: $REPS repetitions a side"
alternate term 64
r=$(ratio "$mine" "$base")
row "TERM-to-exit, 64 prompt workers (ms)" "$base" "$mine" "$r" "<= 1.5x" "$(met "$r" 1.5)" ""

# --- 5. restart after kill -9 of a worker
say "restart after kill -9: 2 x $ROUNDS rounds of $RESTART_WORKERS kills a side"
REPS_SAVED=$REPS
REPS=2
alternate restart "$RESTART_WORKERS" "$ROUNDS"
REPS=$REPS_SAVED
samples=$(grep -cE '^[0-9.]+$' "$tmp/restart.$RESTART_WORKERS.sentrik")
r=$(ratio "$mine" "$base")
row "restart after kill -9 of a worker (ms, $samples kills)" "$base" "$mine" "$r" "<= 2x" \
	"$(met "$r" 2)" ""

# --- 6. PID 1 reaping orphans, in a pid namespace of its own
if [ $have_unshare = 1 ]; then
	say "PID 1 reaping $ORPHANS orphans: $REPS repetitions a side"
	: >"$tmp/reap.bare"
	: >"$tmp/reap.sentrik"
	: >"$tmp/reap.tini"
	sides="bare sentrik"
	[ $have_tini = 1 ] && sides="bare sentrik tini"
	for rep in $(seq 1 "$REPS"); do
		for side in $sides; do
			cmd "$side" 1 "$tmp/fifo.$side" --orphans "$ORPHANS"
			"$tools/timer" reap "$tmp/fifo.$side" "$tmp/$side.log" -- \
				unshare --pid --fork --mount-proc --kill-child -- "${CMD[@]}" >>"$tmp/reap.$side"
		done
		sides="${sides#* } ${sides%% *}" # rotate who goes first
	done
	base=$(median <"$tmp/reap.bare")
	mine=$(median <"$tmp/reap.sentrik")
	r=$(ratio "$mine" "$base")
	if [ $have_tini = 1 ]; then
		tini_ms=$(median <"$tmp/reap.tini")
		row "PID 1 reaping $ORPHANS orphans (ms)" "$base" "$mine" "$r" "<= tini" \
			"$(met "$(ratio "$mine" "$tini_ms")" 1)" "tini $tini_ms ms"
	else
		row "PID 1 reaping $ORPHANS orphans (ms)" "$base" "$mine" "$r" "<= tini" "-" \
			"tini not installed"
	fi
else
	row "PID 1 reaping $ORPHANS orphans (ms)" "-" "-" "-" "<= tini" "-" \
		"skipped: needs root and unshare --pid"
fi

# --- hooks: scenarios delivered by their own scripts -----------------------
# HOOK log-throughput: bench/log-throughput.sh, log capture vs cat.
# HOOK reload-wrk:     bench/reload-wrk.sh, reload under wrk load.
# HOOK uvicorn-wrk:    bench/uvicorn-wrk.sh, uvicorn --fd 3 under the master vs its own port.
# HOOK recycle-wrk:    bench/recycle-wrk.sh, recycling under wrk load.
hook() {
	local name=$1 what=$2 target=$3 rc
	if [ ! -f "$here/$name.sh" ]; then
		row "$what" "-" "-" "-" "$target" "-" "not measured: bench/$name.sh absent"
		return
	fi
	say "$what: bench/$name.sh"
	mkdir -p "$tmp/$name"
	SM_BIN=$SM_BIN SM_HELPERS=${SM_HELPERS-} SM_EXAMPLES=${SM_EXAMPLES-} BENCH_REPS=$REPS \
		BENCH_TOOLS=$tools BENCH_TMP=$tmp/$name bash "$here/$name.sh" >"$tmp/$name.out"
	rc=$?
	grep '|' "$tmp/$name.out" >>"$rows"
	[ "$rc" = 0 ] || row "$what" "-" "-" "-" "$target" "-" "bench/$name.sh failed (exit $rc)"
}
hook log-throughput "log capture, 4 x 64 MiB of 100-byte lines (MB/s)" ">= 0.8x cat"
hook reload-wrk "reload under wrk -c32, HUP every 2 s" "0 errors, >= 0.9x req/s"
hook uvicorn-wrk "uvicorn --fd 3, 1 worker, wrk -c16 (req/s)" ">= 0.9x"
hook recycle-wrk "recycling under wrk -c32, --max-worker-age 2" "0 errors, >= 0.9x req/s, never < N"

# --- collect the idle window ----------------------------------------------
say "waiting for the idle window to end"
wait "${idle_pids[@]}"
idle_pids=()
base=$(median <"$tmp/idle.bare")
mine=$(median <"$tmp/idle.sentrik")
anchor=""
[ $have_tini = 1 ] && anchor="tini (1 child) $(median <"$tmp/idle.tini")"
idle_met=no
[ "$mine" = 0 ] && idle_met=yes
row "master wake-ups in ${IDLE} s idle, 4 workers" "$base" "$mine" "-" "0" "$idle_met" "$anchor"

# --- the table -------------------------------------------------------------
{
	echo "sentrik-master benchmark, $(date -u +%Y-%m-%dT%H:%MZ): $(nproc) CPUs, Linux $(uname -r)," \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "medians of $REPS repetitions a side (RSS: 3; restart: every kill), sides alternating;" \
		"idle window ${IDLE} s"
	echo
	{
		echo "what|baseline|sentrik-master|ratio|target|met|anchors"
		echo "---|---|---|---|---|---|---"
		cat "$rows"
	} | awk -F'|' '
		{ n = NR; for (i = 1; i <= 7; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
		END {
			for (r = 1; r <= n; r++) {
				line = "|"
				for (i = 1; i <= 7; i++) {
					v = c[r, i]
					if (r == 2) { v = ""; while (length(v) < w[i]) v = v "-" }
					line = line sprintf(" %-*s |", w[i], v)
				}
				print line
			}
		}'
} >"$tmp/table"
echo
cat "$tmp/table"
[ -n "${BENCH_OUT-}" ] && cp "$tmp/table" "$BENCH_OUT"
exit 0
