// Shared by the DNS tests: the fixture zone loaded into a real Store on a temp SQLite file, the
// configuration of the implicit SOA/NS, and dns-packet query/response helpers.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { type RecordInput, validateRecord } from '../../src/model/record.js';
import { Store, type ZoneRow } from '../../src/store/store.js';
import { SOA_DEFAULTS } from '../helpers/soa.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/dns/', import.meta.url));

export const DEFAULTS = { ...SOA_DEFAULTS, ednsPayload: 1232 };

export interface Fixture {
  domain: string;
  records: RecordInput[];
}

export function loadFixture(name = 'example.com'): Fixture {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, `${name}.json`), 'utf8')) as Fixture;
}

export interface TempStore {
  store: Store;
  account: number;
  zone: ZoneRow;
  dir: string;
  cleanup(): void;
}

/** A real Store on a temp SQLite file, with the fixture zone created through the model's validation. */
export function fixtureStore(fixture: Fixture = loadFixture()): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'vpsdns-dns-'));
  const store = new Store(join(dir, 'vpsdns.sqlite'));
  const account = store.auth.createAccount('dns-tests').id;
  const zone = store.createZone(account, fixture.domain);
  for (const input of fixture.records) store.createRecord(zone, validateRecord(input, fixture.domain, 60));
  return {
    store,
    account,
    zone,
    dir,
    cleanup() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface QueryOptions {
  id?: number;
  rd?: boolean;
  edns?: number | null;
  dnssecOk?: boolean;
  ednsVersion?: number;
  qclass?: string;
}

export function buildQuery(name: string, type: string, opts: QueryOptions = {}): Buffer {
  const packet: dnsPacket.Packet = {
    type: 'query',
    id: opts.id ?? 4242,
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as dnsPacket.RecordType, class: (opts.qclass ?? 'IN') as dnsPacket.RecordClass }],
  };
  if (opts.edns !== undefined && opts.edns !== null) {
    const opt = {
      type: 'OPT',
      name: '.',
      udpPayloadSize: opts.edns,
      extendedRcode: 0,
      ednsVersion: opts.ednsVersion ?? 0,
      flags: opts.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
      options: [],
    };
    packet.additionals = [opt as unknown as dnsPacket.Answer];
  }
  return dnsPacket.encode(packet);
}

/** dns-packet's decoded packet; its typings lack the rcode it sets ('NOERROR', 'NXDOMAIN', ...). */
export type Decoded = dnsPacket.DecodedPacket & { rcode?: string };

export function decode(buf: Buffer): Decoded {
  return dnsPacket.decode(buf) as Decoded;
}

/** One RR as comparable text: lower-case owner, TTL, type, data. */
export function rrText(rr: dnsPacket.Answer): string {
  if (rr.type === 'OPT') return 'OPT';
  const data = (rr as { data?: unknown }).data;
  const text = JSON.stringify(data, (_k, v) => {
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer')
      return Buffer.from((v as { data: number[] }).data).toString('latin1');
    return typeof v === 'string' ? v.toLowerCase() : v;
  });
  return `${rr.name.toLowerCase()} ${(rr as { ttl?: number }).ttl} ${rr.type} ${text}`;
}

export function section(list: dnsPacket.Answer[] | undefined): string[] {
  return (list ?? [])
    .filter((rr) => rr.type !== 'OPT')
    .map(rrText)
    .sort();
}

export function flagsOf(p: Decoded): { aa: boolean; tc: boolean; rd: boolean; ra: boolean } {
  const f = p.flags ?? 0;
  return { aa: (f & 0x400) !== 0, tc: (f & 0x200) !== 0, rd: (f & 0x100) !== 0, ra: (f & 0x80) !== 0 };
}

export function optOf(p: Decoded): { udpPayloadSize: number; extendedRcode: number; flags: number } | undefined {
  return (p.additionals ?? []).find((rr) => rr.type === 'OPT') as unknown as
    | { udpPayloadSize: number; extendedRcode: number; flags: number }
    | undefined;
}
