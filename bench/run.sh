#!/bin/bash
# make bench: every scenario of SPEC §9 side by side with its baseline, in
# one run, at N = 1 ... 1,024 workers, medians of several repetitions,
# printed as one table and kept as data for `make bench-plot`.  A
# benchmark, not a test: it reports figures and ratios and never fails on
# them (only a broken build or set-up makes it exit non-zero).
#
# Environment (make bench sets the first three):
#   SM_BIN              the sentrik-master binary
#   SM_HELPERS, SM_EXAMPLES   passed on to the scenario hooks
#   BENCH_NS            worker counts of the scaling rows (default 1 4 64 256 1024)
#   BENCH_REPS          repetitions per side and scenario (default 5)
#   BENCH_REPS_BIG      the same at N >= 1024 (default 3)
#   BENCH_IDLE_SECONDS  length of the idle wake-up window (default 55: libev
#                       never sleeps longer than 59.743 s)
#   BENCH_ORPHANS       orphans made under PID 1 (default 5000)
#   BENCH_RESTART_ROUNDS  rounds of kill -9 per session, 8 kills a round (default 3)
#   BENCH_EVENTS        kill -9s per CPU-per-exit sample (default 16; at N=4,
#                       4 rounds of 4, 1.1 s apart)
#   BENCH_MESSAGES      notify messages per CPU-per-message sample (default 2000)
#   BENCH_LOG_MIB       MiB each of 4 log writers (default 64; 64 writers: 1/16 of it)
#   BENCH_WRK_SECONDS   seconds of wrk load in the reload hook (default 40)
#   BENCH_ANCHORS       0: no nginx/uWSGI/gunicorn anchors; install: install
#                       the missing ones with apt-get (as root; default: use
#                       what is installed)
#   BENCH_OUT           also write the table to this file
#   BENCH_DATA          the figures, one per line (default build/bench/results.tsv)
#   CC                  compiler for the baseline and probe (default cc)
#
# Hooks for scenarios that live in their own scripts: bench/log-throughput.sh,
# bench/reload-wrk.sh, bench/uvicorn-wrk.sh, bench/recycle-wrk.sh and every bench/row-*.sh run when they exist, with
# SM_BIN, SM_HELPERS, SM_EXAMPLES, BENCH_REPS, BENCH_TOOLS (the directory
# holding bare, probe and timer) and BENCH_TMP (a scratch directory of their
# own) in the environment.  Each line a hook prints on standard output with
# a '|' in it is one row:
#   what|baseline|sentrik-master|ratio|target|met|anchors
# (trailing fields may be left out); its diagnostics go to standard error.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

: "${SM_BIN:?set SM_BIN to the sentrik-master binary (make bench does)}"
NS=${BENCH_NS:-1 4 64 256 1024}
REPS=${BENCH_REPS:-5}
REPS_BIG=${BENCH_REPS_BIG:-3}
IDLE=${BENCH_IDLE_SECONDS:-55}
ORPHANS=${BENCH_ORPHANS:-5000}
ROUNDS=${BENCH_RESTART_ROUNDS:-3}
EVENTS=${BENCH_EVENTS:-16}
MESSAGES=${BENCH_MESSAGES:-2000}
ANCHORS=${BENCH_ANCHORS:-1}
LOG_MIB=${BENCH_LOG_MIB:-64}
WRK_SECONDS=${BENCH_WRK_SECONDS:-40}
RESTART_KILLS=8
CC=${CC:-cc}
tools=$root/build/bench
DATA=${BENCH_DATA:-$tools/results.tsv}
N_MAX=0
for n in $NS; do [ "$n" -gt "$N_MAX" ] && N_MAX=$n; done

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

say() { printf '%s\n' "$*" >&2; }

mkdir -p "$tools" || exit 1
for t in probe bare timer; do
	"$CC" -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$tools/$t" "$here/$t.c" || exit 1
done
"$CC" -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$tools/libev-loop" \
	"$here/libev-loop.c" -lev || exit 1

# 1,024 workers, twice over during a reload, with two pipes each under
# --capture-output: more descriptors than a default soft limit of 1,024.
limits=""
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 65536 ]; then
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] && hard=65536
	[ "$hard" -gt 65536 ] && hard=65536
	ulimit -n "$hard" 2>/dev/null && limits="RLIMIT_NOFILE raised to $hard"
