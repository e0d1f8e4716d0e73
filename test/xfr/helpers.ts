// Shared by the zone transfer tests: an in-process DnsServer with the transfer responder over a real
// Store, a TCP/UDP client that collects every message of a transfer, free loopback ports.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { loadConfig } from '../../src/config.js';
import { DnsServer } from '../../src/dns/server.js';
import { transferHandler, zoneFinder } from '../../src/xfr/index.js';
import { DEFAULTS, type Decoded, decode, fixtureStore, type TempStore } from '../dns/helpers.js';

export const SECRET = 'dmVyeSBzZWNyZXQgdHJhbnNmZXIga2V5IGZvciB0ZXN0cw==';
export const KEY_ARG = `transfer-key:hmac-sha256:${SECRET}`;

export interface XfrFixture extends TempStore {
  server: DnsServer;
  port: number;
  close(): Promise<void>;
}

/** The fixture zone in a real Store, served by a DnsServer whose transfer options are `args` (serve flags). */
export async function xfrServer(args: string[], now?: () => number): Promise<XfrFixture> {
  const tmp = fixtureStore();
  const config = loadConfig(['--listen', '127.0.0.1', ...args], {});
  const server = new DnsServer({ ...DEFAULTS, tcpIdleTimeout: 5000, tcpMaxConnections: 50 });
  const snapshot = tmp.store.snapshot(tmp.zone.id)!;
  server.loadZone(snapshot);
  tmp.store.events.on('zoneChanged', (c) => {
    const s = c.deleted ? null : tmp.store.snapshot(c.zoneId);
    if (s) server.loadZone(s);
    else server.removeZone(c.zoneId);
  });
  // `now`: the responder's clock, for TSIG vectors signed at a fixed time.
  server.transfer = transferHandler(config, zoneFinder(server), tmp.store, undefined, now);
  await server.listen(['127.0.0.1'], 0);
  return {
    ...tmp,
    server,
    port: server.ports.tcp,
    async close() {
      await server.close();
      tmp.cleanup();
    },
  };
}

/** Send one request over TCP and collect every response message until the server goes quiet. */
export function tcpExchange(port: number, msg: Buffer, quietMs = 150): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const out: Buffer[] = [];
    let quiet: NodeJS.Timeout | null = null;
    const overall = setTimeout(() => {
      conn.destroy();
      reject(new Error(`no complete TCP answer from port ${port}`));
    }, 5000);
    const done = () => {
      clearTimeout(overall);
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
      if (quiet) clearTimeout(quiet);
      if (out.length > 0) quiet = setTimeout(done, quietMs);
    });
  });
}

export function udpExchange(port: number, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no UDP answer from port ${port}`));
    }, 3000);
    sock.on('message', (m) => {
      clearTimeout(timer);
      sock.close();
      resolve(m);
    });
    sock.send(msg, port, '127.0.0.1');
  });
}

export interface XfrQuery {
  type: 'AXFR' | 'IXFR' | 'SOA';
  name?: string;
  /** IXFR: the serial the requester has. */
  serial?: number;
  id?: number;
  edns?: boolean;
  opcode?: 'QUERY' | 'NOTIFY';
}

export function xfrQuery(q: XfrQuery): Buffer {
  const name = q.name ?? 'example.com';
  const packet: dnsPacket.Packet = {
    type: 'query',
    id: q.id ?? 1234,
    flags: q.opcode === 'NOTIFY' ? 4 << 11 : 0,
    questions: [{ name, type: q.type as dnsPacket.RecordType, class: 'IN' }],
  };
  if (q.serial !== undefined) {
    packet.authorities = [
      {
        name,
        type: 'SOA',
        ttl: 0,
        class: 'IN',
        data: {
          mname: '.',
          rname: '.',
          serial: q.serial,
          refresh: 0,
          retry: 0,
          expire: 0,
          minimum: 0,
        },
      } as dnsPacket.Answer,
    ];
  }
  if (q.edns) {
    packet.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as unknown as dnsPacket.Answer];
  }
  return dnsPacket.encode(packet);
}

/** Every answer RR of a transfer, in order, as "owner ttl type data" text (TSIG and OPT left out). */
export function transferRecords(messages: Buffer[]): string[] {
  return messages.flatMap((m) =>
    (decode(m).answers ?? []).map((rr) => {
      const data = (rr as { data?: unknown }).data;
      const text =
        rr.type === 'SOA'
          ? String((data as { serial: number }).serial)
          : JSON.stringify(data, (_k, v) =>
              v && typeof v === 'object' && v.type === 'Buffer' ? Buffer.from(v.data).toString('latin1') : v,
            );
      return `${rr.name.toLowerCase()} ${(rr as { ttl?: number }).ttl} ${rr.type} ${text}`;
    }),
  );
}

export function rcodeOf(m: Buffer): string {
  return (decode(m) as Decoded).rcode ?? '';
}

/** A loopback port free for both UDP and TCP right now. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
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
}
