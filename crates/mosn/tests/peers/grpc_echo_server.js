'use strict';
// A @grpc/grpc-js echo server for the end-to-end tests (same methods as
// grpc_echo_server.py). usage: node grpc_echo_server.js PORT NAME MAX_SECONDS
const { grpc, service, health } = require('./grpc_echo');
const [port, name, maxSeconds] = process.argv.slice(2);

const cancelled = new Set();
const server = new grpc.Server();
server.addService(service, {
  Unary(call, cb) {
    const trailers = new grpc.Metadata();
    trailers.set('x-served-by', name);
    const test = call.metadata.get('x-test')[0] || '';
    cb(null, Buffer.concat([Buffer.from('echo:'), call.request, Buffer.from(` x-test=${test}`)]), trailers);
  },
  ServerStream(call) {
    const n = parseInt(call.request.toString(), 10);
    for (let i = 0; i < n; i++) call.write(Buffer.from(`part-${i}`));
    call.end();
  },
  ClientStream(call, cb) {
    const parts = [];
    call.on('data', (d) => parts.push(d.toString()));
    call.on('end', () => cb(null, Buffer.from(parts.join('+'))));
  },
  Bidi(call) {
    call.on('data', (d) => call.write(Buffer.from(d.toString().toUpperCase())));
    call.on('end', () => call.end());
  },
  Fail(call, cb) {
    cb({ code: grpc.status.ABORTED, details: 'deliberate failure: d\u00e9j\u00e0 vu' });
  },
  Watch(call) {
    // Streams until the client goes away; remembers calls that ended by cancellation.
    let i = 0;
    const timer = setInterval(() => call.write(Buffer.from(`tick-${i++}`)), 50);
    call.on('cancelled', () => { clearInterval(timer); cancelled.add(call.request.toString()); });
  },
  WasCancelled(call, cb) {
    cb(null, Buffer.from(cancelled.has(call.request.toString()) ? 'yes' : 'no'));
  },
  Big(call, cb) {
    const n = parseInt(call.request.toString(), 10);
    cb(null, Buffer.from(Array.from({ length: n }, (_, i) => i % 251)));
  },
  Slow(call, cb) {
    setTimeout(() => cb(null, Buffer.from('late')), parseFloat(call.request.toString()) * 1000);
  },
});
const serving = { 'test.Echo': 1, 'test.Down': 2 };
server.addService(health, {
  Check(call, cb) {
    const req = call.request;
    const name = req.length > 2 && req[0] === 0x0a ? req.subarray(2, 2 + req[1]).toString() : '';
    if (!(name in serving)) {
      cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      return;
    }
    cb(null, Buffer.from([0x08, serving[name]]));
  },
});
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) { console.error(err); process.exit(1); }
  console.log(`grpc-js serving on ${port}`);
});
setTimeout(() => process.exit(0), parseFloat(maxSeconds) * 1000);
