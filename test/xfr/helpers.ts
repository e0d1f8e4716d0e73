// Shared by the zone transfer tests: an in-process DnsServer with the transfer responder over a real
// Store, a TCP/UDP client that collects every message of a transfer, free loopback ports.
import dnsPacket from 'dns-packet';
import { loadConfig } from '../../src/config.js';
import { DnsServer } from '../../src/dns/server.js';
import { transferHandler, zoneFinder } from '../../src/xfr/index.js';
import { tcpExchange as exchange } from '../helpers/net.js';

export { freePort, udpExchange } from '../helpers/net.js';

/** Every message of a TCP exchange (a transfer), once the stream has been quiet for `quietMs`. */
export function tcpExchange(port: number, msg: Buffer, quietMs = 150): Promise<Buffer[]> {
  return exchange(port, msg, quietMs);
}

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
