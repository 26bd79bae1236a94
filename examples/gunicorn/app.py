"""A WSGI app that gunicorn serves on the socket sentrik-master hands it.

gunicorn adopts LISTEN_FDS by itself (it checks that LISTEN_PID is its own
pid, which the master sets per worker), so the plain command is the recipe:

    sentrik-master --user app --chdir /srv/app --bind 127.0.0.1:8000 \\
        --workers 4 -- gunicorn app:app

Do not add `--bind fd://3`: gunicorn then closes descriptor 3 while it takes
the LISTEN_FDS sockets and fails with EBADF ([Errno 9] Bad file descriptor).
Each sentrik-master worker is one gunicorn arbiter with one sync worker
(gunicorn's default `--workers 1`); the master kills the arbiter's whole
process group when it dies, and TERM is gunicorn's graceful stop.
"""
import os

WORKER = os.environ.get("SENTRIK_WORKER_ID", "?")
GENERATION = os.environ.get("SENTRIK_GENERATION", "?")


def app(environ, start_response):
    body = f"hello from worker {WORKER} generation {GENERATION} pid {os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
