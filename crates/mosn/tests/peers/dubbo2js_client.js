'use strict';
// Dubbo client #2: dubbo2.js (apache dubbo-js 2.x) in direct mode, no zookeeper.
// usage: node dubbo2js_client.js HOST:PORT — prints one JSON line per call.
const { DirectlyDubbo, java } = require('dubbo2.js');

const [host, port] = process.argv[2].split(':');
const out = (what, value) => console.log(JSON.stringify({ what, value }));
const dubbo = DirectlyDubbo.from({ dubboAddress: `${host}:${port}`, dubboVersion: '2.0.2', dubboInvokeTimeout: 5 });
const demo = dubbo.proxyService({
  dubboInterface: 'org.apache.dubbo.demo.DemoService',
  version: '1.0.0',
  methods: {
    sayHello(name) { return [java.String(name)]; },
    plus(a, b) { return [java.int(a), java.int(b)]; },
  },
});
(async () => {
  const hello = await demo.sayHello('dubbo2.js');
  out('sayHello', hello.err ? `error: ${hello.err.message}` : hello.res);
  const sum = await demo.plus(40, 2);
  out('plus', sum.err ? `error: ${sum.err.message}` : sum.res);
  process.exit(0);
})().catch(e => { console.error('FAILED', e); process.exit(1); });
