#!/bin/bash
# systemd and containers (SPEC §7): the notify protocol toward the service
# manager, the units, the Docker and Kubernetes examples, the man page.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
LISTENER="$REPO/tests/integration/notify_listener.py"

# listen ADDRESS: start the fake service manager on ADDRESS; NOTES is its
# record, one message a line: "usec pid KEY=VALUE|KEY=VALUE".
listen() {
	NOTIFY_ADDR=$1
	NOTES="$SM_TMP/notes.$RANDOM"
	python3 "$LISTENER" "$NOTIFY_ADDR" "$NOTES" 50 &
	track $!
	wait_for 5 test -e "$NOTES.ready" || fail "notify listener did not start"
}

# note N: the Nth message (1-based) without its time and pid.
note() { sed -n "$1p" "$NOTES" | cut -d' ' -f3-; }
note_count() { wc -l <"$NOTES"; }
wait_notes() { wait_for "$2" sh -c "[ \$(wc -l <'$NOTES') -ge $1 ]"; }
expect_note() {
	local got
	got=$(note "$1")
	[ "$got" = "$2" ] || fail "message $1: expected '$2', got '$got' (all: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/'))"
}
# Every message must come from the master itself (NotifyAccess=main).
all_from_master() {
	local bad
	bad=$(awk -v p="$SM_PID" '$2 != p' "$NOTES")
	[ -z "$bad" ] || fail "messages not sent by the master ($SM_PID): $bad"
}

# A copy of the probe the test can swap under the master's feet.
make_app() {
	APP="$SM_TMP/bin.$RANDOM/app"
	mkdir -p "$(dirname "$APP")"
	cp "$PROBE" "$APP"
}
# An executable that execve() rejects (its interpreter does not exist),
# put in place by rename so running workers are not disturbed.
break_app() {
	printf '#!/nonexistent/interpreter\n' >"$APP.new"
	chmod 755 "$APP.new"
	mv -f "$APP.new" "$APP"
}

workers_of_gen() {
	local c n=0
	for c in $(children "$SM_PID"); do
		tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx "SENTRIK_GENERATION=$1" && n=$((n + 1))
	done
	echo "$n"
}

t_notify_start_reload_rollback_stop() {
	need_root
	# break_app makes execve fail; valgrind kills such a child itself,
	# after the master counted the exec as done: nothing fails to start.
	[ -z "${SM_VALGRIND:-}" ] || skip "valgrind kills a child whose execve fails"
	listen "@sentrik-test-$$-$RANDOM"
	make_app
	NOTIFY_SOCKET=$NOTIFY_ADDR sm_start -w 4 -- "$APP"
	wait_notes 1 10 || fail "no READY=1 within 10 s"
	# READY=1 only once all four first-generation workers run.
	[ "$(workers_of_gen 0)" = 4 ] || fail "READY=1 before 4 workers: $(workers_of_gen 0)"
	expect_note 1 "READY=1|MAINPID=$SM_PID|STATUS=4/4 workers ready, generation 0"
	# The outer variables never reach a worker.
	local w
	w=$(children "$SM_PID" | head -1)
	tr '\0' '\n' <"/proc/$w/environ" | grep -qx "NOTIFY_SOCKET=$NOTIFY_ADDR" && fail "NOTIFY_SOCKET leaked into worker $w"

	# A successful reload: RELOADING=1 with the time, then READY=1.
	local before after usec
	before=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC)//1000)')
	kill -HUP "$SM_PID"
	wait_notes 3 10 || fail "reload not reported: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
	after=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC)//1000)')
	[[ "$(note 2)" =~ ^RELOADING=1\|MONOTONIC_USEC=([0-9]+)\|STATUS=reloading:\ starting\ generation\ 1$ ]] ||
		fail "message 2: '$(note 2)'"
	usec=${BASH_REMATCH[1]}
	[ "$usec" -ge "$before" ] && [ "$usec" -le "$after" ] ||
		fail "MONOTONIC_USEC=$usec not between $before and $after"
	expect_note 3 "READY=1|STATUS=4/4 workers ready, generation 1"
	wait_for 5 sh -c "[ \$(cat /proc/$SM_PID/task/*/children | wc -w) -eq 4 ]" || fail "old generation not retired"

	# A reload whose workers cannot start: rolled back, READY=1 again with why.
	break_app
	kill -HUP "$SM_PID"
	wait_notes 5 10 || fail "rollback not reported: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
	[[ "$(note 4)" =~ ^RELOADING=1\|MONOTONIC_USEC=[0-9]+\|STATUS=reloading:\ starting\ generation\ 2$ ]] ||
		fail "message 4: '$(note 4)'"
	[[ "$(note 5)" == "READY=1|STATUS=reload failed, generation 1 keeps serving: "*"No such file or directory"* ]] ||
		fail "message 5: '$(note 5)'"
	[ "$(workers_of_gen 1)" = 4 ] || fail "generation 1 does not serve with 4 workers after the rollback"

	# TERM: STOPPING=1, then a clean exit and nothing more.
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
	[ "$EXIT_CODE" = 0 ] || fail "exit code $EXIT_CODE"
	expect_note 6 "STOPPING=1|STATUS=stopping"
	sleep 0.2 # deliberate: time for a message that must not come
	[ "$(note_count)" = 6 ] || fail "extra messages: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
	all_from_master
}

