'use strict';
// A real SOFARPC-Node Bolt server (sofa-rpc-node, no registry) for the e2e tests.
// usage: node bolt_server.js PORT NAME — NAME is echoed in replies so a test can tell
// which upstream answered. Exits on its own after MAX_SECONDS (default 120).
const path = require('path');
const { RpcServer } = require('sofa-rpc-node').server;
const antpb = require('antpb');

const port = Number(process.argv[2]);
const name = process.argv[3] || 'bolt';
const proto = antpb.loadAll(__dirname);
const logger = { info() {}, warn() {}, error: console.error, debug() {} };
const server = new RpcServer({ logger, port, proto, publishAddress: '127.0.0.1' });
server.addService({ interfaceName: 'com.alipay.sofa.rpc.quickstart.HelloService' }, {
  async sayHello(who) { return `hello ${who} from ${name}`; },
  async plus(a, b) { return a + b; },
  async slow(ms) { await new Promise(r => setTimeout(r, ms)); return `slept ${ms}`; },
  async fail(msg) { throw new Error(`failed: ${msg}`); },
});
server.addService({ interfaceName: 'com.alipay.sofa.rpc.test.ProtoService' }, {
  async echoObj(req) {
    const r = req.toObject ? req.toObject({ enums: String }) : req;
    return { code: 200, message: `hello ${r.name} from ${name}, group ${r.group}` };
  },
});
server.start().then(() => {
  console.log(`listening ${port}`);
  setTimeout(() => process.exit(0), Number(process.env.MAX_SECONDS || 120) * 1000);
});