fi
if [ "$(ulimit -u)" != unlimited ] && [ "$(ulimit -u)" -lt $((N_MAX * 4 + 1024)) ]; then
	ulimit -u unlimited 2>/dev/null || ulimit -u "$(ulimit -Hu)" 2>/dev/null
	limits="${limits:+$limits, }RLIMIT_NPROC raised to $(ulimit -u)"
fi
[ -n "$limits" ] && say "$limits"

# Anchors: what users would otherwise pick, installed from Debian only when
# asked (BENCH_ANCHORS=install), never needed for the run itself.
if [ "$ANCHORS" = install ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	missing=""
	command -v nginx >/dev/null 2>&1 || missing="$missing nginx-light"
	command -v uwsgi >/dev/null 2>&1 || missing="$missing uwsgi-core"
	command -v gunicorn >/dev/null 2>&1 || missing="$missing gunicorn"
	command -v tini >/dev/null 2>&1 || missing="$missing tini"
	if [ -n "$missing" ]; then
		say "installing the anchors:$missing"
		apt-get update -qq >/dev/null 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$missing >/dev/null 2>&1 || say "could not install:$missing (their anchors are left out)"
	fi
fi
have() { [ "$ANCHORS" != 0 ] && command -v "$1" >/dev/null 2>&1; }
have_tini=0
command -v tini >/dev/null 2>&1 && have_tini=1
have_unshare=0
[ "$(id -u)" = 0 ] && unshare --pid --fork --mount-proc --kill-child true 2>/dev/null && have_unshare=1

# The anchors' set-up: nginx with N workers and no server (its workers
# start all the same), uWSGI with an empty master, gunicorn with a WSGI app
# of three lines.
mkdir -p "$tmp/nginx"
printf 'def app(environ, start_response):\n    start_response("200 OK", [])\n    return [b"ok"]\n' \
	>"$tmp/benchapp.py"
nginx_conf() {
	local f=$tmp/nginx/nginx-$1.conf
	[ -f "$f" ] || printf 'daemon off;\nmaster_process on;\nworker_processes %d;\npid %s;\nerror_log %s;\nevents { worker_connections 16; }\n' \
		"$1" "$tmp/nginx/nginx.pid" "$tmp/nginx/error.log" >"$f"
	echo "$f"
}

# cmd SIDE N FIFO [PROBE-ARG...]: the supervisor command line of one side
# into CMD; tini has one child whatever N says.  Anchors whose workers are
# not probes get FIFO "-" (the timer then counts the supervisor's children).
cmd() {
	local side=$1 n=$2 fifo=$3
	shift 3
	case $side in
	bare) CMD=("$tools/bare" "$n" "$tools/probe" "$fifo" "$@") ;;
	sentrik) CMD=("$SM_BIN" --ready exec --workers "$n" -- "$tools/probe" "$fifo" "$@") ;;
	capture) CMD=("$SM_BIN" --ready exec --capture-output --workers "$n" -- "$tools/probe" "$fifo" "$@") ;;
	notify) CMD=("$SM_BIN" --ready notify --workers "$n" -- "$tools/probe" "$fifo" "$@") ;;
	tini) CMD=(tini -- "$tools/probe" "$fifo" "$@") ;;
	libev) CMD=("$tools/libev-loop" "$n" "$tools/probe" "$fifo" "$@") ;;
	nginx) CMD=(nginx -e "$tmp/nginx/error.log" -p "$tmp/nginx/" -c "$(nginx_conf "$n")") ;;
	uwsgi) CMD=(uwsgi --master --processes "$n" --socket "$tmp/uwsgi.sock" --die-on-term
		--disable-logging) ;;
	gunicorn) CMD=(gunicorn --chdir "$tmp" -w "$n" -b "unix:$tmp/gunicorn.sock" benchapp:app) ;;
	esac
}

is_anchor() { case $1 in nginx | uwsgi | gunicorn) return 0 ;; esac; return 1; }

# timer SCENARIO SIDE N [ARG...]: one measurement; prints its figure(s).
timer() {
	local what=$1 side=$2 n=$3 fifo=$tmp/fifo.$2
	shift 3
	is_anchor "$side" && fifo=-
	case $what in
	cpu-notify) cmd "$side" "$n" "$fifo" --notify "$1" ;;
	*) cmd "$side" "$n" "$fifo" ;;
	esac
	"$tools/timer" "$what" "$fifo" "$tmp/$side.log" "$n" "$@" -- "${CMD[@]}"
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
: >"$tmp/data"

