'use strict';
// A real SOFARPC-Node Bolt client for the e2e tests; prints one JSON line per call.
// usage: node bolt_client.js HOST:PORT
//   hessian2 over Bolt v1 (sayHello, plus, a server exception), protobuf over Bolt v1
//   (echoObj), then raw sofa-bolt-node frames: Bolt v2 with CRC32 and a heartbeat.
const net = require('net');
const pump = require('pump');
const antpb = require('antpb');
const protocol = require('sofa-bolt-node');
const { RpcClient } = require('sofa-rpc-node').client;

const target = process.argv[2];
const proto = antpb.loadAll(__dirname);
const logger = { info() {}, warn() {}, error: console.error, debug() {} };
const out = (what, value) => console.log(JSON.stringify({ what, value }));

async function rpcClient() {
  const client = new RpcClient({ logger });
  const hello = client.createConsumer({
    interfaceName: 'com.alipay.sofa.rpc.quickstart.HelloService',
    serverHost: target,
  });
  await hello.ready();
  out('sayHello', await hello.invoke('sayHello', [{ $class: 'java.lang.String', $: 'peter' }], { responseTimeout: 3000 }));
  out('plus', await hello.invoke('plus', [{ $class: 'int', $: 1 }, { $class: 'int', $: 2 }], { responseTimeout: 3000 }));
  try {
    await hello.invoke('fail', [{ $class: 'java.lang.String', $: 'boom' }], { responseTimeout: 3000 });
    out('fail', 'no error');
  } catch (e) {
    out('fail', `${e.name}: ${String(e.message).split('\n')[0]}`);
  }
  const pbClient = new RpcClient({ logger, connectionOpts: { protocol, noDelay: true, connectTimeout: 3000, proto } });
  const pb = pbClient.createConsumer({
    interfaceName: 'com.alipay.sofa.rpc.test.ProtoService',
    serverHost: target,
  });
  await pb.ready();
  out('echoObj', await pb.invoke('echoObj', [{ name: 'peter', group: 'B' }], { responseTimeout: 3000, codecType: 'protobuf' }));
  await client.close();
  await pbClient.close();
}

function rawV2Crc() {
  return new Promise((resolve, reject) => {
    const [host, port] = target.split(':');
    const sentReqs = new Map();
    const encoder = protocol.encoder({ sentReqs });
    const decoder = protocol.decoder({ sentReqs });
    encoder.protocolType = 'bolt2';
    encoder.boltVersion = 2;
    encoder.crcEnable = true;
    const socket = net.connect(Number(port), host);
    pump(encoder, socket, decoder, () => {});
    let got = 0;
    const done = () => { if (++got === 2) { socket.destroy(); resolve(); } };
    decoder.on('response', res => {
      out('v2crc', { data: res.data.appResponse, id: res.packetId, boltVersion: res.options.boltVersion, crc: res.options.crcEnable });
      done();
    });
    decoder.on('heartbeat_ack', ack => { out('heartbeat_ack', ack.packetId); done(); });
    const req = {
      args: [{ $class: 'java.lang.String', $: 'bolt-v2' }],
      serverSignature: 'com.alipay.sofa.rpc.quickstart.HelloService:1.0',
      methodName: 'sayHello',
      timeout: 3000,
    };
    sentReqs.set(7, { req });
    encoder.writeRequest(7, req);
    encoder.writeHeartbeat(8, { clientUrl: 'test' });
    setTimeout(() => reject(new Error('v2 timeout')), 5000);
  });
}

(async () => {
  await rpcClient();
  await rawV2Crc();
  process.exit(0);
})().catch(e => { console.error('FAILED', e); process.exit(1); });
