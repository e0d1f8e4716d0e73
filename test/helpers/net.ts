// Loopback plumbing shared by tests and benchmarks: a free port, and one DNS exchange over UDP or TCP.
import dgram from 'node:dgram';
import net from 'node:net';

/** A loopback port free for both UDP and TCP right now. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free loopback port');
}

/** Send one DNS message over UDP to 127.0.0.1:port and resolve with the first datagram back. */
export function udpExchange(port: number, msg: Buffer, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no UDP answer from port ${port}`));
    }, timeoutMs);
    sock.on('message', (m) => {
      clearTimeout(timer);
      sock.close();
      resolve(m);
    });
    sock.send(msg, port, '127.0.0.1');
  });
}

/**
 * Send one DNS message over TCP and collect the framed messages back: all of them until the stream has
 * been quiet for `quietMs` (transfers), or just the first when `quietMs` is 0.
 */
export function tcpExchange(port: number, msg: Buffer, quietMs = 0, timeoutMs = 5000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const out: Buffer[] = [];
    let quiet: NodeJS.Timeout | null = null;
    const overall = setTimeout(() => {
      conn.destroy();
      reject(new Error(`no complete TCP answer from port ${port}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(overall);
      if (quiet) clearTimeout(quiet);
      conn.destroy();
      resolve(out);
    };
    conn.on('error', reject);
    conn.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      conn.write(Buffer.concat([len, msg]));
    });
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === 0) return;
      if (quietMs === 0) return done();
      if (quiet) clearTimeout(quiet);
      quiet = setTimeout(done, quietMs);
    });
  });
}
