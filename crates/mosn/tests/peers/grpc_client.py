"""A grpcio client for the end-to-end tests: runs every call kind against TARGET and
prints one JSON object with what each call returned (or its status), for the test to
assert on.

usage: grpc_client.py TARGET [CA_PEM SERVER_NAME]   (with the last two: over TLS)
"""
import json
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TARGET = sys.argv[1]
out = {}


def status_of(call):
    try:
        result = call()
        return {"ok": result}
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details()}


if len(sys.argv) > 3:
    with open(sys.argv[2], "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    channel = grpc.secure_channel(
        TARGET, creds, options=(("grpc.ssl_target_name_override", sys.argv[3]),)
    )
else:
    channel = grpc.insecure_channel(TARGET)

with channel as ch:
    raw = dict(request_serializer=None, response_deserializer=None)
    unary = ch.unary_unary("/test.Echo/Unary", **raw)
    resp, call = unary.with_call(b"hi", metadata=(("x-test", "42"),), timeout=10)
    out["unary"] = resp.decode()
    out["unary_trailers"] = dict(call.trailing_metadata())
    stream = ch.unary_stream("/test.Echo/ServerStream", **raw)
    out["server_stream"] = [m.decode() for m in stream(b"5", timeout=10)]
    cstream = ch.stream_unary("/test.Echo/ClientStream", **raw)
    out["client_stream"] = cstream(iter([b"a", b"b", b"c"]), timeout=10).decode()
    bidi = ch.stream_stream("/test.Echo/Bidi", **raw)
    out["bidi"] = [m.decode() for m in bidi(iter([b"x", b"yz"]), timeout=10)]
    # Ping-pong: each message is sent only after the previous reply arrived, which
    # deadlocks unless every hop streams frames as they come.
    import queue

    replies = queue.Queue()

    def pingpong():
        for word in (b"one", b"two", b"three"):
            yield word
            replies.get(timeout=5)

    got = []
    for m in bidi(pingpong(), timeout=10):
        got.append(m.decode())
        replies.put(m)
    out["bidi_pingpong"] = got
    big = ch.unary_unary("/test.Echo/Big", **raw)
    out["big_len"] = len(big(b"3000000", timeout=20))
    out["fail"] = status_of(lambda: ch.unary_unary("/test.Echo/Fail", **raw)(b"", timeout=10))
    out["deadline"] = status_of(
        lambda: ch.unary_unary("/test.Echo/Slow", **raw)(b"3", timeout=0.5)
    )
    # Slow answers after 1 s; only a proxy route timeout below that cuts it.
    out["slow"] = status_of(
        lambda: ch.unary_unary("/test.Echo/Slow", **raw)(b"1", timeout=10).decode()
    )
    out["no_route"] = status_of(
        lambda: ch.unary_unary("/unrouted.Svc/Call", **raw)(b"", timeout=10)
    )
    out["no_upstream"] = status_of(
        lambda: ch.unary_unary("/dead.Svc/Call", **raw)(b"", timeout=10)
    )
    # Cancelling a stream reaches the server as a cancellation (RST_STREAM both hops).
    import time

    watch = ch.unary_stream("/test.Echo/Watch", **raw)(b"watch-1", timeout=30)
    ticks = [next(watch).decode() for _ in range(2)]
    watch.cancel()
    asked = ch.unary_unary("/test.Echo/WasCancelled", **raw)
    seen = b"no"
    for _ in range(40):
        seen = asked(b"watch-1", timeout=5)
        if seen == b"yes":
            break
        time.sleep(0.05)
    out["cancel"] = {"ticks": ticks, "server_saw_cancel": seen.decode()}
    checker = health_pb2_grpc.HealthStub(ch)
    out["health"] = {
        svc: health_pb2.HealthCheckResponse.ServingStatus.Name(
            checker.Check(health_pb2.HealthCheckRequest(service=svc), timeout=10).status
        )
        for svc in ("test.Echo", "test.Down")
    }
print(json.dumps(out), flush=True)
