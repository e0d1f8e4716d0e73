import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DnsServer } from '../../src/dns/server.js';
import { udpExchange } from '../helpers/net.js';
import { buildQuery, DEFAULTS, decode, fixtureStore, flagsOf, type TempStore } from './helpers.js';

let tmp: TempStore;
let server: DnsServer;

/** One UDP exchange; null when no answer comes (dropped packets are expected in some tests). */
function udpAsk(port: number, msg: Buffer, timeoutMs = 2000): Promise<Buffer | null> {
  return udpExchange(port, msg, timeoutMs).catch(() => null);
}

function frame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

/** A TCP client that collects length-prefixed responses. */
class TcpClient {
  readonly conn: net.Socket;
  readonly messages: Buffer[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  constructor(port: number) {
    this.conn = net.connect(port, '127.0.0.1');
    this.conn.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
        this.messages.push(this.buf.subarray(2, 2 + this.buf.readUInt16BE(0)));
        this.buf = this.buf.subarray(2 + this.buf.readUInt16BE(0));
      }
      this.wake();
    });
    this.conn.on('error', () => {});
    this.conn.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async waitFor(count: number, timeoutMs = 3000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count && !this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.messages;
  }

  async waitClosed(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  end(): void {
    this.conn.destroy();
  }
}

beforeAll(async () => {
  tmp = fixtureStore();
  server = new DnsServer({ ...DEFAULTS, tcpIdleTimeout: 2000, tcpMaxConnections: 20 });
  server.loadZone(tmp.store.snapshot(tmp.zone.id)!);
  await server.listen(['127.0.0.1'], 0);
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

describe('listening', () => {
  test('UDP and TCP share one ephemeral port', () => {
    expect(server.ports.udp).toBeGreaterThan(0);
    expect(server.ports.tcp).toBe(server.ports.udp);
  });

  test('a port that cannot be bound rejects with the address, the port and --dns-port', async () => {
    const other = new DnsServer({ ...DEFAULTS, tcpIdleTimeout: 1000, tcpMaxConnections: 5 });
    const port = server.ports.udp;
    await expect(other.listen(['127.0.0.1'], port)).rejects.toThrow(
      new RegExp(`127\\.0\\.0\\.1:${port}.*in use.*--dns-port`),
    );
    await other.close();
  });

  test('loadZone and removeZone take effect for the next query', async () => {
    const q = buildQuery('www.example.com', 'A');
    server.removeZone(tmp.zone.id);
    expect(decode((await udpAsk(server.ports.udp, q))!).rcode).toBe('REFUSED');
    server.loadZone(tmp.store.snapshot(tmp.zone.id)!);
    expect(decode((await udpAsk(server.ports.udp, q))!).rcode).toBe('NOERROR');
  });
});

describe('UDP', () => {
  test('answers a query', async () => {
    const p = decode((await udpAsk(server.ports.udp, buildQuery('www.example.com', 'A', { id: 5 })))!);
    expect(p.id).toBe(5);
    expect(p.answers).toHaveLength(2);
  });

  test('truncation over UDP, then the whole answer over TCP', async () => {
    const q = buildQuery('huge.example.com', 'TXT', { edns: 1232 });
    const udp = (await udpAsk(server.ports.udp, q))!;
    expect(udp.length).toBeLessThanOrEqual(1232);
    expect(flagsOf(decode(udp)).tc).toBe(true);
    const c = new TcpClient(server.ports.tcp);
    c.conn.write(frame(q));
    const [tcp] = await c.waitFor(1);
    c.end();
    expect(flagsOf(decode(tcp)).tc).toBe(false);
    expect(decode(tcp).answers).toHaveLength(6);
  });

  test('malformed packets are dropped or get FORMERR, and the next good query is answered', async () => {
    expect(await udpAsk(server.ports.udp, Buffer.from([1, 2, 3]), 300)).toBeNull();
    const bad = Buffer.concat([buildQuery('www.example.com', 'A', { id: 77 }).subarray(0, 14)]);
    const formerr = (await udpAsk(server.ports.udp, bad))!;
    expect(formerr.readUInt16BE(0)).toBe(77);
    expect(formerr.readUInt16BE(2) & 0xf).toBe(1);
    const loop = buildQuery('www.example.com', 'A');
    const withLoop = Buffer.concat([loop, Buffer.from([0xc0, loop.length, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0])]);
    withLoop.writeUInt16BE(1, 10);
    expect((await udpAsk(server.ports.udp, withLoop))!.readUInt16BE(2) & 0xf).toBe(1);
    const p = decode((await udpAsk(server.ports.udp, buildQuery('www.example.com', 'A')))!);
    expect(p.answers).toHaveLength(2);
  });
});

describe('TCP', () => {
  test('pipelined queries on one connection, all answered in order', async () => {
    const c = new TcpClient(server.ports.tcp);
    const names = ['www.example.com', 'mail.example.com', 'nothere.example.com', 'example.org', 'example.com'];
    c.conn.write(Buffer.concat(names.map((n, i) => frame(buildQuery(n, 'A', { id: 100 + i })))));
    const got = await c.waitFor(names.length);
    c.end();
    expect(got.map((m) => decode(m).id)).toEqual([100, 101, 102, 103, 104]);
    expect(got.map((m) => decode(m).rcode)).toEqual(['NOERROR', 'NOERROR', 'NXDOMAIN', 'REFUSED', 'NOERROR']);
  });

  test('a message split across writes, and the length prefix split too', async () => {
    const c = new TcpClient(server.ports.tcp);
    const f = frame(buildQuery('www.example.com', 'AAAA', { id: 9 }));
    c.conn.write(f.subarray(0, 1));
    await new Promise((r) => setTimeout(r, 30));
    c.conn.write(f.subarray(1, 10));
    await new Promise((r) => setTimeout(r, 30));
    c.conn.write(f.subarray(10));
    const [m] = await c.waitFor(1);
    c.end();
    expect(decode(m).id).toBe(9);
    expect(decode(m).answers).toHaveLength(1);
  });

  test('garbage on a connection gets FORMERR and the connection keeps answering', async () => {
    const c = new TcpClient(server.ports.tcp);
    const garbage = Buffer.concat([Buffer.from([0, 42, 0, 0, 0, 1, 0, 0, 0, 0]), Buffer.from([50, 1, 2])]);
    c.conn.write(frame(garbage));
    c.conn.write(frame(Buffer.from([1, 2, 3]))); // too short: no answer
    c.conn.write(frame(buildQuery('www.example.com', 'A', { id: 43 })));
    const got = await c.waitFor(2);
    c.end();
    expect(got).toHaveLength(2);
    expect(got[0].readUInt16BE(0)).toBe(42);
    expect(got[0].readUInt16BE(2) & 0xf).toBe(1);
    expect(decode(got[1]).id).toBe(43);
    expect(decode(got[1]).answers).toHaveLength(2);
  });

  test('an idle connection is closed after the timeout', async () => {
    const s = new DnsServer({ ...DEFAULTS, tcpIdleTimeout: 200, tcpMaxConnections: 5 });
    s.loadZone(tmp.store.snapshot(tmp.zone.id)!);
    await s.listen(['127.0.0.1'], 0);
    const c = new TcpClient(s.ports.tcp);
    c.conn.write(frame(buildQuery('www.example.com', 'A')));
    await c.waitFor(1);
    const started = Date.now();
    expect(await c.waitClosed(3000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2500);
    await s.close();
  });

  test('connections beyond the cap are closed', async () => {
    const s = new DnsServer({ ...DEFAULTS, tcpIdleTimeout: 5000, tcpMaxConnections: 2 });
    s.loadZone(tmp.store.snapshot(tmp.zone.id)!);
    await s.listen(['127.0.0.1'], 0);
    const first = [new TcpClient(s.ports.tcp), new TcpClient(s.ports.tcp)];
    for (const c of first) c.conn.write(frame(buildQuery('www.example.com', 'A')));
    for (const c of first) expect(await c.waitFor(1)).toHaveLength(1);
    const third = new TcpClient(s.ports.tcp);
    third.conn.write(frame(buildQuery('www.example.com', 'A')));
    expect(await third.waitClosed(3000)).toBe(true);
    expect(third.messages).toHaveLength(0);
    for (const c of first) c.end();
    await s.close();
  });
});
