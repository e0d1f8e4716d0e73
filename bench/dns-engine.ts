// DNS query-path micro benchmarks (`npm run bench:dns:micro`), in process, tinybench: header and
// question parse, a cache hit end to end, the resolver on a miss for each answer kind, the encoder, an
// index build per 10 000 records, and a one-record change patched into a 100 000-record zone (against a
// rebuild of that zone). Figures, not assertions; the socket-level comparison is bench/dns.ts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { Bench } from 'tinybench';
import { encodeAnswer } from '../src/dns/encode.js';
import { DnsEngine } from '../src/dns/engine.js';
import { resolve } from '../src/dns/resolve.js';
import { nameKeyLabels, parseQuery, type Query } from '../src/dns/wire.js';
import { ZoneIndex } from '../src/dns/zone-index.js';
import { validateRecord } from '../src/model/record.js';
import { Store, type StoredRecord } from '../src/store/store.js';
import { SOA_DEFAULTS } from '../test/helpers/soa.js';

const defaults = { ...SOA_DEFAULTS, ednsPayload: 1232 };

function query(name: string, type: string): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as dnsPacket.RecordType }],
  });
}

function hosts(n: number, from = 0): StoredRecord[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      id: i + 1,
      uuid: '',
      zone_id: 99,
      name: `host${i}`,
      type: 'A' as const,
      value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      ttl: 300,
      priority: null,
      created_at: '',
    };
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'vpsdns-bench-dns-'));
  const store = new Store(join(dir, 'vpsdns.sqlite'));
  const fixture = JSON.parse(readFileSync(new URL('../fixtures/dns/example.com.json', import.meta.url), 'utf8'));
  const account = store.auth.createAccount('bench').id;
  const zone = store.createZone(account, fixture.domain);
  store.importRecords(
    zone,
    fixture.records.map((r: Record<string, unknown>) => validateRecord(r, fixture.domain, 60)),
    false,
  );
  const snapshot = store.snapshot(zone.id)!;
  const engine = new DnsEngine(defaults);
  engine.loadZone(snapshot);
  const index = new ZoneIndex(snapshot, defaults);

  const hit = query('www.example.com', 'A');
  const mx = query('example.com', 'MX');
  const parsedMx = parseQuery(mx);
  const q = (parsedMx as { query: Query }).query;
  const mxAnswer = resolve(index, nameKeyLabels(q.nameKey), q.qtype);
  const kinds: Array<[string, string, string]> = [
    ['answer', 'www.example.com', 'A'],
    ['answer + additional', 'example.com', 'MX'],
    ['NODATA', 'www.example.com', 'TXT'],
    ['NXDOMAIN', 'nothere.example.com', 'A'],
    ['CNAME chain', 'chain1.example.com', 'A'],
    ['wildcard', 'x.wild.example.com', 'A'],
    ['referral', 'www.sub.example.com', 'A'],
  ];

  const ten = { id: 99, domain: 'ten.test', serial: 1, records: hosts(10_000) };
  const big = { id: 100, domain: 'big.test', serial: 1, records: hosts(100_000) };
  const bigIndex = new ZoneIndex(big, defaults);
  const extra = hosts(1, 100_000)[0];
  let serial = 1;
  let added = false;

  let n = 0;
  const bench = new Bench({ time: 1000 });
  bench
    .add('parse header + question (full parser)', () => {
      parseQuery(hit);
    })
    .add('cache hit end to end: www A', () => {
      engine.handle(hit, false);
    })
    .add('cache hit end to end: apex MX with additional', () => {
      engine.handle(mx, false);
    });
  for (const [kind, name, type] of kinds) {
    const labels = name.split('.');
    const qtype = dnsPacket
      .encode({ type: 'query', questions: [{ name, type: type as dnsPacket.RecordType }] })
      .readUInt16BE(12 + name.length + 2);
    bench.add(`resolve (miss): ${kind}`, () => {
      resolve(index, labels, qtype);
    });
  }
  bench
    .add('encode: apex MX answer with additional', () => {
      encodeAnswer(mx, q, mxAnswer, 65535, null);
    })
    .add('miss end to end: random name (NXDOMAIN: parse, resolve, encode, cache insert)', () => {
      engine.handle(query(`r${n++}.example.com`, 'A'), false);
    })
    .add('index build: 10 000 records', () => {
      new ZoneIndex(ten, defaults);
    })
    .add('one-record change patched into a 100 000-record zone', () => {
      serial++;
      if (added) bigIndex.apply(serial, [extra], []);
      else bigIndex.apply(serial, [], [extra]);
      added = !added;
    });
  await bench.run();
  console.table(bench.table());

  const t0 = performance.now();
  new ZoneIndex(big, defaults);
  console.log(`rebuild of the 100 000-record zone, for comparison: ${(performance.now() - t0).toFixed(1)} ms`);
  store.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
