'use strict';
// A real Dubbo (dubbo2 protocol, hessian2) server: sofa-rpc-node with the dubbo-remoting
// codec, no registry. usage: node dubbo_server.js PORT NAME — NAME is echoed by sayHello
// so a test can tell which upstream answered. Exits after MAX_SECONDS (default 120).
const { RpcServer } = require('sofa-rpc-node').server;
const protocol = require('dubbo-remoting');

const port = Number(process.argv[2]);
const name = process.argv[3] || 'dubbo';
const logger = { info() {}, warn() {}, error: console.error, debug() {} };
const server = new RpcServer({ logger, port, protocol, publishAddress: '127.0.0.1' });
server.addService({ interfaceName: 'org.apache.dubbo.demo.DemoService', version: '1.0.0' }, {
  async sayHello(who) { return `Hello ${who}, response from ${name}`; },
  async plus(a, b) { return a + b; },
});
server.start().then(() => {
  console.log(`listening ${port}`);
  setTimeout(() => process.exit(0), Number(process.env.MAX_SECONDS || 120) * 1000);
});
