"""A `websockets` echo server for the WebSocket tests: echoes every message on any path
but /refuse, which answers the upgrade with 403.

usage: ws_echo_server.py PORT MAX_SECONDS
"""
import sys
import threading
from http import HTTPStatus

from websockets.sync.server import serve

PORT, MAX_SECONDS = int(sys.argv[1]), float(sys.argv[2])


def refuse(connection, request):
    if request.path == "/refuse":
        return connection.respond(HTTPStatus.FORBIDDEN, "no upgrade here\n")
    return None


def echo(ws):
    for message in ws:
        ws.send(message)


with serve(echo, "127.0.0.1", PORT, process_request=refuse, max_size=None) as server:
    print("websockets echo server on %d" % PORT, flush=True)
    threading.Timer(MAX_SECONDS, server.shutdown).start()
    server.serve_forever()
