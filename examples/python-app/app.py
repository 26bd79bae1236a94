#!/usr/bin/env python3
"""A worker for sentrik-master using only the Python standard library.

It takes its listening socket from LISTEN_FDS, says READY=1 on
NOTIFY_SOCKET, answers every request with its worker id and generation,
and on TERM stops accepting, finishes the requests in flight and exits.

    sentrik-master --bind 127.0.0.1:8000 --workers 4 --ready notify -- python3 app.py
"""
import http.server
import os
import signal
import socket
import socketserver
import sys
import threading

WORKER = os.environ.get("SENTRIK_WORKER_ID", "?")
GENERATION = os.environ.get("SENTRIK_GENERATION", "?")
draining = threading.Event()


def listening_socket():
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        sys.exit("app.py: no listening socket (LISTEN_FDS); run it under "
                 "sentrik-master --bind ADDR")
    if int(os.environ.get("LISTEN_FDS", "0")) < 1:
        sys.exit("app.py: LISTEN_FDS is 0")
    sock = socket.socket(fileno=3)
    # Every worker waits on the same socket: the losers of a race for a
    # connection must get EAGAIN, not block in accept() and miss TERM.
    sock.setblocking(False)
    return sock


def notify(text):
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(text.encode(), path)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 1  # an idle keep-alive connection does not hold a stop for long

    def do_GET(self):
        body = ("hello from worker %s generation %s pid %d\n"
                % (WORKER, GENERATION, os.getpid())).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if draining.is_set():
            # The client reconnects, to a worker of the new generation.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = False  # server_close() waits for the requests in flight
    block_on_close = True

    def __init__(self, sock):
        socketserver.BaseServer.__init__(self, sock.getsockname(), Handler)
        self.socket = sock


def main():
    server = Server(listening_socket())

    def stop(signum, frame):
        draining.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    notify("READY=1\nSTATUS=serving")
    server.serve_forever(poll_interval=0.2)
    server.server_close()


if __name__ == "__main__":
    main()
