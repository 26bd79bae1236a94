#!/usr/bin/env python3
"""A stand-in for the service manager's end of NOTIFY_SOCKET.

notify_listener.py ADDRESS OUT [SECONDS]
ADDRESS is "@abstract" or "/path".  Every datagram received becomes one
line of OUT: "<CLOCK_MONOTONIC usec at receipt> <sender pid> <message with
newlines written as |>".  The sender's pid comes from SCM_CREDENTIALS, as
systemd's NotifyAccess=main check does.  OUT.ready appears once bound; the
listener exits after SECONDS (default 60) so a test can never hang on it.
"""
import os
import socket
import struct
import sys
import time


def main():
    address, out = sys.argv[1], sys.argv[2]
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.bind("\0" + address[1:] if address.startswith("@") else address)
    end = time.monotonic() + limit
    with open(out, "w", buffering=1) as f:
        open(out + ".ready", "w").close()
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            sock.settimeout(left)
            try:
                data, anc, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                return
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
            pid = 0
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", payload[:12])[0]
            text = data.decode("utf-8", "replace").replace("\n", "|")
            f.write("%d %d %s\n" % (now, pid, text))


if __name__ == "__main__":
    main()
