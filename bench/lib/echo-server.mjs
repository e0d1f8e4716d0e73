// The platform ceiling for `npm run bench:dns`: a bare Node.js UDP and TCP echo server on one port.
// Each datagram (each length-prefixed TCP message) goes back as it came, with only the QR bit set so
// dnsperf counts it as a response. No DNS logic: what vpsdns costs on top of this is its own.
// With --batch, UDP goes through vpsdns's batching addon (recvmmsg/sendmmsg, src/dns/udp-batch.ts, compiled
// to dist/ by `npm run build`) instead of node:dgram: the ceiling of the path vpsdns itself uses.
// Usage: node bench/lib/echo-server.mjs PORT [--batch]
import dgram from 'node:dgram';
import net from 'node:net';

const port = Number(process.argv[2]);
if (process.argv.includes('--batch')) {
  const { BatchUdpSocket, batchUdpBinding } = await import('../../dist/dns/udp-batch.js');
  const binding = batchUdpBinding();
  if (!binding) throw new Error('the batching addon is not built (npm run build:native)');
  const echo = (msg) => {
    msg[2] |= 0x80;
    return msg;
  };
  new BatchUdpSocket(binding, '127.0.0.1', port, { reusePort: false, bufferBytes: 2 * 1024 * 1024 }, echo, () => {});
} else {
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    msg[2] |= 0x80;
    udp.send(msg, rinfo.port, rinfo.address);
  });
  udp.bind(port, '127.0.0.1');
  try {
    udp.on('listening', () => udp.setRecvBufferSize(2 * 1024 * 1024));
  } catch {}
}
net
  .createServer((conn) => {
    conn.setNoDelay(true);
    let pending = Buffer.alloc(0);
    conn.on('data', (chunk) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      while (pending.length - at >= 2) {
        const len = pending.readUInt16BE(at);
        if (pending.length - at < 2 + len) break;
        if (len > 2) pending[at + 4] |= 0x80;
        at += 2 + len;
      }
      if (at > 0) conn.write(pending.subarray(0, at));
      pending = Buffer.from(pending.subarray(at));
    });
    conn.on('error', () => conn.destroy());
  })
  .listen(port, '127.0.0.1', () => process.stdout.write(`echo listening on ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
