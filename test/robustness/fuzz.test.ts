// Fuzzing the wire path: generated hostile packets through the real parser, resolver and encoder
// (in process), then a bounded burst at the live UDP and TCP listeners. The server never throws, every
// reply it sends is a well-formed DNS message for the same id, and good queries are still answered.
// `npm run fuzz` runs the same with a million packets.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsServer } from '../../src/dns/server.js';
import { DEFAULTS, fixtureStore, type TempStore } from '../dns/helpers.js';
import { hostilePacket, prng, validQuery } from './packets.js';

const COUNT = Number(process.env.FUZZ_COUNT ?? 60_000);

let t: TempStore;
let server: DnsServer;

beforeAll(async () => {
  t = fixtureStore();
  server = new DnsServer({ ...DEFAULTS, tcpIdleTimeout: 2000, tcpMaxConnections: 50 });
  server.loadZone(t.store.snapshot(t.zone.id)!);
  await server.listen(['127.0.0.1'], 0);
});
afterAll(async () => {
  await server?.close();
  t?.cleanup();
});

function checkReply(query: Buffer, reply: Buffer | null): void {
  if (reply === null) return;
  expect(reply.length).toBeGreaterThanOrEqual(12);
  if (query.length >= 2) expect(reply.readUInt16BE(0)).toBe(query.readUInt16BE(0));
  expect(reply[2] & 0x80).toBe(0x80); // QR set: never reflects a query back as a query
}

describe('fuzzing', () => {
  it(`${COUNT} hostile packets through the parser and resolver: no throw, well-formed replies`, {
    timeout: Math.max(30_000, COUNT),
  }, () => {
    const rand = prng(20261203);
    let replies = 0;
    for (let i = 0; i < COUNT; i++) {
      const packet = hostilePacket(rand, i);
      const tcp = i % 7 === 0;
      let reply: Buffer | null;
      try {
        reply = server.engine.handle(packet, tcp);
      } catch (err) {
        throw new Error(`packet ${i} (${packet.toString('hex')}) threw: ${(err as Error).message}`);
      }
      checkReply(packet, reply);
      if (reply) {
        replies++;
        // Every 100th reply is decoded fully: it must be a valid message.
        if (i % 100 === 0) expect(() => dnsPacket.decode(reply)).not.toThrow();
      }
    }
    expect(replies).toBeGreaterThan(COUNT / 10);
    const good = server.engine.handle(validQuery(prng(1), ['www.example.com']), false);
    expect(good).not.toBeNull();
  });

  it('a bounded burst at the live UDP listener, then a good query is answered', async () => {
    const sock = createSocket('udp4');
    const rand = prng(7);
    for (let i = 0; i < 3000; i++) {
      sock.send(hostilePacket(rand, i), server.ports.udp, '127.0.0.1');
      if (i % 200 === 0) await new Promise((r) => setImmediate(r));
    }
    const retries: NodeJS.Timeout[] = [];
    const answer = await new Promise<dnsPacket.DecodedPacket>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer after the burst')), 5000);
      sock.on('message', (msg) => {
        if (msg.readUInt16BE(0) !== 4242) return;
        clearTimeout(timer);
        resolve(dnsPacket.decode(msg));
      });
      // Like a resolver, retry: the burst may have filled the socket buffers and UDP drops then.
      const q = dnsPacket.encode({ type: 'query', id: 4242, questions: [{ name: 'example.com', type: 'SOA' }] });
      for (let k = 0; k < 5; k++) retries.push(setTimeout(() => sock.send(q, server.ports.udp, '127.0.0.1'), k * 400));
    }).finally(() => {
      for (const r of retries) clearTimeout(r);
    });
    sock.close();
    expect(answer.answers?.[0]?.type).toBe('SOA');
  });

  it('garbage over TCP closes that connection only; the next connection is answered', async () => {
    const rand = prng(99);
    for (let c = 0; c < 20; c++) {
      await new Promise<void>((resolve) => {
        const s = connect(server.ports.tcp, '127.0.0.1', () => {
          for (let i = 0; i < 5; i++) {
            const p = hostilePacket(rand, c * 5 + i);
            const frame = Buffer.alloc(2);
            frame.writeUInt16BE(rand() < 0.2 ? 65535 : p.length);
            s.write(Buffer.concat([frame, p]));
          }
          s.end();
        });
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.resume();
      });
    }
    const reply = await new Promise<dnsPacket.DecodedPacket & { rcode: string }>((resolve, reject) => {
      const s = connect(server.ports.tcp, '127.0.0.1');
      const q = dnsPacket.streamEncode({ type: 'query', id: 77, questions: [{ name: 'www.example.com', type: 'A' }] });
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          s.destroy();
          resolve(dnsPacket.decode(buf.subarray(2)) as dnsPacket.DecodedPacket & { rcode: string });
        }
      });
      s.on('error', reject);
      s.write(q);
    });
    expect(reply.id).toBe(77);
    expect(reply.rcode).toBe('NOERROR');
  });
});
