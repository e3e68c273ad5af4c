"""A grpcio client making unary calls of METHOD with each PAYLOAD in turn, for the retry
tests; prints one JSON list with each call's answer or status.

usage: grpc_unary.py TARGET METHOD PAYLOAD...
"""
import json
import sys

import grpc

TARGET, METHOD, PAYLOADS = sys.argv[1], sys.argv[2], sys.argv[3:]
out = []
with grpc.insecure_channel(TARGET) as ch:
    call = ch.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
    for payload in PAYLOADS:
        try:
            out.append({"ok": call(payload.encode(), timeout=10).decode()})
        except grpc.RpcError as e:
            out.append({"code": e.code().name, "details": e.details()})
print(json.dumps(out))
