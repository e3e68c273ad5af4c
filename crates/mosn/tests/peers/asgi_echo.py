"""An ASGI app served by hypercorn (HTTP/1.1 and h2c on one port) for the HTTP/2 and
conversion tests:

  /echo              the request body back, with content-length when the request had one
  /download/N        N bytes with content-length
  /stream/N          N bytes without a length (chunked on HTTP/1.1), in 16 KiB pieces
  /slow/SECONDS      answers after a delay

Every response names the protocol it was served over in `x-upstream-http`, the request
body length in `x-request-length`, and whether the request had a content-length in
`x-request-had-length`.

usage: python -m hypercorn --bind 127.0.0.1:PORT asgi_echo:app
"""
import asyncio

PIECE = 16 * 1024


CYCLE = bytes(range(251))


def pattern(n):
    """Bytes 0..250 repeated: cheap to make and to check at any size."""
    return (CYCLE * (n // 251 + 1))[:n]


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    headers = dict(scope["headers"])
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    path = scope["path"]
    common = [
        (b"x-upstream-http", scope["http_version"].encode()),
        (b"x-request-length", str(len(body)).encode()),
        (b"x-request-had-length", b"yes" if b"content-length" in headers else b"no"),
    ]
    if path == "/echo":
        extra = [(b"content-length", str(len(body)).encode())] if b"content-length" in headers else []
        await send({"type": "http.response.start", "status": 200, "headers": common + extra})
        await send({"type": "http.response.body", "body": body})
    elif path.startswith("/download/"):
        n = int(path.split("/")[2])
        await send({"type": "http.response.start", "status": 200,
                    "headers": common + [(b"content-length", str(n).encode())]})
        await send({"type": "http.response.body", "body": pattern(n)})
    elif path.startswith("/stream/"):
        n = int(path.split("/")[2])
        data = pattern(n)
        await send({"type": "http.response.start", "status": 200, "headers": common})
        for i in range(0, n, PIECE):
            await send({"type": "http.response.body", "body": data[i:i + PIECE], "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path.startswith("/slow/"):
        await asyncio.sleep(float(path.split("/")[2]))
        await send({"type": "http.response.start", "status": 200, "headers": common})
        await send({"type": "http.response.body", "body": b"slow"})
    else:
        await send({"type": "http.response.start", "status": 404, "headers": common})
        await send({"type": "http.response.body", "body": b"not found"})
