// DNS scale benchmark (`npm run bench:dns:scale`): vpsdns with 10 000 zones × 10 records, and with one
// zone of 1 000 000 records (BENCH_BIG to change), each written straight into SQLite before the start
// (setup, not timed). Prints the start-up time (spawn to listening) and the worker's own zone load time,
// the DNS worker's RSS per record (over an empty server's), UDP qps with dnsperf against the small
// bench fixture's figure, and, on a 100 000-record zone, the time from the API's 2xx to a UDP query
// seeing the new record, and the API write time itself. Servers on CPU BENCH_SERVER_CPU (0), dnsperf on
// BENCH_CLIENT_CPU (1); BENCH_SECONDS per dnsperf run (5). qps is measured once the server's processes
// are idle (background start-up work done). Loopback only; every process stopped by pid.

import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { databasePath } from '../src/config.js';
import { Store } from '../src/store/store.js';
import { BIN, loopbackServe, type ServeProcess } from '../test/helpers/cli.js';
import { udpExchange } from '../test/helpers/net.js';
import { benchFixture } from './lib/fixture.js';
import { childPids, rssKb, settle } from './lib/proc.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0';
const CLIENT_CPU = process.env.BENCH_CLIENT_CPU ?? '1';
const BIG = Number(process.env.BENCH_BIG ?? 1_000_000);
const MANY_ZONES = Number(process.env.BENCH_ZONES ?? 10_000);
const WRITES = Number(process.env.BENCH_WRITES ?? 50);

interface Setup {
  dir: string;
  token: string;
  queries: string[];
  records: number;
  /** uuid of the zone the write test uses. */
  zoneUuid?: string;
  zoneDomain?: string;
}

