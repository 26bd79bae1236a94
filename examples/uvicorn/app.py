"""An ASGI app that uvicorn serves on the socket sentrik-master hands it.

The master binds the address (as root if it must), drops to the service
user and starts one uvicorn per worker on descriptor 3, the first socket of
LISTEN_FDS:

    sentrik-master --user app --chdir /srv/app --bind 127.0.0.1:8000 \\
        --workers 4 -- uvicorn --fd 3 app:app

Every answer says which worker and generation served it, as the other
examples do.  uvicorn stops gracefully on TERM (the master's stop signal):
it stops accepting, finishes the requests in flight and exits.  Standard
library only, besides uvicorn itself (Debian: uvicorn, python3-uvicorn).
"""
import os

WORKER = os.environ.get("SENTRIK_WORKER_ID", "?")
GENERATION = os.environ.get("SENTRIK_GENERATION", "?")


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        # Nothing to set up; answering lifespan keeps uvicorn from logging
        # that the app does not support it.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = f"hello from worker {WORKER} generation {GENERATION} pid {os.getpid()}\n".encode()
    await send({
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/plain"),
                    (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})
