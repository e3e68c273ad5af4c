"""A `websockets` client for the WebSocket tests: exchanges text and binary messages with
an echo server and prints what it saw as JSON; with --idle SECONDS it instead waits that
long without sending and reports whether the connection was closed under it.

usage: ws_client.py URL [--idle SECONDS]
"""
import json
import sys
import time

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

URL = sys.argv[1]
out = {}
try:
    with connect(URL, max_size=None, open_timeout=10, close_timeout=5) as ws:
        if len(sys.argv) > 3 and sys.argv[2] == "--idle":
            time.sleep(float(sys.argv[3]))
            try:
                ws.send("after idle")
                ws.recv(timeout=5)
                out["closed_while_idle"] = False
            except (ConnectionClosed, TimeoutError):
                out["closed_while_idle"] = True
        else:
            ws.send("hello")
            out["text"] = ws.recv(timeout=10)
            blob = bytes(i % 251 for i in range(1 << 20))
            ws.send(blob)
            out["binary_ok"] = ws.recv(timeout=20) == blob
            for i in range(100):
                ws.send("m%d" % i)
            out["ordered"] = all(ws.recv(timeout=10) == "m%d" % i for i in range(100))
            ws.ping().wait(timeout=5)
            out["pong"] = True
except InvalidStatus as e:
    out["status"] = e.response.status_code
    out["body"] = e.response.body.decode(errors="replace")
print(json.dumps(out), flush=True)
