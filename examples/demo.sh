#!/bin/sh
# make demo: sentrik-master with 4 hello-http workers on 127.0.0.1:8000, in
# the foreground; Ctrl-C stops it.  The master is exec()ed, so $$ is its pid.
#   usage: demo.sh SENTRIK-MASTER HELLO-HTTP
set -eu
master=${1:?usage: demo.sh SENTRIK-MASTER HELLO-HTTP}
hello=${2:?usage: demo.sh SENTRIK-MASTER HELLO-HTTP}
# hint COMMAND WHAT: one line of the list below, WHAT in one column for any
# pid up to 7 digits (pid_max is at most 4194304).
hint() { printf '    %-39s # %s\n' "$1" "$2"; }
echo "sentrik-master: 4 hello-http workers on http://127.0.0.1:8000/"
echo "  in another terminal:"
hint "curl http://127.0.0.1:8000/" "which worker and generation answered"
hint "kill -HUP $$" "reload: generation + 1, no request lost"
hint "kill -TTIN $$ / kill -TTOU $$" "one worker more / less"
echo "  Ctrl-C here stops it."
exec "$master" --workers 4 --ready notify --bind 127.0.0.1:8000 -- "$hello"