# A reload that cannot even begin (the command is gone) must still close
# the RELOADING=1 it announced, or systemd would wait for it forever.
t_notify_reload_aborted() {
	need_root
	listen "@sentrik-test-$$-$RANDOM"
	make_app
	NOTIFY_SOCKET=$NOTIFY_ADDR sm_start -w 2 -- "$APP"
	wait_notes 1 10 || fail "no READY=1"
	expect_note 1 "READY=1|MAINPID=$SM_PID|STATUS=2/2 workers ready, generation 0"
	rm -f "$APP"
	kill -HUP "$SM_PID"
	wait_notes 3 10 || fail "aborted reload not reported: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
	# Refused before it began: no generation number is used.
	[[ "$(note 2)" == "RELOADING=1|MONOTONIC_USEC="*"|STATUS=reloading" ]] ||
		fail "message 2: '$(note 2)'"
	expect_note 3 "READY=1|STATUS=reload failed, generation 0 keeps serving: could not prepare the new generation, see the log"
	[ "$(workers_of_gen 0)" = 2 ] || fail "generation 0 not serving after the aborted reload"
	kill -INT "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after INT"
	[ "$EXIT_CODE" = 0 ] || fail "exit code $EXIT_CODE"
	expect_note 4 "STOPPING=1|STATUS=stopping"
	all_from_master
}

# HUPs in a burst are coalesced, and every RELOADING=1 is closed by a
# READY=1 before the next one: systemd never waits on a reload forever.
t_notify_hup_burst_pairs() {
	need_root
	listen "@sentrik-test-$$-$RANDOM"
	NOTIFY_SOCKET=$NOTIFY_ADDR sm_start -w 2 -- "$PROBE"
	wait_notes 1 10 || fail "no READY=1"
	kill -HUP "$SM_PID"; kill -HUP "$SM_PID"; kill -HUP "$SM_PID"
	wait_for 10 sh -c "tail -1 '$NOTES' | grep -q ' READY=1|STATUS=2/2 workers ready, generation [1-9]'" ||
		fail "reloads did not settle: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
	sleep 0.5 # deliberate: time for a message that must not come
	cut -d' ' -f3- "$NOTES" | awk -F'|' 'NR == 1 { next }
		NR % 2 == 0 && $1 != "RELOADING=1" { bad = 1 } NR % 2 == 1 && $1 != "READY=1" { bad = 1 }
		END { exit bad || NR < 3 || NR > 7 || NR % 2 == 0 }' ||
		fail "unpaired reload messages: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
	all_from_master
}

# A path NOTIFY_SOCKET (not abstract) works the same way.
t_notify_path_socket() {
	need_root
	listen "$SM_TMP/notify.$RANDOM.sock"
	NOTIFY_SOCKET=$NOTIFY_ADDR sm_start -w 1 -- "$PROBE"
	wait_notes 1 10 || fail "no READY=1 on a path socket"
	expect_note 1 "READY=1|MAINPID=$SM_PID|STATUS=1/1 workers ready, generation 0"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
	expect_note 2 "STOPPING=1|STATUS=stopping"
	all_from_master
}