# contest SCENARIO N REPS SIDE... [-- ARG...]: REPS measurements a side,
# the order of the sides rotating from one repetition to the next so that
# a slow moment of the machine does not always land on the same side.
# Leaves each side's median in fig[SIDE] and in the data file.
declare -A fig
cpu_exit_bare=() cpu_exit_mine=() cpu_notify=()
contest() {
	local what=$1 n=$2 reps=$3 rep side sides=() args=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do sides+=("$1"); shift; done
	[ $# -gt 0 ] && shift && args=("$@")
	for side in "${sides[@]}"; do : >"$tmp/$what.$n.$side"; done
	for rep in $(seq 1 "$reps"); do
		for side in "${sides[@]}"; do
			is_anchor "$side" && [ "$rep" -gt "$(anchor_reps "$n")" ] && continue
			timer "$what" "$side" "$n" "${args[@]}" >>"$tmp/$what.$n.$side"
		done
		sides=("${sides[@]:1}" "${sides[0]}")
	done
	for side in "${sides[@]}"; do
		fig[$side]=$(median <"$tmp/$what.$n.$side")
		printf '%s\t%s\t%s\t%s\n' "$what" "$side" "$n" "${fig[$side]}" >>"$tmp/data"
	done
}

# The anchors take seconds where sentrik-master takes milliseconds (uWSGI
# and nginx need 10-15 s to start 1,024 workers): fewer repetitions keep
# a full run under 15 minutes.
anchor_reps() { if [ "$1" -ge 1024 ]; then echo 1; elif [ "$REPS" -gt 3 ]; then echo 3; else echo "$REPS"; fi; }
reps_for() { if [ "$1" -ge 1024 ]; then echo "$REPS_BIG"; else echo "$REPS"; fi; }

# anchors N SCENARIO...: the anchor sides installed and able to run it.
# nginx never spawns more than 1,024 processes in all (NGX_MAX_PROCESSES),
# so its reload stops short of N = 1,024; gunicorn's Python workers take
# seconds each batch and 20 MiB each: up to N = 64.
anchor_sides() {
	local n=$1 what=$2
	have nginx && ! { [ "$what" = reload ] && [ "$n" -ge 512 ]; } && printf 'nginx '
	have uwsgi && printf 'uwsgi '
	have gunicorn && [ "$n" -le 64 ] && [ "$what" != reload ] && printf 'gunicorn '
}

anchor_text() {
	local side out=""
	for side in "$@"; do out="${out:+$out, }$side ${fig[$side]}"; done
	echo "$out"
}

# --- idle wake-ups: in the background while the rest is measured; an idle
# process blocked in the kernel is not woken by others' load.
say "idle wake-ups, $N_MAX workers: ${IDLE} s window, in the background"
for side in bare sentrik; do
	(cmd "$side" "$N_MAX" "$tmp/fifo.idle-$side" &&
		exec "$tools/timer" idle "$tmp/fifo.idle-$side" "$tmp/idle-$side.log" "$N_MAX" "$IDLE" \
			-- "${CMD[@]}" >"$tmp/idle.$side") &
	idle_pids+=($!)
done
if [ $have_tini = 1 ]; then
	(cmd tini 1 "$tmp/fifo.idle-tini" &&
		exec "$tools/timer" idle "$tmp/fifo.idle-tini" "$tmp/idle-tini.log" 1 "$IDLE" \
			-- "${CMD[@]}" >"$tmp/idle.tini") &
	idle_pids+=($!)
fi
# Let the idle masters start their workers before anything else is timed.
sleep $((N_MAX / 256 + 2))

# --- the scaling rows: spawn, TERM, restart and reload at every N --------
for n in $NS; do
	reps=$(reps_for "$n")
	say "N=$n: spawn-to-ready, $reps repetitions a side"
	anchors=$(anchor_sides "$n" spawn)
	contest spawn "$n" "$reps" bare sentrik $anchors
	r=$(ratio "${fig[sentrik]}" "${fig[bare]}")
	row "spawn-to-ready, N=$n (ms)" "${fig[bare]}" "${fig[sentrik]}" "$r" "<= 1.2x" \
		"$(met "$r" 1.2)" "$(anchor_text $anchors)"

	say "N=$n: TERM-to-exit, $reps repetitions a side"
	anchors=$(anchor_sides "$n" term)
	contest term "$n" "$reps" bare sentrik $anchors
	r=$(ratio "${fig[sentrik]}" "${fig[bare]}")
	row "TERM-to-exit, N=$n prompt workers (ms)" "${fig[bare]}" "${fig[sentrik]}" "$r" \
		"<= 1.2x" "$(met "$r" 1.2)" "$(anchor_text $anchors)"

	kills=$((n < RESTART_KILLS ? n : RESTART_KILLS))
	say "N=$n: restart after kill -9, 2 sessions x $ROUNDS rounds of $kills kills a side"
	contest restart "$n" 2 bare sentrik -- "$ROUNDS" "$kills"
	samples=$(grep -cE '^[0-9.]+$' "$tmp/restart.$n.sentrik")
	r=$(ratio "${fig[sentrik]}" "${fig[bare]}")
	row "restart after kill -9, N=$n (ms, $samples kills)" "${fig[bare]}" "${fig[sentrik]}" "$r" \
		"<= 1.2x" "$(met "$r" 1.2)" ""

	say "N=$n: reload (HUP to new generation ready, old gone), $reps repetitions a side"
	anchors=$(anchor_sides "$n" reload)
	contest reload "$n" "$reps" bare sentrik $anchors
	r=$(ratio "${fig[sentrik]}" "${fig[bare]}")
	if [[ " $anchors " == *" nginx "* ]]; then
		rn=$(ratio "${fig[sentrik]}" "${fig[nginx]}")
		row "reload, N=$n (ms, HUP to new ready, old gone)" "${fig[bare]}" "${fig[sentrik]}" "$r" \
			"<= 1.2x nginx" "$(met "$rn" 1.2)" "$(anchor_text $anchors); sentrik-master/nginx $rn"
	else
		why="nginx not installed"
		have nginx && why="nginx cannot: 1,024 processes at most"
		row "reload, N=$n (ms, HUP to new ready, old gone)" "${fig[bare]}" "${fig[sentrik]}" "$r" \
			"<= 1.2x nginx" "-" "$(anchor_text $anchors)${anchors:+; }$why"
	fi
done

# --- master memory: RSS at every N, per extra worker from 4 to N_MAX ------
for n in $NS; do
	say "master RSS, $n idle workers"
	anchors=$(anchor_sides "$n" rss)
	extra=""
	[ "$n" = 4 ] && extra=libev
	contest rss "$n" 3 bare sentrik capture $extra $anchors
	for side in bare sentrik capture libev nginx uwsgi gunicorn; do
		[ -n "${fig[$side]-}" ] && printf -v "rss_${side}_$n" '%s' "${fig[$side]}"
	done
	fig=()
done
if [ -n "${rss_bare_4-}" ]; then
	anchor="libev loop ${rss_libev_4-} KiB"
	for side in nginx uwsgi gunicorn; do
		v="rss_${side}_4"
		[ -n "${!v-}" ] && anchor="$anchor, $side ${!v} KiB"
	done
	r=$(ratio "$rss_sentrik_4" "$rss_bare_4")
	row "master RSS, 4 idle workers (KiB)" "$rss_bare_4" "$rss_sentrik_4" "$r" "<= 1.3x" \
		"$(met "$r" 1.3)" "$anchor; with --capture-output $rss_capture_4"
fi
per_worker() { # SIDE -> KiB per extra worker from 4 to N_MAX
	local a="rss_${1}_4" b="rss_${1}_$N_MAX"
	awk -v a="${!a-}" -v b="${!b-}" -v n="$N_MAX" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/) { print "-"; exit }
		printf "%.2f\n", (b - a) / (n - 4) }'
}
if [ -n "${rss_bare_4-}" ] && [ "$N_MAX" -gt 4 ]; then
	mine=$(per_worker sentrik)
	anchor=""
	for side in nginx uwsgi; do
		[ "$(per_worker $side)" != - ] && anchor="${anchor:+$anchor, }$side $(per_worker $side)"
	done
	met_kib=$(awk -v m="$mine" 'BEGIN { print (m ~ /^-?[0-9.]+$/ && m <= 1) ? "yes" : "no" }')
	row "master memory per extra worker, 4 -> $N_MAX idle (KiB)" "$(per_worker bare)" "$mine" "-" \
		"<= 1 KiB" "$met_kib" "$anchor"
	row "the same with --capture-output (KiB)" "$(per_worker bare)" "$(per_worker capture)" "-" \
		"stated; buffers lazy" "-" "RSS at $N_MAX: $(eval echo "\${rss_capture_$N_MAX-}") KiB"
