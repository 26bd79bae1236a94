"""A Flask app served by gunicorn under sentrik-master, as a service user
with a log directory of its own.

Root creates /var/log/app and gives it to the user, binds the port, drops,
and then every line gunicorn and Flask write goes to the log file, opened
as the user (SIGUSR1 reopens it after logrotate):

    sentrik-master --user app --chown /var/log/app --log-file /var/log/app/app.log \\
        --chdir /srv/app --bind :8000 --workers 4 -- gunicorn app:app

gunicorn takes the socket from LISTEN_FDS by itself; see
examples/gunicorn/app.py for why not `--bind fd://3`.  Debian packages:
gunicorn, python3-flask.
"""
import os

from flask import Flask

WORKER = os.environ.get("SENTRIK_WORKER_ID", "?")
GENERATION = os.environ.get("SENTRIK_GENERATION", "?")

app = Flask(__name__)


@app.route("/")
def hello():
    return f"hello from worker {WORKER} generation {GENERATION} pid {os.getpid()}\n"