# A failed first start still says STOPPING=1 and never READY=1.
t_notify_boot_failure() {
	need_root
	# break_app makes execve fail; valgrind kills such a child itself,
	# after the master counted the exec as done: nothing fails to start.
	[ -z "${SM_VALGRIND:-}" ] || skip "valgrind kills a child whose execve fails"
	listen "@sentrik-test-$$-$RANDOM"
	make_app
	break_app
	NOTIFY_SOCKET=$NOTIFY_ADDR sm_start -w 2 -- "$APP"
	wait_exit "$SM_PID" 10 || fail "no exit on a failed boot"
	[ "$EXIT_CODE" = 69 ] || fail "exit code $EXIT_CODE, expected 69"
	sleep 0.2 # deliberate: time for a message that must not come
	expect_note 1 "STOPPING=1|STATUS=stopping"
	[ "$(note_count)" = 1 ] || fail "messages: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
}

# A malformed NOTIFY_SOCKET is reported once and does not stop the service.
t_notify_bad_address() {
	need_root
	NOTIFY_SOCKET=relative/path WATCHDOG_USEC=100000 sm_start -w 1 -- "$PROBE"
	wait_for 5 has_children "$SM_PID" 1 || fail "no worker"
	grep -q "NOTIFY_SOCKET 'relative/path' ignored" "$SM_LOG" || fail "no warning about the bad NOTIFY_SOCKET"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
	[ "$EXIT_CODE" = 0 ] || fail "exit code $EXIT_CODE"
}

# count_pings SECONDS: WATCHDOG=1 messages received during SECONDS.
count_pings() {
	local a b
	a=$(grep -c 'WATCHDOG=1' "$NOTES")
	sleep "$1"
	b=$(grep -c 'WATCHDOG=1' "$NOTES")
	echo $((b - a))
}

t_watchdog_at_half_the_interval() {
	need_root
	listen "@sentrik-test-$$-$RANDOM"
	# WATCHDOG_USEC=400 ms: a ping every 200 ms, 15 in 3 s.
	NOTIFY_SOCKET=$NOTIFY_ADDR WATCHDOG_USEC=400000 sm_start -w 1 -- "$PROBE"
	wait_notes 1 10 || fail "no message"
	sleep 0.3 # deliberate: the count starts past the first pings
	local n
	n=$(count_pings 3)
	[ "$n" -ge 10 ] && [ "$n" -le 18 ] || fail "$n pings in 3 s with WATCHDOG_USEC=400000, expected about 15"
	# The gaps between pings: about 200 ms each (margins for a busy machine).
	awk '/WATCHDOG=1/ { if (prev) { d = $1 - prev; if (d < 100000 || d > 600000) bad = bad " " d } prev = $1 }
		END { if (bad) { print "ping gaps (usec):" bad; exit 1 } }' "$NOTES" || fail "irregular pings"
	w=$(children "$SM_PID" | head -1)
	tr '\0' '\n' <"/proc/$w/environ" | grep -q '^WATCHDOG_' && fail "WATCHDOG_* leaked into worker $w"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
	all_from_master
}

# WATCHDOG_PID names who must ping: the master when it is its own pid,
# nobody when it is another process.
t_watchdog_pid_honoured() {
	need_root
	# Own pid: exec keeps the pid, so $$ of that shell is the master's pid.
	listen "@sentrik-test-$$-$RANDOM"
	SM_LOG="$SM_TMP/master.$RANDOM.log"
	NOTIFY_SOCKET=$NOTIFY_ADDR WATCHDOG_USEC=200000 setsid sh -c 'WATCHDOG_PID=$$ exec "$0" "$@"' \
		"$SM_BIN" -w 1 -- "$PROBE" 2>"$SM_LOG" &
	SM_PID=$!
	track "$SM_PID"
	wait_notes 1 10 || fail "no message"
	[ "$(count_pings 1)" -ge 3 ] || fail "no pings with WATCHDOG_PID = the master's pid"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
	all_from_master

	listen "@sentrik-test-$$-$RANDOM"
	NOTIFY_SOCKET=$NOTIFY_ADDR WATCHDOG_USEC=200000 WATCHDOG_PID=1 sm_start -w 1 -- "$PROBE"
	wait_notes 1 10 || fail "no READY=1"
	[ "$(count_pings 1)" = 0 ] || fail "pings although WATCHDOG_PID names another process"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10 || fail "no exit after TERM"
}

