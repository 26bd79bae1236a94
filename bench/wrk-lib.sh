# What bench/reload-wrk.sh and bench/recycle-wrk.sh share: their arguments,
# a scratch directory, a free port, and reading wrk's reports.  Sourced with
# the script's name: . wrk-lib.sh NAME [SENTRIK-MASTER] [HELLO-HTTP]
name=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
master=${2:-${SM_BIN:-$here/build/sentrik-master}}
hello=${3:-${SM_EXAMPLES:-$here/build/examples}/hello-http/hello-http}
duration=${DURATION:-40}
rounds=${ROUNDS:-4}
seg=$((duration / rounds > 3 ? duration / rounds : 3))
command -v wrk >/dev/null || { echo "$name: wrk is not installed (apt-get install wrk)"; exit 1; }
[ -x "$master" ] && [ -x "$hello" ] || { echo "$name: build first (make all examples)"; exit 1; }
tmp=$(mktemp -d /tmp/sm-bench.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() {
	local p
	while :; do
		p=$(shuf -i 20000-45000 -n 1)
		ss -ltnH | awk '{print $4}' | grep -q ":$p\$" || { echo "$p"; return; }
	done
}
# wait_ready LOG: until the master's log says its workers are ready (5 s).
wait_ready() {
	for _ in $(seq 100); do grep -q "workers ready" "$1" && break; sleep 0.05; done
}
# Requests/s of one wrk report; socket errors and non-2xx answers summed
# over the reports in a file; the median of numbers on standard input.
field() { sed -n "s/^Requests\/sec: *\([0-9.]*\).*/\1/p" "$1"; }
errors() {
	sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$1" |
		awk '{ s += $1 + $2 + $3 + $4 } END { print s + 0 }'
}
non2xx() { sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1" | awk '{ s += $1 } END { print s + 0 }'; }
med() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# side NAME: the median req/s of NAME's segments, their reports joined
# into $tmp/NAME.wrk.
side() {
	cat "$tmp/$1".*.wrk >"$tmp/$1.wrk"
	for r in $(seq "$rounds"); do field "$tmp/$1.$r.wrk"; done | med
}
# segments NAME: each segment's req/s, in order.
segments() { for r in $(seq "$rounds"); do field "$tmp/$1.$r.wrk"; done; }
