// Zone-file benchmark: parse + import (one transaction) of a generated 100 000-record BIND9 zone file,
// then render it back (export). Prints times and the process's peak RSS. Figures, not assertions.
// Run: `npm run bench:zonefile` (BENCH_RECORDS, default 100 000).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceUsage } from 'node:process';
import { Store } from '../src/store/store.js';
import { exportZone, importZoneText } from '../src/zonefile/import-export.js';
import { SOA_DEFAULTS } from '../test/helpers/soa.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);
const SOA = SOA_DEFAULTS;

const kinds = [
  (i: number) => `h${i} 300 IN A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  (i: number) => `h${i} 300 IN AAAA 2001:db8::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`,
  (i: number) => `t${i} TXT "v=spf1 include:_spf${i}.example.net ~all"`,
  (i: number) => `m${i} MX 10 mail${i}.example.net.`,
  (i: number) => `_s${i}._tcp SRV 10 5 5060 sip${i}.example.net.`,
];
const lines = ['$ORIGIN big.example.', '$TTL 3600', '@ SOA ns1.x. h.x. 1 2 3 4 5'];
for (let i = 0; i < RECORDS; i++) lines.push(kinds[i % kinds.length](i));
const text = `${lines.join('\n')}\n`;

const dir = mkdtempSync(join(tmpdir(), 'vpsdns-bench-zonefile-'));
const store = new Store(join(dir, 'vpsdns.sqlite'));
try {
  const account = store.auth.createAccount('bench');
  const zone = store.createZone(account.id, 'big.example');
  let progressCalls = 0;
  const t0 = performance.now();
  const result = importZoneText(store, zone, text, {
    replace: false,
    minTtl: 60,
    onProgress: () => {
      progressCalls++;
    },
  });
  const t1 = performance.now();
  const out = exportZone(store, zone.id, SOA);
  const t2 = performance.now();
  console.log(
    JSON.stringify({
      records: RECORDS,
      fileBytes: text.length,
      added: result.added,
      progressCalls,
      importMs: Math.round(t1 - t0),
      exportMs: Math.round(t2 - t1),
      exportBytes: out.length,
      peakRssMB: Math.round(resourceUsage().maxRSS / 1024),
    }),
  );
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