fi

# --- the cost of an event at scale: master CPU per exit, per message -----
for n in 4 "$N_MAX"; do
	say "master CPU per exit and per notify message, N=$n"
	contest cpu-exit "$n" 3 bare sentrik -- "$EVENTS"
	cpu_exit_bare[$n]=${fig[bare]}
	cpu_exit_mine[$n]=${fig[sentrik]}
	contest cpu-notify "$n" 3 notify -- "$MESSAGES"
	cpu_notify[$n]=${fig[notify]}
done
for n in 4 "$N_MAX"; do
	r=$(ratio "${cpu_exit_mine[$n]}" "${cpu_exit_bare[$n]}")
	grow=$(ratio "${cpu_exit_mine[$N_MAX]}" "${cpu_exit_mine[4]}")
	row "master CPU per worker exit + restart, N=$n (µs)" "${cpu_exit_bare[$n]}" \
		"${cpu_exit_mine[$n]}" "$r" "O(1): N=$N_MAX / N=4 <= 1.2x" \
		"$([ "$n" = 4 ] && echo - || met "$grow" 1.2)" "N=$N_MAX / N=4: $grow"
done
for n in 4 "$N_MAX"; do
	grow=$(ratio "${cpu_notify[$N_MAX]}" "${cpu_notify[4]}")
	row "master CPU per notify message, N=$n (µs)" "-" "${cpu_notify[$n]}" "-" \
		"O(1): N=$N_MAX / N=4 <= 1.2x" "$([ "$n" = 4 ] && echo - || met "$grow" 1.2)" \
		"N=$N_MAX / N=4: $grow"
