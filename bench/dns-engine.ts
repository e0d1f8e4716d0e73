// DNS engine micro benchmark (`npx tsx bench/dns-engine.ts`): query bytes -> response bytes, in
// process, on the fixture zone: cache hits (the hot path), misses (resolve + encode), REFUSED, and a
// zone rebuild. Figures, not assertions; the macro benchmark over sockets is dnsperf's job.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { Bench } from 'tinybench';
import { DnsEngine } from '../src/dns/engine.js';
import { validateRecord } from '../src/model/record.js';
import { Store } from '../src/store/store.js';

const defaults = {
  nameservers: ['ns1.vps.org', 'ns2.vps.org'],
  hostmaster: 'hostmaster.vps.org',
  soaTtl: 3600,
  soaRefresh: 10800,
  soaRetry: 3600,
  soaExpire: 1209600,
  soaMinimum: 300,
  ednsPayload: 1232,
};

function query(name: string, type: string): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as dnsPacket.RecordType }],
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

  const hit = query('www.example.com', 'A');
  const mx = query('example.com', 'MX');
  const refused = query('www.example.org', 'A');
  let n = 0;
  const bench = new Bench({ time: 1000 });
  bench
    .add('cache hit: www A', () => {
      engine.handle(hit, false);
    })
    .add('cache hit: apex MX with additional', () => {
      engine.handle(mx, false);
    })
    .add('miss: random name (NXDOMAIN, resolve + encode)', () => {
      engine.handle(query(`r${n++}.example.com`, 'A'), false);
    })
    .add('REFUSED (never cached)', () => {
      engine.handle(refused, false);
    })
    .add(`loadZone (${snapshot.records.length} records)`, () => {
      engine.loadZone(snapshot);
    });
  await bench.run();
  console.table(bench.table());
  store.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
