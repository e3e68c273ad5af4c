"""An RFC 8441 WebSocket client over h2c, built from the `h2` (hyper-h2) and `wsproto`
libraries: opens an extended CONNECT stream with `:protocol websocket`, exchanges
messages over it, and prints what it saw as JSON. No packaged client speaks RFC 8441
over h2c, so the test assembles one from these two protocol libraries.

usage: ws_h2_client.py HOST PORT PATH
"""
import json
import socket
import sys

import h2.config
import h2.connection
import h2.events
from wsproto.frame_protocol import FrameProtocol

HOST, PORT, PATH = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((HOST, PORT), timeout=10)
conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
sock.sendall(conn.data_to_send())


def pump():
    data = sock.recv(65535)
    if not data:
        raise EOFError("server closed the connection")
    events = conn.receive_data(data)
    sock.sendall(conn.data_to_send())
    return events


out = {}
while not any(isinstance(e, h2.events.RemoteSettingsChanged) for e in pump()):
    pass
out["enable_connect_protocol"] = conn.remote_settings.enable_connect_protocol
stream = conn.get_next_available_stream_id()
conn.send_headers(stream, [
    (":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
    (":path", PATH), (":authority", "%s:%d" % (HOST, PORT)),
    ("sec-websocket-version", "13"),
])
sock.sendall(conn.data_to_send())
status = None
while status is None:
    for e in pump():
        if isinstance(e, h2.events.ResponseReceived) and e.stream_id == stream:
            status = int(dict(e.headers)[b":status"])
out["status"] = status
if status == 200:
    ws = FrameProtocol(client=True, extensions=[])
    echoes = []
    for message in ("hello over h2", "x" * 100000):
        frame = ws.send_data(message)
        for i in range(0, len(frame), 16384):
            conn.send_data(stream, frame[i:i + 16384])
            sock.sendall(conn.data_to_send())
        got = ""
        while len(got) < len(message):
            for e in pump():
                if isinstance(e, h2.events.DataReceived) and e.stream_id == stream:
                    conn.acknowledge_received_data(e.flow_controlled_length, stream)
                    sock.sendall(conn.data_to_send())
                    ws.receive_bytes(e.data)
                    for frame in ws.received_frames():
                        got += frame.payload
        echoes.append(got == message)
    out["echoes"] = echoes
print(json.dumps(out), flush=True)
