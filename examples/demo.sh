#!/bin/sh
# make demo: sentrik-master with 4 hello-http workers on 127.0.0.1:8000, in
# the foreground; Ctrl-C stops it.  The master is exec()ed, so $$ is its pid.
#   usage: demo.sh SENTRIK-MASTER HELLO-HTTP
set -eu
master=${1:?usage: demo.sh SENTRIK-MASTER HELLO-HTTP}
hello=${2:?usage: demo.sh SENTRIK-MASTER HELLO-HTTP}
cat <<MSG
sentrik-master: 4 hello-http workers on http://127.0.0.1:8000/
  in another terminal:
    curl http://127.0.0.1:8000/                 # which worker and generation answered
    kill -HUP $$                                # reload: generation + 1, no request lost
    kill -TTIN $$ / kill -TTOU $$               # one worker more / less
  Ctrl-C here stops it.
MSG
exec "$master" --workers 4 --ready notify --bind 127.0.0.1:8000 -- "$hello"
