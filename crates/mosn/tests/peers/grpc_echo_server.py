"""A grpcio echo server for the end-to-end tests: the four call kinds, a failing method,
a slow one, an endless stream that records its cancellation, a flaky one (scripted:
UNAVAILABLE the first time it sees a payload, for the retry tests, since no real
server fails on demand), and the standard grpc.health.v1 service. Messages are raw bytes (no codegen),
so the test checks the proxy's HTTP/2 and gRPC handling, not protobuf.

usage: grpc_echo_server.py PORT NAME MAX_SECONDS [ECHO_HEALTH]
(ECHO_HEALTH, default SERVING, is what the health service says of test.Echo)
"""
import sys
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

PORT, NAME, MAX_SECONDS = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
ECHO_HEALTH = sys.argv[4] if len(sys.argv) > 4 else "SERVING"
raw = dict(request_deserializer=None, response_serializer=None)


def unary(req, ctx):
    md = dict(ctx.invocation_metadata())
    ctx.set_trailing_metadata((("x-served-by", NAME),))
    return b"echo:" + req + b" x-test=" + md.get("x-test", "").encode()


def server_stream(req, ctx):
    for i in range(int(req)):
        yield b"part-%d" % i


def client_stream(it, ctx):
    return b"+".join(it)


def bidi(it, ctx):
    for msg in it:
        yield msg.upper()


def fail(req, ctx):
    ctx.abort(grpc.StatusCode.ABORTED, "deliberate failure: d\u00e9j\u00e0 vu")


def slow(req, ctx):
    time.sleep(float(req))
    return b"late"


cancelled = set()


def watch(req, ctx):
    """Streams until the client goes away; remembers calls that ended by cancellation."""
    ctx.add_callback(lambda: cancelled.add(req) if not ctx.is_active() else None)
    i = 0
    while ctx.is_active():
        yield b"tick-%d" % i
        i += 1
        time.sleep(0.05)
    cancelled.add(req)


def was_cancelled(req, ctx):
    return b"yes" if req in cancelled else b"no"


seen = set()


def flaky(req, ctx):
    """UNAVAILABLE (a trailers-only response) the first time `req` arrives, then an
    answer naming the x-envoy-attempt-count the call carried."""
    attempt = dict(ctx.invocation_metadata()).get("x-envoy-attempt-count", "none")
    if req not in seen:
        seen.add(req)
        ctx.abort(grpc.StatusCode.UNAVAILABLE, "first attempt of %s" % req.decode())
    return b"ok:" + req + b" attempt=" + attempt.encode()


def big(req, ctx):
    return bytes(i % 251 for i in range(int(req)))


handlers = grpc.method_handlers_generic_handler(
    "test.Echo",
    {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, **raw),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, **raw),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream, **raw),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi, **raw),
        "Fail": grpc.unary_unary_rpc_method_handler(fail, **raw),
        "Slow": grpc.unary_unary_rpc_method_handler(slow, **raw),
        "Big": grpc.unary_unary_rpc_method_handler(big, **raw),
        "Flaky": grpc.unary_unary_rpc_method_handler(flaky, **raw),
        "Watch": grpc.unary_stream_rpc_method_handler(watch, **raw),
        "WasCancelled": grpc.unary_unary_rpc_method_handler(was_cancelled, **raw),
    },
)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
server.add_generic_rpc_handlers((handlers,))
status = health.HealthServicer()
health_pb2_grpc.add_HealthServicer_to_server(status, server)
status.set("test.Echo", health_pb2.HealthCheckResponse.ServingStatus.Value(ECHO_HEALTH))
status.set("test.Down", health_pb2.HealthCheckResponse.NOT_SERVING)
server.add_insecure_port("127.0.0.1:%d" % PORT)
server.start()
print("grpcio %s serving on %d" % (grpc.__version__, PORT), flush=True)
server.wait_for_termination(timeout=MAX_SECONDS)