# Without WATCHDOG_USEC an idle master has no timer: it does not wake up.
t_no_watchdog_no_wakeups() {
	need_root
	listen "@sentrik-test-$$-$RANDOM"
	NOTIFY_SOCKET=$NOTIFY_ADDR sm_start -w 2 -- "$PROBE"
	wait_notes 1 10 || fail "no READY=1"
	sleep 0.5 # deliberate: the idle window starts once the start is over
	local a b
	a=$(status_field "$SM_PID" voluntary_ctxt_switches)
	sleep 3
	b=$(status_field "$SM_PID" voluntary_ctxt_switches)
	[ "$a" = "$b" ] || fail "idle master woke up $((b - a)) times in 3 s"
	[ "$(note_count)" = 1 ] || fail "messages while idle: $(cut -d' ' -f3- "$NOTES" | tr '\n' '/')"
	kill -TERM "$SM_PID"
	wait_exit "$SM_PID" 10
}

# --- container examples ------------------------------------------------------

DOCKER_DIR="$REPO/examples/docker"

# The image's command line, ENTRYPOINT then CMD, one word a line (exec form).
image_command() {
	python3 - "$DOCKER_DIR/Dockerfile" <<'PY'
import json, sys
words = {}
for line in open(sys.argv[1]):
    for key in ("ENTRYPOINT", "CMD"):
        if line.startswith(key + " "):
            words[key] = json.loads(line[len(key) + 1:])  # exec form or an error
for w in words["ENTRYPOINT"] + words["CMD"]:
    print(w)
PY
}

t_dockerfile_modes_and_entrypoint() {
	local f="$DOCKER_DIR/Dockerfile"
	for a in userid=0 groupid=0 groupname=root; do
		grep -qx "ARG $a" "$f" || fail "Dockerfile lacks 'ARG $a' (root mode by default)"
	done
	[ "$(grep -c '^FROM ' "$f")" -ge 2 ] || fail "Dockerfile is not multi-stage"
	grep -v '^#' "$f" | grep -qi 'gosu\|entrypoint\.sh' && fail "Dockerfile uses gosu or an entrypoint script"
	grep -q '^USER ' "$f" && fail "USER would stop the master doing its root-only preparation"
	image_command >"$SM_TMP/cmd" || fail "ENTRYPOINT/CMD are not JSON exec form"
	[ "$(head -1 "$SM_TMP/cmd")" = /usr/local/sbin/sentrik-master ] || fail "the entrypoint is not sentrik-master"
	for w in --require-env --chown --; do
		grep -qx -- "$w" "$SM_TMP/cmd" || fail "the image command lacks $w"
	done
	# The build-time user setup: root mode creates nothing, custom mode
	# creates the user and has the master drop to it.
	local root="$SM_TMP/etcroot"
	mkdir -p "$root/etc/sentrik-master"
	cp /etc/passwd /etc/group /etc/shadow /etc/gshadow "$root/etc/"
	cp "$DOCKER_DIR/container.conf" "$root/etc/sentrik-master/"
	sh "$DOCKER_DIR/add-service-user.sh" 0 0 root "$root" >/dev/null || fail "root mode setup failed"
	cmp -s "$DOCKER_DIR/container.conf" "$root/etc/sentrik-master/container.conf" || fail "root mode changed the config"
	sh "$DOCKER_DIR/add-service-user.sh" 5000 5000 sentrik "$root" >/dev/null || fail "custom mode setup failed"
	grep -qx 'sentrik:x:5000:5000::/app:/usr/sbin/nologin' "$root/etc/passwd" || fail "service user not created"
	grep -qx 'user = 5000' "$root/etc/sentrik-master/container.conf" || fail "config does not name the user"
	sh "$DOCKER_DIR/add-service-user.sh" x 0 root "$root" 2>/dev/null && fail "a non-numeric userid was accepted"
	return 0
}