/** A data directory with an account, a token and zones written straight into SQLite. */
function makeData(zones: Array<{ domain: string; records: number }>): Setup {
  const dir = mkdtempSync(join(tmpdir(), 'vpsdns-bench-scale-'));
  const store = new Store(databasePath(dir));
  const account = store.auth.createAccount('bench');
  const token = store.auth.createToken(account.id, ['dns:*']).token;
  const insert = store.db.prepare(
    `INSERT INTO records (uuid, zone_id, name, type, value, ttl, priority, created_at) VALUES (?, ?, ?, 'A', ?, 300, NULL, ?)`,
  );
  const now = new Date().toISOString();
  let records = 0;
  let first: { uuid: string; domain: string } | undefined;
  const queries: string[] = [];
  for (const z of zones) {
    const zone = store.createZone(account.id, z.domain);
    first ??= { uuid: zone.uuid, domain: zone.domain };
    store.db.transaction(() => {
      for (let i = 0; i < z.records; i++) {
        insert.run(randomUUID(), zone.id, `host${i}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, now);
      }
    })();
    records += z.records;
  }
  let seed = 7;
  for (let n = 0; n < (zones.length > 0 ? 1000 : 0); n++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const z = zones[(seed >>> 8) % zones.length];
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    queries.push(`host${(seed >>> 8) % z.records}.${z.domain} A`);
  }
  store.close();
  return { dir, token, queries, records, zoneUuid: first?.uuid, zoneDomain: first?.domain };
}

/** `vpsdns serve` with a start-up allowance for big data (the zone-file writer renders every zone first). */
async function spawnBig(args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const started = await new Promise<{ apiPort: number; dnsPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 600 s:\n${out.slice(-2000)}`)), 600_000);
    child.stdout!.on('data', () => {
      const line = out.split('\n').find((l) => l.includes('"vpsdns started"'));
      if (!line) return;
      clearTimeout(timer);
      const log = JSON.parse(line);
      resolve({ apiPort: log.apiPort, dnsPort: log.dnsPort });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out.slice(-2000)}`));
    });
  }).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    child,
    ...started,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      return code as number | null;
    },
  };
}

async function start(dir: string, workers = 1): Promise<{ serve: ServeProcess; ms: number; loadMs: number }> {
  const t0 = performance.now();
  const serve = await spawnBig([...loopbackServe(dir), '--rrl-rate', '0', '--workers', String(workers)]);
  const ms = performance.now() - t0;
  for (const pid of [serve.child.pid!, ...childPids(serve.child.pid!)]) {
    execFileSync('taskset', ['-a', '-p', '-c', SERVER_CPU, String(pid)], { stdio: 'ignore' });
  }
  const ready = serve
    .output()
    .split('\n')
    .filter((l) => l.includes('"DNS worker ready"'))
    .map((l) => JSON.parse(l).zoneLoadMs as number);
  return { serve, ms, loadMs: Math.max(0, ...ready) };
}

function dnsperfQps(port: number, queries: string[], dir: string): number {
  const file = join(dir, 'queries.txt');
  writeFileSync(file, `${queries.join('\n')}\n`);
  const out = execFileSync(
    'taskset',
    [
      '-c',
      CLIENT_CPU,
      'dnsperf',
      '-s',
      '127.0.0.1',
      '-p',
      String(port),
      '-d',
      file,
      '-l',
      String(SECONDS),
      '-c',
      '4',
      '-q',
      '256',
    ],
    { timeout: (SECONDS + 30) * 1000 },
  ).toString();
  return Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`bench:dns:scale: load average ${load()}`);

  // Baseline: an empty server's worker RSS, and the small fixture's qps.
  const small = benchFixture();
  const empty = makeData([]);
  const base = await start(empty.dir);
  const baseRss = rssKb(childPids(base.serve.child.pid!));
  await base.serve.stop();
  rmSync(empty.dir, { recursive: true, force: true });

  const fixtureData = makeData([]);
  const f = await start(fixtureData.dir);
  {
    const headers = { Authorization: `Bearer ${fixtureData.token}` };
    const api = `http://127.0.0.1:${f.serve.apiPort}/api/v1`;
    const z = (await (
      await fetch(`${api}/dns-zones/`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: JSON.stringify({ domain: small.domain }),
      })
    ).json()) as { uuid: string };
    await fetch(`${api}/dns-zones/${z.uuid}/import/`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'text/dns' },
      body: small.zoneText,
    });
  }
  await settle(f.serve.child.pid!);
  const smallQps = dnsperfQps(f.serve.dnsPort, small.queries, fixtureData.dir);
  await f.serve.stop();
  rmSync(fixtureData.dir, { recursive: true, force: true });
  console.log(
    `small fixture (${small.records} records): ${Math.round(smallQps)} UDP qps; empty worker RSS ${Math.round(baseRss / 1024)} MiB`,
  );

  const rows: string[] = [];
  for (const [label, zones] of [
    [
      `${MANY_ZONES} zones × 10 records`,
      Array.from({ length: MANY_ZONES }, (_, i) => ({ domain: `z${i}.scale.test`, records: 10 })),
    ],
    [`1 zone × ${BIG} records`, [{ domain: 'big.scale.test', records: BIG }]],
  ] as const) {
    const t0 = performance.now();
    const data = makeData([...zones]);
    const setupS = (performance.now() - t0) / 1000;
    const s = await start(data.dir);
    const rss = rssKb(childPids(s.serve.child.pid!));
    const perRecord = ((rss - baseRss) * 1024) / data.records;
    const settled = await settle(s.serve.child.pid!);
    const qps = dnsperfQps(s.serve.dnsPort, data.queries, data.dir);
    await s.serve.stop();
    rmSync(data.dir, { recursive: true, force: true });
    rows.push(
      `| ${label} | ${(s.ms / 1000).toFixed(2)} s | ${(s.loadMs / 1000).toFixed(2)} s | ${Math.round(rss / 1024)} MiB | ${Math.round(perRecord)} B | ${Math.round(qps)} | ${(qps / smallQps).toFixed(2)} |`,
    );
    console.log(
      `${label}: setup ${setupS.toFixed(1)} s; idle ${settled.toFixed(0)} s after start; ${rows[rows.length - 1]}`,
    );
  }

  // API write -> visible over UDP, on a 100 000-record zone, with the default worker count.
  const w = makeData([{ domain: 'writes.scale.test', records: 100_000 }]);
  const s = await start(w.dir, Number(process.env.BENCH_WORKERS ?? 2));
  const api = `http://127.0.0.1:${s.serve.apiPort}/api/v1`;
  const writeMs: number[] = [];
  const visibleMs: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    const t0 = performance.now();
    const res = await fetch(`${api}/dns-zones/${w.zoneUuid}/records/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${w.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ record_type: 'A', name: `new${i}`, value: '192.0.2.55', ttl: 300 }),
    });
    await res.text();
    const t1 = performance.now();
    if (res.status !== 201) throw new Error(`write ${res.status}`);
    const q = dnsPacket.encode({ type: 'query', id: i, questions: [{ name: `new${i}.${w.zoneDomain}`, type: 'A' }] });
    for (let tries = 0; tries < 1000; tries++) {
      const a = dnsPacket.decode(await udpExchange(s.serve.dnsPort, q));
      if ((a.answers ?? []).length > 0) break;
    }
    writeMs.push(t1 - t0);
    visibleMs.push(performance.now() - t1);
  }
  await s.serve.stop();
  rmSync(w.dir, { recursive: true, force: true });
  const line = `100 000-record zone, ${WRITES} writes: API 2xx in ${median(writeMs).toFixed(2)} ms median; visible over UDP ${median(visibleMs).toFixed(2)} ms after the 2xx (median, max ${Math.max(...visibleMs).toFixed(2)})`;

  console.log(`\nload average at the end: ${load()}\n`);
  console.log(
    '| data | start-up (spawn to listening) | worker zone load | worker RSS | RSS per record | UDP qps | ÷ small fixture |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`\n${line}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
