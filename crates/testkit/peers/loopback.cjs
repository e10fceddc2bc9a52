// Node preload (`node --require loopback.cjs …`) that makes every server listen on 127.0.0.1.
// Some MCP peers (server-everything) bind every interface; tests must only use loopback.
'use strict';
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  // Say which port was bound (tests start servers on port 0 and read it from here).
  this.once('listening', () => {
    const address = this.address();
    if (address && typeof address === 'object') {
      process.stderr.write(`loopback.cjs: listening on ${address.port}\n`);
    }
  });
  const first = args[0];
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    const callback = args.find((a) => typeof a === 'function');
    return callback
      ? listen.call(this, Number(first), '127.0.0.1', callback)
      : listen.call(this, Number(first), '127.0.0.1');
  }
  if (first && typeof first === 'object' && !Array.isArray(first) && 'port' in first) {
    args[0] = Object.assign({}, first, { host: '127.0.0.1' });
  }
  return listen.apply(this, args);
};
