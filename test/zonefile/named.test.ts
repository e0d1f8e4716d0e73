// A real BIND 9 `named`, loading the generated named.conf.zones on a free loopback port, answers
// every RRset the store holds, plus wildcards, CNAME chains, delegations and negative answers.
// The same queries then go to vpsdns's own DNS server loaded from the same store: both must agree.
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsServer } from '../../src/dns/server.js';
import { type RecordType, toPacketData } from '../../src/model/rdata.js';
import { ZoneFileWriter } from '../../src/zonefile/deploy.js';
import { importZoneText } from '../../src/zonefile/import-export.js';
import { freePort } from '../helpers/net.js';
import { fixture, SOA, type TempStore, tempStore } from './helpers.js';

type Reply = DecodedPacket & { rcode: string };

function query(port: number, name: string, type: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const id = Math.floor(Math.random() * 65535);
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no answer for ${name} ${type}`));
    }, 3000);
    sock.on('message', (msg) => {
      const p = dnsPacket.decode(msg) as Reply;
      if (p.id !== id) return;
      clearTimeout(timer);
      sock.close();
      resolve(p);
    });
    const packet = dnsPacket.encode({
      type: 'query',
      id,
      flags: 0,
      questions: [{ name, type: type as 'A' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 4096,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ],
    });
    sock.send(packet, port, '127.0.0.1');
  });
}

/** One comparable string per RR: owner, type, TTL, RDATA in a fixed text form. */
function rrKey(name: string, type: string, ttl: number, data: unknown): string {
  const d = data as Record<string, unknown>;
  let text: string;
  switch (type) {
    case 'MX':
      text = `${d.preference} ${d.exchange}`;
      break;
    case 'SRV':
      text = `${d.priority} ${d.weight} ${d.port} ${d.target}`;
      break;
    case 'CAA':
      text = `${d.flags} ${d.tag} ${d.value}`;
      break;
    case 'TXT':
      text = Buffer.concat(data as Buffer[]).toString('utf8');
      break;
    default:
      text = String(data).toLowerCase();
  }
  return `${name.toLowerCase()} ${ttl} ${type} ${text}`;
}

const keysOf = (rrs: Answer[] | undefined, type?: string) =>
  (rrs ?? [])
    .filter((rr) => type === undefined || rr.type === type)
    .map((rr) => rrKey(rr.name, rr.type, (rr as { ttl: number }).ttl, (rr as { data: unknown }).data))
    .sort();

let t: TempStore;
let named: ChildProcess | null = null;
let port = 0;
let vpsdns: DnsServer;
let log = '';

beforeAll(async () => {
  t = tempStore();
  const edge = t.zone('edge.example');
  importZoneText(t.store, edge, fixture('edge.example.zone'), { replace: false, minTtl: 60 });
  const other = t.zone('other.example');
  importZoneText(t.store, other, 'www A 192.0.2.200\n@ MX 5 www\n', { replace: false, minTtl: 60 });
  const writer = new ZoneFileWriter({
    store: t.store,
    soa: SOA,
    zoneDir: join(t.dir, 'zones'),
    confPath: join(t.dir, 'named.conf.zones'),
    logger: pino({ level: 'silent' }),
  });
  await writer.start();
  await writer.close();

  vpsdns = new DnsServer({ ...SOA, ednsPayload: 1232, tcpIdleTimeout: 5000, tcpMaxConnections: 10 });
  for (const z of t.store.allZones()) vpsdns.loadZone(t.store.snapshot(z.id)!);
  await vpsdns.listen(['127.0.0.1'], 0);

  port = await freePort();
  const conf = join(t.dir, 'named.conf');
  writeFileSync(
    conf,
    `options {
  directory "${t.dir}";
  pid-file "${t.dir}/named.pid";
  session-keyfile "${t.dir}/session.key";
  managed-keys-directory "${t.dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
  minimal-responses yes;
};
controls { };
include "${join(t.dir, 'named.conf.zones')}";
`,
  );
  named = spawn('named', ['-g', '-4', '-n', '1', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`named did not start:\n${log}`)), 20000);
    named?.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      if (/^\S+ \S+ running$/m.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    named?.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`named exited (${code}):\n${log}`));
    });
  });
}, 30000);

afterAll(async () => {
  if (named && named.exitCode === null) {
    const exited = new Promise((r) => named?.once('exit', r));
    named.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (named.exitCode === null) named.kill('SIGKILL');
  }
  await vpsdns?.close();
  t?.cleanup();
});

describe('live named on the generated files', () => {
  it('loaded both zones without errors', () => {
    expect(log).toMatch(/zone edge\.example\/IN: loaded serial/);
    expect(log).toMatch(/zone other\.example\/IN: loaded serial/);
    expect(log).not.toMatch(/not loaded due to errors/);
  });

  it('answers every RRset in the store with the same records and TTLs', async () => {
    let checked = 0;
    for (const z of t.store.allZones()) {
      const snap = t.store.snapshot(z.id)!;
      const sets = new Map<string, string[]>();
      for (const r of snap.records) {
        const fqdn = r.name === '@' ? z.domain : `${r.name}.${z.domain}`;
        // At and below the delegation point named refers instead of answering (checked separately).
        if (/(^|\.)sub\.edge\.example$/.test(fqdn)) continue;
        const k = `${fqdn}\u0000${r.type}`;
        const list = sets.get(k) ?? [];
        list.push(rrKey(fqdn, r.type, r.ttl, toPacketData(r.type as RecordType, r.value, r.priority)));
        sets.set(k, list);
      }
      for (const [k, expected] of sets) {
        const [name, type] = k.split('\u0000');
        const reply = await query(port, name, type);
        expect(reply.rcode, `${name} ${type}`).toBe('NOERROR');
        expect(reply.flag_aa, `${name} ${type}`).toBe(true);
        expect(keysOf(reply.answers, type), `${name} ${type}`).toEqual(expected.sort());
        checked++;
      }
      const soa = await query(port, z.domain, 'SOA');
      expect((soa.answers?.[0] as { data: { serial: number } } | undefined)?.data.serial).toBe(snap.serial);
      const ns = await query(port, z.domain, 'NS');
      expect(keysOf(ns.answers)).toEqual(SOA.nameservers.map((n) => `${z.domain} ${SOA.soaTtl} NS ${n}`).sort());
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('synthesises wildcard answers and follows an in-zone CNAME', async () => {
    const wild = await query(port, 'anything.wild.edge.example', 'A');
    expect(keysOf(wild.answers)).toEqual(['anything.wild.edge.example 3600 A 192.0.2.99']);
    const apexWild = await query(port, 'random.edge.example', 'TXT');
    expect(keysOf(apexWild.answers)).toEqual(['random.edge.example 3600 TXT catch-all']);
    const cname = await query(port, 'www.edge.example', 'A');
    expect(keysOf(cname.answers)).toEqual(['edge.example 300 A 192.0.2.1', 'www.edge.example 3600 CNAME edge.example']);
  });

  it('refers queries below the delegation with the NS set and glue', async () => {
    const ref = await query(port, 'host.sub.edge.example', 'A');
    expect(ref.rcode).toBe('NOERROR');
    expect(ref.flag_aa).toBe(false);
    expect(ref.answers ?? []).toEqual([]);
    expect(keysOf(ref.authorities, 'NS')).toEqual([
      'sub.edge.example 3600 NS ns.other.example',
      'sub.edge.example 3600 NS ns1.sub.edge.example',
    ]);
    expect(keysOf(ref.additionals).filter((k) => !k.includes(' OPT '))).toEqual([
      'ns1.sub.edge.example 3600 A 192.0.2.53',
      'ns1.sub.edge.example 3600 AAAA 2001:db8::53',
    ]);
  });

  it('gives NXDOMAIN and NODATA with the SOA', async () => {
    const nx = await query(port, 'nope.dept.edge.example', 'A');
    expect(nx.rcode).toBe('NXDOMAIN');
    expect(nx.authorities?.map((rr) => rr.type)).toEqual(['SOA']);
    const nodata = await query(port, 'mail.edge.example', 'AAAA');
    expect(nodata.rcode).toBe('NOERROR');
    expect(nodata.answers ?? []).toEqual([]);
    expect(nodata.authorities?.map((rr) => rr.type)).toEqual(['SOA']);
  });
});

describe('vpsdns answers as named does, from the same store', () => {
  it('agrees on rcode, AA, answer and authority for every RRset and the special cases', async () => {
    const questions: Array<[string, string]> = [
      ['anything.wild.edge.example', 'A'],
      ['random.edge.example', 'TXT'],
      ['www.edge.example', 'A'],
      ['WwW.EdGe.ExAmPlE', 'A'],
      ['host.sub.edge.example', 'A'],
      ['sub.edge.example', 'NS'],
      ['nope.dept.edge.example', 'A'],
      ['mail.edge.example', 'AAAA'],
      ['edge.example', 'SOA'],
      ['edge.example', 'NS'],
      ['other.example', 'MX'],
      ['nothere.other.example', 'A'],
    ];
    for (const z of t.store.allZones()) {
      for (const r of t.store.snapshot(z.id)!.records) {
        questions.push([r.name === '@' ? z.domain : `${r.name}.${z.domain}`, r.type]);
      }
    }
    const vpsdnsPort = vpsdns.ports.udp;
    for (const [name, type] of questions) {
      const [theirs, ours] = [await query(port, name, type), await query(vpsdnsPort, name, type)];
      const what = `${name} ${type}`;
      expect(ours.rcode, what).toBe(theirs.rcode);
      expect(ours.flag_aa, what).toBe(theirs.flag_aa);
      expect(keysOf(ours.answers), what).toEqual(keysOf(theirs.answers));
      expect(keysOf(ours.authorities), what).toEqual(keysOf(theirs.authorities));
      if (!theirs.flag_aa) {
        // Referrals: the same glue.
        const glue = (p: Reply) => keysOf(p.additionals).filter((k) => !k.includes(' OPT '));
        expect(glue(ours), what).toEqual(glue(theirs));
      }
    }
    expect(questions.length).toBeGreaterThan(30);
  });
});