t_yaml_examples_parse() {
	python3 - "$REPO/examples/kubernetes/deployment.yaml" "$DOCKER_DIR/compose.yaml" <<'PY' || fail "YAML check failed"
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
dep = [d for d in docs if d and d.get("kind") == "Deployment"][0]
pod = dep["spec"]["template"]["spec"]
psc = pod["securityContext"]
assert psc["runAsNonRoot"] is True and psc["runAsUser"] == 5000, psc
assert psc["fsGroup"] == 5000 and psc["runAsGroup"] == 5000, psc
c = pod["containers"][0]
csc = c["securityContext"]
assert csc["allowPrivilegeEscalation"] is False, csc
assert csc["readOnlyRootFilesystem"] is True, csc
assert csc["capabilities"]["drop"] == ["ALL"], csc
assert "add" not in csc["capabilities"], csc
assert c["readinessProbe"]["httpGet"]["path"] and c["livenessProbe"]["httpGet"]["path"]
# the probes ask the master's --metrics endpoint about the pool
args = c["args"]
port = args[args.index("--metrics") + 1].lstrip(":")
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
assert ports["metrics"] == int(port), (ports, port)
assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}, c["readinessProbe"]
assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}, c["livenessProbe"]
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
assert mounts["/mnt/archive"].get("readOnly") is True, mounts
assert pod["terminationGracePeriodSeconds"] <= 10
compose = yaml.safe_load(open(sys.argv[2]))
app = compose["services"]["app"]
vols = app["volumes"]
assert any(v.endswith(":/var/log/app") for v in vols), vols
assert any(v.endswith(":/app/data") for v in vols), vols
assert any(v.endswith(":/app/custom-certs:ro") for v in vols), vols
assert app["build"]["args"]["userid"] == "5000", app["build"]
PY
}

# rootfs DIR: a minimal image like the Dockerfile's, without a Docker
# engine: the binaries at their image paths with the libraries they need.
make_rootfs() {
	local root=$1 bin lib
	mkdir -p "$root"/{proc,dev,tmp,etc/sentrik-master,app/bin,app/data,app/custom-certs,var/log/app,usr/local/sbin,mnt}
	chmod 1777 "$root/tmp"
	mknod -m 666 "$root/dev/null" c 1 3 || fail "mknod /dev/null"
	cp "$SM_BIN" "$root/usr/local/sbin/sentrik-master"
	cp "$SM_EXAMPLES/docker/demo-app" "$root/app/bin/demo-app"
	for bin in "$SM_BIN" "$SM_EXAMPLES/docker/demo-app"; do
		for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	done
	cp /etc/passwd /etc/group /etc/shadow /etc/gshadow "$root/etc/"
	cp "$DOCKER_DIR/container.conf" "$root/etc/sentrik-master/"
}

# container MODE: run the image's command line as PID 1 in fresh pid,
# mount and network namespaces with a clean environment, as docker run
# would; C_PID is the host pid of that PID 1.
container() {
	local root="$SM_TMP/rootfs.$1"
	make_rootfs "$root"
	if [ "$1" = user ]; then
		sh "$DOCKER_DIR/add-service-user.sh" 5000 5000 sentrik "$root" >/dev/null || fail "user setup"
	fi
	mapfile -t cmd < <(image_command)
	SM_LOG="$SM_TMP/container.$1.log"
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOSTNAME=test HOME=/root \
		SECRET_KEY=s3cret DB_PASSWORD=not-the-default \
		setsid unshare --pid --fork --mount --net --root="$root" --mount-proc -- "${cmd[@]}" \
		>"$SM_LOG.out" 2>"$SM_LOG" &
	U_PID=$!
	track "$U_PID"
	wait_for 5 sh -c "[ -n \"\$(cat /proc/$U_PID/task/*/children 2>/dev/null)\" ]" || fail "no PID 1 started"
	C_PID=$(children "$U_PID" | head -1)
	SM_PID=$C_PID
	[ "$(status_field "$C_PID" NSpid | awk '{print $NF}')" = 1 ] || fail "not PID 1 in its namespace"
	wait_for 10 has_children "$C_PID" 4 || fail "PID 1 did not start 4 workers: $(count_children "$C_PID")"
	local w uid
	uid=$(status_field "$C_PID" Uid | awk '{print $1}')
	for w in $(children "$C_PID"); do
		[ "$(status_field "$w" Uid | awk '{print $1}')" = "$uid" ] || fail "worker $w does not share the master's uid $uid"
	done
	if [ "$1" = user ]; then
		[ "$uid" = 5000 ] || fail "custom user mode runs as $uid, not 5000"
	else
		[ "$uid" = 0 ] || fail "root mode runs as $uid, not 0"
	fi
}

