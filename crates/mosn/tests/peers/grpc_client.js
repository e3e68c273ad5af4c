'use strict';
// A @grpc/grpc-js client for the end-to-end tests: runs every call kind against TARGET
// and prints one JSON object (the same keys as grpc_client.py where both have them).
// usage: node grpc_client.js TARGET
const { grpc, Client } = require('./grpc_echo');
const target = process.argv[2];
const c = new Client(target, grpc.credentials.createInsecure());
const deadline = (s) => ({ deadline: Date.now() + s * 1000 });
const status = (p) => p.then((v) => ({ ok: v.toString() }),
  (e) => ({ code: grpc.status[e.code], details: e.details }));

(async () => {
  const out = {};
  const md = new grpc.Metadata();
  md.set('x-test', '42');
  await new Promise((res, rej) => {
    const call = c.Unary(Buffer.from('hi'), md, deadline(10), (e, v) => (e ? rej(e) : (out.unary = v.toString())));
    call.on('status', (s) => { out.unary_trailers = { 'x-served-by': s.metadata.get('x-served-by')[0] }; res(); });
  });
  out.server_stream = await new Promise((res, rej) => {
    const got = []; const s = c.ServerStream(Buffer.from('5'), deadline(10));
    s.on('data', (d) => got.push(d.toString())); s.on('end', () => res(got)); s.on('error', rej);
  });
  out.client_stream = await new Promise((res, rej) => {
    const s = c.ClientStream(deadline(10), (e, v) => (e ? rej(e) : res(v.toString())));
    ['a', 'b', 'c'].forEach((m) => s.write(Buffer.from(m))); s.end();
  });
  out.bidi = await new Promise((res, rej) => {
    const got = []; const s = c.Bidi(deadline(10));
    s.on('data', (d) => got.push(d.toString())); s.on('end', () => res(got)); s.on('error', rej);
    ['x', 'yz'].forEach((m) => s.write(Buffer.from(m))); s.end();
  });
  const unary = (method, body, secs) => status(new Promise((res, rej) =>
    c.makeUnaryRequest(method, (b) => b, (b) => b, Buffer.from(body), deadline(secs), (e, v) => (e ? rej(e) : res(v)))));
  out.fail = await unary('/test.Echo/Fail', '', 10);
  out.deadline = await unary('/test.Echo/Slow', '3', 0.5);
  out.no_route = await unary('/unrouted.Svc/Call', '', 10);
  out.no_upstream = await unary('/dead.Svc/Call', '', 10);
  console.log(JSON.stringify(out));
  process.exit(0);
})().catch((e) => { console.error('FAILED', e); process.exit(1); });
