#!/bin/bash
# A real app behind the master: `uvicorn --fd 3 app:app` as one worker,
# against the same uvicorn binding its own port (one process), under the
# same `wrk -t2 -c16 -d5s` on 127.0.0.1; uvicorn's own `--workers 4` is
# printed beside them as an anchor.  Sides alternate, each figure is the
# median of REPS runs, the ratio the median of the rounds' ratios.  What it guards: the master's listener must carry
# TCP_NODELAY, since uvicorn --fd takes the socket as it is.
#   usage: bench/uvicorn-wrk.sh [SENTRIK-MASTER]   (REPS=3, SECONDS_EACH=5)
# Prints a summary, then one row for bench/run.sh:
#   what|baseline|sentrik-master|ratio|target|met|anchors
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
master=${1:-${SM_BIN:-$here/build/sentrik-master}}
reps=${REPS:-${BENCH_REPS:-3}}
[ "$reps" -gt 5 ] && reps=5 # 3 sides x 5 s each: keep make bench bounded
secs=${SECONDS_EACH:-5}
what="uvicorn --fd 3, 1 worker, wrk -c16 (req/s)"
target=">= 0.9x"
for t in wrk uvicorn curl; do
	command -v $t >/dev/null || {
		echo "uvicorn-wrk: $t is not installed (Debian: wrk, python3-uvicorn, curl)" >&2
		echo "$what|-|-|-|$target|-|not measured: $t missing"
		exit 0
	}
done
[ -x "$master" ] || { echo "uvicorn-wrk: build first (make all)" >&2; exit 1; }
tmp=${BENCH_TMP:-$(mktemp -d /tmp/sm-bench.XXXXXX)}
mkdir -p "$tmp"
pid=""
# Each server leads its own session and process group (setsid): the group
# goes, uvicorn's own workers with it.
stop() {
	[ -n "$pid" ] || return 0
	kill -TERM -- -"$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 -- -"$pid" 2>/dev/null || break; sleep 0.05; done
	kill -KILL -- -"$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=""
}
trap 'stop; [ -z "${BENCH_TMP:-}" ] && rm -rf "$tmp"' EXIT

# The example app when the tree has it, else the smallest ASGI app.
appdir=$here/examples/uvicorn
if [ ! -f "$appdir/app.py" ]; then
	appdir=$tmp/app
	mkdir -p "$appdir"
	cat >"$appdir/app.py" <<'PY'
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"6")]})
    await send({"type": "http.response.body", "body": b"hello\n"})
PY
fi

# Below the ephemeral range, so wrk's closed connections (TIME_WAIT) of
# an earlier run never hold it; in no state at all now.
free_port() {
	local p low
	low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range)
	while :; do
		p=$(shuf -i 10000-$((low > 12000 ? low - 1 : 12000)) -n 1)
		ss -tanH | awk '{print $4}' | grep -q ":$p\$" || { echo "$p"; return; }
	done
}

# start SIDE PORT: one server in the background, pid in $pid, until it answers.
start() {
	local side=$1 port=$2
	local uv=(uvicorn --app-dir "$appdir" --no-access-log --log-level warning) cmd
	case $side in
	own) cmd=("${uv[@]}" --host 127.0.0.1 --port "$port" app:app) ;;
	master) cmd=("$master" --workers 1 --bind "127.0.0.1:$port" -- "${uv[@]}" --fd 3 app:app) ;;
	workers4) cmd=("${uv[@]}" --host 127.0.0.1 --port "$port" --workers 4 app:app) ;;
	esac
	# Started directly, so $! is the server itself (not a subshell).
	setsid "${cmd[@]}" >"$tmp/$side.out" 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		curl -s --max-time 1 "http://127.0.0.1:$port/" >/dev/null && return 0
		sleep 0.05
	done
	echo "uvicorn-wrk: $side did not answer on $port:" >&2
	cat "$tmp/$side.out" >&2
	return 1
}

# run SIDE: one wrk run against a fresh server; its req/s to $tmp/SIDE.rps.
run() {
	local side=$1 port
	port=$(free_port)
	start "$side" "$port" || { stop; return 1; }
	wrk -t2 -c16 -d"${secs}s" "http://127.0.0.1:$port/" >"$tmp/$side.wrk" 2>&1
	sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/$side.wrk" >>"$tmp/$side.rps"
	grep -q 'Socket errors\|Non-2xx' "$tmp/$side.wrk" && { echo "uvicorn-wrk: $side:" >&2; grep 'Socket errors\|Non-2xx' "$tmp/$side.wrk" >&2; }
	stop
}

med() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$tmp/own.rps"
: >"$tmp/master.rps"
: >"$tmp/workers4.rps"
for r in $(seq "$reps"); do
	if [ $((r % 2)) = 1 ]; then order="own master workers4"; else order="master own workers4"; fi
	for side in $order; do run "$side" || exit 1; done
done
own=$(med <"$tmp/own.rps")
mine=$(med <"$tmp/master.rps")
four=$(med <"$tmp/workers4.rps")
# The ratio is the median of each round's own ratio: the two sides of a
# round run back to back, so a machine whose load drifts over the minutes
# (a shared one) moves both alike.
ratio=$(paste "$tmp/master.rps" "$tmp/own.rps" | awk '$2 > 0 { printf "%.4f\n", $1 / $2 }' | med)
ratio=$(awk -v r="$ratio" 'BEGIN { printf "%.2f", r }')
met=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.9 ? "yes" : "no") }')
echo "wrk -t2 -c16 -d${secs}s on 127.0.0.1, medians of $reps runs a side, uvicorn $(uvicorn --version | awk '{print $3}'), app $appdir/app.py" >&2
echo "  uvicorn on its own port, 1 process:   $own req/s  (runs: $(tr '\n' ' ' <"$tmp/own.rps"))" >&2
echo "  sentrik-master -w 1 -- uvicorn --fd 3: $mine req/s  (runs: $(tr '\n' ' ' <"$tmp/master.rps"))" >&2
echo "  uvicorn --workers 4 (its own master):  $four req/s  (runs: $(tr '\n' ' ' <"$tmp/workers4.rps"))" >&2
echo "  ratio master/own, median of the rounds' ratios: ${ratio}x" >&2
echo "$what|own port $own|$mine|${ratio}x|$target|$met|uvicorn --workers 4: $four"