# docker stop: TERM to PID 1, KILL 10 s later if still there.  The
# container must be gone with status 0 well inside those 10 s.
docker_stop() {
	local t0 t1 ms
	t0=$(date +%s%N)
	kill -TERM "$C_PID"
	if ! wait_exit "$U_PID" 10; then
		kill -KILL "$C_PID"
		wait_exit "$U_PID" 5
		fail "still running 10 s after TERM: docker would have sent KILL"
	fi
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	echo "docker stop emulation: exit $EXIT_CODE after $ms ms"
	[ "$EXIT_CODE" = 0 ] || fail "container exit status $EXIT_CODE after TERM"
	[ "$ms" -lt 3000 ] || fail "TERM to exit took $ms ms (docker gives 10000)"
}

# container_http PATH: GET PATH from inside the container's network namespace
# (only once the master hands a listening socket to its workers).
container_http() {
	nsenter --net="/proc/$C_PID/ns/net" python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.build_opener(urllib.request.ProxyHandler({})).open("http://127.0.0.1:8000" + sys.argv[1], timeout=3)
    print(r.status, r.read().decode().strip())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode().strip())
PY
}

container_checks() {
	local w
	w=$(children "$C_PID" | head -1)
	# The image's CMD binds :8000: the workers get that socket.
	tr '\0' '\n' <"/proc/$w/environ" | grep -qx 'LISTEN_FDS=1' ||
		fail "worker $w got no listening socket: $(tr '\0' '\n' <"/proc/$w/environ" | grep ^LISTEN_)"
	nsenter --net="/proc/$C_PID/ns/net" ip link set lo up || fail "cannot bring up the container's lo"
	[ "$(container_http /healthz)" = "200 ok" ] || fail "/healthz: $(container_http /healthz)"
	[[ "$(container_http /archive)" == "404 archive /mnt/archive not mounted"* ]] ||
		fail "missing optional mount not tolerated: $(container_http /archive)"
}

# The demo worker's probes on a socket handed over as fd 3, with and
# without the optional archive mount, and its prompt exit on TERM.
t_demo_app_probes() {
	mkdir -p "$SM_TMP/archive"
	python3 - "$SM_EXAMPLES/docker/demo-app" "$SM_TMP" <<'PY' || fail "demo-app probes failed"
import os, signal, socket, subprocess, sys, time, urllib.request, urllib.error
app, tmp = sys.argv[1], sys.argv[2]
def get(port, path):
    try:
        r = urllib.request.build_opener(urllib.request.ProxyHandler({})).open("http://127.0.0.1:%d%s" % (port, path), timeout=3)
        return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
for archive, want in ((tmp + "/missing", 404), (tmp + "/archive", 200)):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    port = s.getsockname()[1]
    fd = s.detach()
    if fd != 3:
        os.dup2(fd, 3)
        os.close(fd)
    env = {"LISTEN_FDS": "1", "ARCHIVE_DIR": archive}
    p = subprocess.Popen([app], env=env, pass_fds=(3,), stderr=subprocess.DEVNULL)
    os.close(3)
    assert get(port, "/healthz") == (200, "ok\n"), get(port, "/healthz")
    assert get(port, "/ready") == (200, "ready\n")
    code, body = get(port, "/archive")
    assert code == want, (archive, code, body)
    assert want == 200 or "not mounted" in body, body
    assert get(port, "/healthz")[0] == 200  # still serving either way
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=5) == 0
    assert time.monotonic() - t0 < 1.0
PY
}

t_container_root_mode_pid1_docker_stop() {
	need_root
	container root
	container_checks
	docker_stop
}

