'use strict';
// Dubbo client #1: sofa-rpc-node's RpcClient with the dubbo-remoting codec, direct
// connection; then a raw heartbeat. Prints one JSON line per call.
// usage: node dubbo_remoting_client.js HOST:PORT
const net = require('net');
const pump = require('pump');
const { RpcClient } = require('sofa-rpc-node').client;
const protocol = require('dubbo-remoting');

const target = process.argv[2];
const logger = { info() {}, warn() {}, error: console.error, debug() {} };
const out = (what, value) => console.log(JSON.stringify({ what, value }));

(async () => {
  const client = new RpcClient({ logger, protocol });
  const demo = client.createConsumer({
    interfaceName: 'org.apache.dubbo.demo.DemoService', version: '1.0.0', serverHost: target,
  });
  await demo.ready();
  out('sayHello', await demo.invoke('sayHello', [{ $class: 'java.lang.String', $: 'world' }], { responseTimeout: 3000 }));
  out('plus', await demo.invoke('plus', [{ $class: 'int', $: 1 }, { $class: 'int', $: 2 }], { responseTimeout: 3000 }));
  await client.close();
  await new Promise((resolve, reject) => {
    const [host, port] = target.split(':');
    const sentReqs = new Map();
    const enc = protocol.encoder({ sentReqs });
    const dec = protocol.decoder({ sentReqs });
    const sock = net.connect(Number(port), host);
    pump(enc, sock, dec, () => {});
    dec.on('heartbeat_ack', ack => { out('heartbeat_ack', ack.packetId); sock.destroy(); resolve(); });
    enc.writeHeartbeat(99, {});
    setTimeout(() => reject(new Error('heartbeat timeout')), 3000);
  });
  process.exit(0);
})().catch(e => { console.error('FAILED', e); process.exit(1); });
