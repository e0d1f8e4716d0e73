// Both UDP paths of DnsServer: the batching addon (recvmmsg/sendmmsg) and node:dgram, over IPv4 and IPv6.
// They must give the same bytes, see the same client address (query log, rate limiting) and lose nothing
// in a burst.
import dgram from 'node:dgram';
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DnsServer } from '../../src/dns/server.js';
import { batchUdpUnavailable, ipv6Text } from '../../src/dns/udp-batch.js';
import { buildQuery, DEFAULTS, decode, fixtureStore, type TempStore } from './helpers.js';

let tmp: TempStore;
beforeAll(() => {
  tmp = fixtureStore();
});
afterAll(() => tmp.cleanup());

/** Sends each message from one socket of the family of `host` and collects the answers by id. */
function exchange(host: string, port: number, messages: Buffer[], timeoutMs = 3000): Promise<Map<number, Buffer>> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const answers = new Map<number, Buffer>();
    const done = () => {
      clearTimeout(timer);
      sock.close();
      resolve(answers);
    };
    const timer = setTimeout(done, timeoutMs);
    sock.on('message', (m) => {
      answers.set(m.readUInt16BE(0), m);
      if (answers.size === messages.length) done();
    });
    sock.bind(0, host, () => {
      sock.setRecvBufferSize(1 << 20);
      for (const m of messages) sock.send(m, port, host);
    });
  });
}

/** A server on 127.0.0.1 and ::1 with the given UDP path, its query log lines collected. */
async function start(udpIo: 'batch' | 'dgram', extra: Partial<ConstructorParameters<typeof DnsServer>[0]> = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  const server = new DnsServer({
    ...DEFAULTS,
    tcpIdleTimeout: 2000,
    tcpMaxConnections: 20,
    udpIo,
    logger: pino(sink),
    ...extra,
  });
  server.loadZone(tmp.store.snapshot(tmp.zone.id)!);
  await server.listen(['127.0.0.1', '::1'], 0);
  return { server, lines };
}

const CORPUS = [
  buildQuery('www.example.com', 'A', { id: 1 }),
  buildQuery('WwW.ExAmPlE.CoM', 'AAAA', { id: 2, edns: 1232 }),
  buildQuery('nothing.example.com', 'A', { id: 3 }),
  buildQuery('huge.example.com', 'TXT', { id: 4, edns: 1232 }),
  buildQuery('huge.example.com', 'TXT', { id: 5 }),
  buildQuery('example.org', 'A', { id: 6 }),
  buildQuery('example.com', 'AXFR', { id: 7 }),
  Buffer.concat([buildQuery('www.example.com', 'A', { id: 8 }).subarray(0, 14)]),
];

describe('UDP paths', () => {
  test('the batching addon is built on Linux (npm install builds native/udp_batch.c)', () => {
    if (process.platform !== 'linux') return;
    expect(batchUdpUnavailable()).toBeNull();
  });

  test('batch and dgram give the same bytes over IPv4 and IPv6', async () => {
    const batch = await start('batch');
    const plain = await start('dgram');
    try {
      expect(batch.server.udpIo).toBe('batch');
      expect(plain.server.udpIo).toBe('dgram');
      for (const host of ['127.0.0.1', '::1']) {
        const a = await exchange(host, batch.server.ports.udp, CORPUS);
        const b = await exchange(host, plain.server.ports.udp, CORPUS);
        expect(a.size).toBe(CORPUS.length);
        for (const [id, bytes] of b) expect(a.get(id), `query ${id} over ${host}`).toEqual(bytes);
        expect(decode(a.get(1)!).answers).toHaveLength(2);
        expect(decode(a.get(6)!).rcode).toBe('REFUSED');
      }
    } finally {
      await batch.server.close();
      await plain.server.close();
    }
  });

  test('a burst of 2000 queries from one client is answered in full, each to its id', async () => {
    const { server } = await start('batch');
    try {
      for (let round = 0; round < 10; round++) {
        const burst = Array.from({ length: 200 }, (_, i) =>
          buildQuery(i % 2 ? 'www.example.com' : `n${i}.example.com`, 'A', { id: round * 200 + i }),
        );
        const answers = await exchange('127.0.0.1', server.ports.udp, burst);
        expect(answers.size).toBe(200);
        for (const [id, m] of answers) expect(decode(m).rcode).toBe(id % 2 ? 'NOERROR' : 'NXDOMAIN');
      }
    } finally {
      await server.close();
    }
  });

  test('the client address reaches the query log and rate limiting on the batch path', async () => {
    const { server, lines } = await start('batch', { queryLogSample: 1, rrlRate: 1, rrlSlip: 0 });
    try {
      for (const host of ['127.0.0.1', '::1']) {
        const same = Array.from({ length: 20 }, (_, i) => buildQuery('www.example.com', 'A', { id: i }));
        const answers = await exchange(host, server.ports.udp, same, 1000);
        // One response a second per client network: the burst gets one or two, the rest are dropped.
        expect(answers.size).toBeGreaterThanOrEqual(1);
        expect(answers.size).toBeLessThanOrEqual(3);
      }
      const clients = new Set(lines.filter((l) => l.msg === 'dns query').map((l) => l.client));
      expect(clients).toEqual(new Set(['127.0.0.1', '::1']));
      expect(server.engine.counters.rrlDropped).toBeGreaterThanOrEqual(34);
    } finally {
      await server.close();
    }
  });
});

describe('ipv6Text', () => {
  test('formats addresses as Node does (RFC 5952)', () => {
    const cases = [
      '::1',
      '::',
      '2001:db8::1:0:0:1',
      '1:0:0:2::3',
      '0:2:3:4:5:6:7:8',
      'fe80::1:0:0:0',
      '1:2:3:4:5:6:7:8',
      '::ffff:192.0.2.1',
      '2001:db8:0:1::',
    ];
    for (const text of cases) {
      const bytes = Buffer.alloc(16);
      const groups = expand(text);
      for (let i = 0; i < 8; i++) bytes.writeUInt16BE(groups[i], 2 * i);
      expect(ipv6Text(bytes, 0)).toBe(new net.SocketAddress({ address: text, family: 'ipv6' }).address);
    }
  });
});

/** The eight groups of an IPv6 text address (tests only; IPv4-mapped tails included). */
function expand(text: string): number[] {
  let t = text;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(t);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    t = `${t.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = t.includes('::') ? t.split('::') : [t, null];
  const h = head ? head.split(':').map((g) => Number.parseInt(g, 16)) : [];
  if (tail === null) return h;
  const tl = tail ? tail.split(':').map((g) => Number.parseInt(g, 16)) : [];
  return [...h, ...Array(8 - h.length - tl.length).fill(0), ...tl];
}