done

# --- PID 1 reaping orphans, in a pid namespace of its own
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
# hook SCRIPT WHAT TARGET [VAR=VALUE...]: runs bench/SCRIPT.sh with the
# hook environment (and the extra variables); its '|' lines are rows.
hook() {
	local name=$1 what=$2 target=$3 rc
	shift 3
	if [ ! -f "$here/$name.sh" ]; then
		row "$what" "-" "-" "-" "$target" "-" "not measured: bench/$name.sh absent"
		return
	fi
	say "$what: bench/$name.sh $*"
	mkdir -p "$tmp/$name"
	env SM_BIN="$SM_BIN" SM_HELPERS="${SM_HELPERS-}" SM_EXAMPLES="${SM_EXAMPLES-}" \
		BENCH_REPS="$REPS" BENCH_TOOLS="$tools" BENCH_TMP="$tmp/$name" "$@" \
		bash "$here/$name.sh" >"$tmp/$name.out"
	rc=$?
	grep '|' "$tmp/$name.out" >>"$rows"
	[ "$rc" = 0 ] || row "$what" "-" "-" "-" "$target" "-" "bench/$name.sh failed (exit $rc)"
}
hook log-throughput "log capture, 4 x $LOG_MIB MiB of 100-byte lines (MB/s)" ">= 0.9x cat" \
	WORKERS=4 MIB="$LOG_MIB"
hook log-throughput "log capture, 64 x $((LOG_MIB / 16)) MiB of 100-byte lines (MB/s)" \
	">= 0.9x cat" WORKERS=64 MIB=$((LOG_MIB / 16))
hook reload-wrk "reload under wrk -c32, HUP every 2 s" "0 errors, >= 0.9x req/s" \
	DURATION="$WRK_SECONDS"
hook uvicorn-wrk "uvicorn --fd 3, 1 worker, wrk -c16 (req/s)" ">= 0.9x"
hook recycle-wrk "recycling under wrk -c32, --max-worker-age 2" "0 errors, >= 0.9x req/s, never < N"
# Other scenarios drop a bench/row-NAME.sh here (a real app, recycling, the
# control socket...); each runs with the same environment as the hooks above.
for f in "$here"/row-*.sh; do
	[ -f "$f" ] || continue
	name=$(basename "$f" .sh)
	hook "$name" "${name#row-}" "-"
done

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
row "master wake-ups in ${IDLE} s idle, $N_MAX workers" "$base" "$mine" "-" "0" "$idle_met" "$anchor"

# --- the table -------------------------------------------------------------
{
	echo "sentrik-master benchmark, $(date -u +%Y-%m-%dT%H:%MZ): $(nproc) CPUs, Linux $(uname -r)," \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "medians of $REPS repetitions a side ($REPS_BIG at N >= 1024; RSS and CPU: 3;" \
		"restart: every kill; anchors: $(anchor_reps 4), 1 at N >= 1024), sides rotating;" \
		"idle window ${IDLE} s${limits:+; $limits}"
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
mkdir -p "$(dirname "$DATA")" && cp "$tmp/data" "$DATA"
exit 0
