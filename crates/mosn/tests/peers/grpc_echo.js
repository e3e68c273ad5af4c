'use strict';
// The test.Echo service for @grpc/grpc-js, with raw-bytes messages (no codegen), shared by
// grpc_echo_server.js and grpc_client.js.
const grpc = require('@grpc/grpc-js');

const raw = { requestSerialize: (b) => b, requestDeserialize: (b) => b,
  responseSerialize: (b) => b, responseDeserialize: (b) => b };
const kinds = { Unary: [false, false], ServerStream: [false, true], ClientStream: [true, false],
  Bidi: [true, true], Fail: [false, false], Slow: [false, false], Big: [false, false],
  Watch: [false, true], WasCancelled: [false, false] };
const service = {};
for (const [name, [requestStream, responseStream]] of Object.entries(kinds)) {
  service[name] = { path: `/test.Echo/${name}`, requestStream, responseStream, ...raw };
}
// grpc.health.v1.Health/Check on raw protobuf bytes: the request is field 1 (service
// name), the reply field 1 (status enum: 1 SERVING, 2 NOT_SERVING).
const health = { Check: { path: '/grpc.health.v1.Health/Check', requestStream: false,
  responseStream: false, ...raw } };
module.exports = { grpc, service, health,
  Client: grpc.makeGenericClientConstructor(service, 'test.Echo') };