t_container_user_mode_pid1_docker_stop() {
	need_root
	container user
	container_checks
	docker_stop
}

# --- units and man page ----------------------------------------------------

# systemd-analyze verify on every unit, instantiated, with ExecStart
# pointing at the binary installed by `make install DESTDIR=` into a
# temporary root (verify refuses a missing executable).
t_units_verify() {
	command -v systemd-analyze >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null 2>&1 ||
		skip "systemd-analyze unavailable"
	local dest="$SM_TMP/dest" units="$SM_TMP/units" u out n=0
	make -s -C "$REPO" -o "$SM_BIN" install DESTDIR="$dest" BUILD="$(dirname "$SM_BIN")" \
		>"$SM_TMP/install.out" 2>&1 || fail "make install DESTDIR failed: $(cat "$SM_TMP/install.out")"
	[ -x "$dest/usr/local/sbin/sentrik-master" ] || fail "make install did not install the binary"
	[ -f "$dest/usr/local/share/man/man8/sentrik-master.8" ] || fail "make install did not install the man page"
	mkdir -p "$units"
	for u in "$REPO"/systemd/*.service "$REPO"/systemd/*.socket; do
		local name
		name=$(basename "$u")
		name=${name/@./@example.}
		sed "s#/usr/local/sbin/sentrik-master#$dest/usr/local/sbin/sentrik-master#" "$u" >"$units/$name"
		n=$((n + 1))
	done
	[ "$n" -ge 2 ] || fail "expected a service and a socket unit, found $n"
	out=$(cd "$units" && systemd-analyze verify --man=no ./* 2>&1) || fail "verify failed: $out"
	[ -z "$out" ] || fail "verify warnings: $out"
	# What the unit promises: notify, reload by HUP, mixed kill, and a stop
	# timeout above the graceful timeout it passes.
	local svc="$REPO/systemd/sentrik-master@.service" grace stop
	grep -qx 'Type=notify' "$svc" || fail "not Type=notify"
	grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$svc" || fail "no HUP reload"
	grep -qx 'KillMode=mixed' "$svc" || fail "not KillMode=mixed"
	grep -q '^WatchdogSec=' "$svc" || fail "no WatchdogSec"
	grace=$(grep -o -- '--graceful-timeout [0-9]*' "$svc" | awk '{print $2}')
	stop=$(sed -n 's/^TimeoutStopSec=//p' "$svc")
	[ -n "$grace" ] && [ "$stop" -gt "$grace" ] || fail "TimeoutStopSec=$stop not above --graceful-timeout $grace"
}

t_man_page_lint() {
	local page="$REPO/docs/sentrik-master.8" out opt
	[ -f "$page" ] || fail "no man page"
	command -v mandoc >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mandoc >/dev/null 2>&1 || skip "mandoc unavailable"
	out=$(mandoc -T lint -W warning "$page" 2>&1) || fail "mandoc lint: $out"
	[ -z "$out" ] || fail "mandoc lint: $out"
	# Every long option of --help is documented (a --help that printed
	# nothing would leave nothing to compare: SPEC §2 has over 20 options).
	"$SM_BIN" --help >"$SM_TMP/help" || fail "--help exit $?"
	local opts
	opts=$(grep -o -- '--[a-z][a-z-]*' "$SM_TMP/help" | sort -u)
	[ "$(echo "$opts" | grep -c .)" -ge 20 ] || fail "--help lists only: $(echo $opts)"
	for opt in $opts; do
		grep -qF -- "Fl \\-${opt#--}" "$page" || fail "man page lacks $opt"
	done
	for sig in HUP USR1 TERM INT QUIT TTIN TTOU CHLD; do
		grep -q "$sig" "$page" || fail "man page lacks signal $sig"
	done
	for code in 64 67 69 71 73 77 78; do
		grep -q "^\.It $code\|Li $code\|^$code" "$page" || fail "man page lacks exit code $code"
	done
	for var in NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID LISTEN_FDS LISTEN_PID LISTEN_FDNAMES \
		SENTRIK_WORKER_ID SENTRIK_GENERATION SENTRIK_MASTER_PID; do
		grep -q "$var" "$page" || fail "man page lacks $var"
	done
}

run_tests "$@"
