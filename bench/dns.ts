// DNS macro benchmark (`npm run bench:dns`): vpsdns against the platform ceilings (bare Node.js echo
// servers: UDP through the batching addon vpsdns uses, and through node:dgram) and every installed
// peer (nsd, knotd, named, pdns_server) on free loopback ports, all serving the same zone: vpsdns gets it through its API, the peers get the zone file vpsdns exports.
// First every server's answers to the query file are compared with vpsdns's; then dnsperf runs against
// each, UDP and TCP, one after the other in the same run. Servers are pinned to one core (BENCH_SERVER_CPU,
// default 0: Knot pins its UDP worker to CPU 0) and dnsperf to another (BENCH_CLIENT_CPU, default 1).
// Prints qps, latency, server CPU %, qps per server core, peak RSS and the ratios to NSD and to the
// ceilings; then a UDP random-name flood (NXDOMAIN, no name repeated within the cache admission window).
// Environment: BENCH_SECONDS (10 per run), BENCH_WORKERS (vpsdns --workers, 1), BENCH_UDP_IO
// (vpsdns --dns-udp-io, auto), BENCH_ONLY (comma list of server names: vpsdns always, batch-echo, echo,
// nsd, knotd, named, pdns_server). Loopback only; every process started is stopped by pid.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { databasePath } from '../src/config.js';
import { Store } from '../src/store/store.js';
import { spawnServe } from '../test/helpers/cli.js';
import { freePort, udpExchange } from '../test/helpers/net.js';
import { benchFixture } from './lib/fixture.js';
import { cpuTicks, descendants, rssKb } from './lib/proc.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0';
const CLIENT_CPU = process.env.BENCH_CLIENT_CPU ?? '1';
const WORKERS = process.env.BENCH_WORKERS ?? '1';
const UDP_IO = process.env.BENCH_UDP_IO ?? 'auto';
const ONLY = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',') : null;

interface Server {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

interface Run {
  qps: number;
  latencyMs: number;
  lostPct: number;
  /** CPU time of the server's processes. */
  cpuPct: number;
  /** Busy time of the server's core (/proc/stat), which also carries the loopback network stack's work. */
  corePct: number;
  perCore: number;
}

interface Result {
  name: string;
  udp: Run | null;
  tcp: Run | null;
  flood: Run | null;
  rssMiB: number;
  agree: string;
}

function has(binary: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    try {
      execFileSync('test', ['-x', join(dir, binary)]);
      return join(dir, binary);
    } catch {
      // not there
    }
  }
  return null;
}

function query(name: string, type: string, id = 1): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: 0,
    questions: [{ name, type: type as dnsPacket.RecordType }],
  });
}

async function waitForAnswer(port: number, domain: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}: ${log()}`);
    try {
      const r = dnsPacket.decode(await udpExchange(port, query(domain, 'SOA'), 300));
      if ((r.answers ?? []).length > 0) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`no answer on port ${port}: ${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || !child.pid) return resolve();
    const timer = setTimeout(() => {
      if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }, 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    process.kill(child.pid, 'SIGTERM');
  });
}

/** Spawn a peer pinned to the server core and wait until it answers the zone's SOA. */
async function startPinned(name: string, argv: string[], port: number, domain: string): Promise<Server> {
  const child = spawn('taskset', ['-c', SERVER_CPU, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d) => {
    log += d;
  });
  child.stderr?.on('data', (d) => {
    log += d;
  });
  try {
    await waitForAnswer(port, domain, child, () => log.slice(-2000));
  } catch (err) {
    await stopChild(child);
    throw new Error(`${name}: ${(err as Error).message}`);
  }
  return { name, port, pid: child.pid!, stop: () => stopChild(child) };
}

function dnsperf(
  port: number,
  file: string,
  tcp: boolean,
): Promise<{ qps: number; latencyMs: number; lostPct: number }> {
  const args = ['-c', CLIENT_CPU, 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(SECONDS)];
  args.push(...(tcp ? ['-m', 'tcp', '-c', '16', '-q', '256'] : ['-c', '4', '-q', '256']));
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const killer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), (SECONDS + 30) * 1000);
    child.on('exit', () => {
      clearTimeout(killer);
      const qps = /Queries per second:\s+([\d.]+)/.exec(out);
      const lat = /Average Latency \(s\):\s+([\d.]+)/.exec(out);
      const lost = /Queries lost:\s+\d+ \(([\d.]+)%\)/.exec(out);
      if (!qps) return reject(new Error(`dnsperf failed:\n${out}`));
      resolve({ qps: Number(qps[1]), latencyMs: Number(lat?.[1] ?? 0) * 1000, lostPct: Number(lost?.[1] ?? 0) });
    });
  });
}

/** [busy, total] ticks of one CPU. */
function coreTicks(cpu: string): [number, number] {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  const f = (line ?? '').trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return [total - idle, total];
}

async function measure(server: Server, file: string, tcp: boolean): Promise<Run> {
  const pids = descendants(server.pid);
  const before = cpuTicks(pids);
  const [busy0, total0] = coreTicks(SERVER_CPU);
  const started = performance.now();
  const r = await dnsperf(server.port, file, tcp);
  const seconds = (performance.now() - started) / 1000;
  const [busy1, total1] = coreTicks(SERVER_CPU);
  const cpuPct = ((cpuTicks(pids) - before) / 100 / seconds) * 100;
  const corePct = total1 > total0 ? ((busy1 - busy0) / (total1 - total0)) * 100 : 0;
  // Per server core: what the core the server is pinned to did, with its network stack work included.
  const used = Math.max(cpuPct, corePct);
  return { ...r, cpuPct, corePct, perCore: used > 0 ? r.qps / (used / 100) : 0 };
}

// ---- answers compared ----

function normalize(buf: Buffer): string {
  const p = dnsPacket.decode(buf) as dnsPacket.DecodedPacket & { rcode?: string };
  const rr = (list: dnsPacket.Answer[] | undefined) =>
    (list ?? [])
      .filter((r) => r.type !== 'OPT')
      .map((r) => {
        const data = JSON.stringify((r as { data?: unknown }).data, (_k, v) =>
          typeof v === 'string' ? v.toLowerCase() : v,
        );
        return `${r.name.toLowerCase()} ${(r as { ttl?: number }).ttl} ${r.type} ${data}`;
      })
      .sort()
      .join(' | ');
  const aa = ((p.flags ?? 0) & 0x400) !== 0;
  return `${p.rcode} aa=${aa} AN[${rr(p.answers)}] NS[${rr(p.authorities)}] AR[${rr(p.additionals)}]`;
}

async function answers(port: number, lines: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const line of lines) {
    const [name, type] = line.split(' ');
    try {
      out.set(line, normalize(await udpExchange(port, query(name, type, out.size & 0xffff))));
    } catch (err) {
      out.set(line, `error: ${(err as Error).message}`);
    }
  }
  return out;
}

// ---- the servers ----

async function startVpsdns(
  dir: string,
  zoneText: string,
  domain: string,
): Promise<{ server: Server; exported: string }> {
  const dataDir = join(dir, 'vpsdns');
  const setup = new Store(databasePath(dataDir));
  const account = setup.auth.createAccount('bench');
  const token = setup.auth.createToken(account.id, ['dns:*']).token;
  setup.close();
  const port = await freePort();
  const serve = await spawnServe([
    '--data',
    dataDir,
    '--listen',
    '127.0.0.1',
    '--api-port',
    '0',
    '--dns-port',
    String(port),
    // Rate limiting off, as for NSD here: dnsperf is one client asking the same names.
    '--rrl-rate',
    '0',
    ...(WORKERS === '' ? [] : ['--workers', WORKERS]),
    '--dns-udp-io',
    UDP_IO,
  ]);
  const pid = serve.child.pid!;
  execFileSync('taskset', ['-a', '-p', '-c', SERVER_CPU, String(pid)], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${serve.apiPort}/api/v1`;
  const auth = { Authorization: `Bearer ${token}` };
  const zr = await fetch(`${base}/dns-zones/`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ domain }),
  });
  if (zr.status !== 201) throw new Error(`zone create: ${zr.status} ${await zr.text()}`);
  const zone = (await zr.json()) as { uuid: string };
  const ir = await fetch(`${base}/dns-zones/${zone.uuid}/import/`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'text/dns' },
    body: zoneText,
  });
  if (ir.status !== 200) throw new Error(`zone import: ${ir.status} ${await ir.text()}`);
  const exported = await (await fetch(`${base}/dns-zones/${zone.uuid}/export/`, { headers: auth })).text();
  // Workers started after the zone was loaded are pinned too.
  for (const p of descendants(pid))
    execFileSync('taskset', ['-a', '-p', '-c', SERVER_CPU, String(p)], { stdio: 'ignore' });
  return {
    server: {
      name: `vpsdns (--workers ${WORKERS}${UDP_IO === 'auto' ? '' : `, ${UDP_IO}`})`,
      port,
      pid,
      stop: async () => {
        await serve.stop();
      },
    },
    exported,
  };
}

async function startEcho(batch: boolean): Promise<Server> {
  const port = await freePort();
  const script = join(import.meta.dirname, 'lib', 'echo-server.mjs');
  const args = [process.execPath, script, String(port), ...(batch ? ['--batch'] : [])];
  const child = spawn('taskset', ['-c', SERVER_CPU, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => (String(d).includes('listening') ? resolve() : undefined));
    child.once('exit', (c) => reject(new Error(`echo exited with ${c}`)));
  });
  const name = batch ? 'batched UDP echo (ceiling)' : 'node dgram echo';
  return { name, port, pid: child.pid!, stop: () => stopChild(child) };
}

async function startNsd(bin: string, dir: string, domain: string): Promise<Server> {
  const port = await freePort();
  const d = join(dir, 'nsd');
  execFileSync('mkdir', ['-p', d]);
  writeFileSync(
    join(d, 'nsd.conf'),
    [
      'server:',
      `  ip-address: 127.0.0.1@${port}`,
      '  chroot: ""',
      '  username: ""',
      `  zonesdir: "${dir}"`,
      `  pidfile: "${d}/nsd.pid"`,
      `  xfrdfile: "${d}/xfrd.state"`,
      `  zonelistfile: "${d}/zone.list"`,
      '  database: ""',
      `  logfile: "${d}/nsd.log"`,
      '  server-count: 1',
      '  hide-version: yes',
      '  minimal-responses: yes',
      '  rrl-ratelimit: 0',
      '  ipv4-edns-size: 1232',
      '  do-ip6: no',
      'remote-control:',
      '  control-enable: no',
      'zone:',
      `  name: ${domain}`,
      `  zonefile: ${domain}.zone`,
      '',
    ].join('\n'),
  );
  return startPinned('nsd', [bin, '-d', '-c', join(d, 'nsd.conf')], port, domain);
}

async function startKnot(bin: string, dir: string, domain: string): Promise<Server> {
  const port = await freePort();
  const d = join(dir, 'knot');
  execFileSync('mkdir', ['-p', d]);
  writeFileSync(
    join(d, 'knot.conf'),
    [
      'server:',
      `  rundir: "${d}"`,
      `  listen: 127.0.0.1@${port}`,
      '  udp-workers: 1',
      '  tcp-workers: 1',
      '  background-workers: 1',
      'log:',
      '  - target: stderr',
      '    any: warning',
      'database:',
      `  storage: "${d}"`,
      'template:',
      '  - id: default',
      `    storage: "${dir}"`,
      '    zonefile-sync: -1',
      '    journal-content: none',
      'zone:',
      `  - domain: ${domain}`,
      `    file: "${domain}.zone"`,
      '',
    ].join('\n'),
  );
  return startPinned('knotd', [bin, '-c', join(d, 'knot.conf')], port, domain);
}

async function startNamed(bin: string, dir: string, domain: string): Promise<Server> {
  const port = await freePort();
  const d = join(dir, 'named');
  execFileSync('mkdir', ['-p', d]);
  writeFileSync(
    join(d, 'named.conf'),
    [
      'options {',
      `  directory "${d}";`,
      `  listen-on port ${port} { 127.0.0.1; };`,
      '  listen-on-v6 { none; };',
      '  recursion no;',
      '  minimal-responses yes;',
      '  dnssec-validation no;',
      '  notify no;',
      '  allow-transfer { none; };',
      `  pid-file "${d}/named.pid";`,
      `  session-keyfile "${d}/session.key";`,
      '};',
      'controls { };',
      `zone "${domain}" { type primary; file "${join(dir, `${domain}.zone`)}"; };`,
      '',
    ].join('\n'),
  );
  return startPinned('named', [bin, '-g', '-n', '1', '-c', join(d, 'named.conf')], port, domain);
}

async function startPdns(bin: string, dir: string, domain: string): Promise<Server> {
  const port = await freePort();
  const d = join(dir, 'pdns');
  execFileSync('mkdir', ['-p', d]);
  writeFileSync(join(d, 'named.conf'), `zone "${domain}" { type master; file "${join(dir, `${domain}.zone`)}"; };\n`);
  const args = [
    bin,
    '--guardian=no',
    '--daemon=no',
    `--config-dir=${d}`,
    `--socket-dir=${d}`,
    '--launch=bind',
    `--bind-config=${join(d, 'named.conf')}`,
    `--local-address=127.0.0.1:${port}`,
    '--receiver-threads=1',
    '--distributor-threads=1',
    '--disable-syslog',
  ];
  return startPinned('pdns_server', args, port, domain);
}

// ---- main ----

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'vpsdns-bench-dns-'));
  const fixture = benchFixture();
  const queryFile = join(dir, 'queries.txt');
  writeFileSync(queryFile, `${fixture.queries.join('\n')}\n`);
  // A random-name flood: 600 000 distinct names, none of them in the zone (NXDOMAIN), so no name comes
  // back within the answer cache's admission window (2^18 names): what no answer cache helps with.
  const floodFile = join(dir, 'flood.txt');
  writeFileSync(
    floodFile,
    `${Array.from({ length: 600_000 }, (_, i) => `r${((i * 2654435761) >>> 0).toString(36)}.${fixture.domain} A`).join('\n')}\n`,
  );
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(
    `bench:dns: zone ${fixture.domain} (${fixture.records} records), ${fixture.queries.length}-query mix, ` +
      `${SECONDS} s per run, servers on CPU ${SERVER_CPU}, dnsperf on CPU ${CLIENT_CPU}, load average ${load()}`,
  );
  const started: Server[] = [];
  const results: Result[] = [];
  const want = (name: string) => !ONLY || ONLY.some((o) => name.startsWith(o));
  try {
    const v = await startVpsdns(dir, fixture.zoneText, fixture.domain);
    started.push(v.server);
    writeFileSync(join(dir, `${fixture.domain}.zone`), v.exported);
    const servers: Server[] = [v.server];
    // The ceilings: a bare echo through the batching addon (vpsdns's UDP path) and through node:dgram.
    for (const batch of [true, false]) {
      if (!want(batch ? 'batch-echo' : 'echo')) continue;
      const echo = await startEcho(batch);
      started.push(echo);
      servers.push(echo);
    }
    const peers: Array<[string, (bin: string) => Promise<Server>]> = [
      ['nsd', (b) => startNsd(b, dir, fixture.domain)],
      ['knotd', (b) => startKnot(b, dir, fixture.domain)],
      ['named', (b) => startNamed(b, dir, fixture.domain)],
      ['pdns_server', (b) => startPdns(b, dir, fixture.domain)],
    ];
    for (const [name, start] of peers) {
      if (!want(name)) continue;
      const bin = has(name);
      if (!bin) {
        console.log(`${name}: not installed, skipped`);
        continue;
      }
      try {
        const s = await start(bin);
        started.push(s);
        servers.push(s);
      } catch (err) {
        console.log(`${name}: could not start, skipped (${(err as Error).message.split('\n')[0]})`);
      }
    }

    // Same answers for every distinct query of the file.
    const distinct = [...new Set(fixture.queries)];
    const reference = await answers(v.server.port, distinct);
    const agreement = new Map<string, string>();
    for (const s of servers.slice(1)) {
      if (s.name.includes('echo')) continue;
      const theirs = await answers(s.port, distinct);
      const diffs = distinct.filter((q) => theirs.get(q) !== reference.get(q));
      agreement.set(s.name, `${distinct.length - diffs.length}/${distinct.length}`);
      console.log(`answers ${s.name} vs vpsdns: ${distinct.length - diffs.length}/${distinct.length} identical`);
      for (const q of diffs.slice(0, 3)) {
        console.log(`  ${q}\n    vpsdns: ${reference.get(q)}\n    ${s.name}: ${theirs.get(q)}`);
      }
    }

    for (const s of servers) {
      const udp = await measure(s, queryFile, false);
      const tcp = await measure(s, queryFile, true);
      const flood = s.name.includes('echo') ? null : await measure(s, floodFile, false);
      const rssMiB = rssKb(descendants(s.pid), 'VmHWM') / 1024;
      results.push({ name: s.name, udp, tcp, flood, rssMiB, agree: agreement.get(s.name) ?? '-' });
      console.log(
        `${s.name}: UDP ${fmt(udp.qps)} qps (${fmt(udp.cpuPct)}% CPU, core ${fmt(udp.corePct)}%, lost ${udp.lostPct}%), ` +
          `TCP ${fmt(tcp.qps)} qps (${fmt(tcp.cpuPct)}% CPU, core ${fmt(tcp.corePct)}%)` +
          (flood ? `, random-name flood ${fmt(flood.qps)} qps (${fmt(flood.perCore)}/core)` : ''),
      );
    }
  } finally {
    for (const s of started.reverse()) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const nsd = results.find((r) => r.name === 'nsd');
  const echo = results.find((r) => r.name.startsWith('batched UDP echo'));
  const dgramEcho = results.find((r) => r.name.startsWith('node dgram echo'));
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? (a / b).toFixed(2) : '-');
  const header = [
    'server',
    'UDP qps',
    'UDP lat ms',
    'UDP CPU % (proc/core)',
    'UDP qps/core',
    'TCP qps',
    'TCP lat ms',
    'TCP CPU % (proc/core)',
    'TCP qps/core',
    'flood qps/core',
    'peak RSS MiB',
    'UDP/core ÷ NSD',
    'UDP/core ÷ batched echo',
    'UDP/core ÷ dgram echo',
    'TCP ÷ NSD',
    'flood ÷ NSD',
    'same answers',
  ];
  const rows = results.map((r) => [
    r.name,
    fmt(r.udp!.qps),
    r.udp!.latencyMs.toFixed(2),
    `${fmt(r.udp!.cpuPct)}/${fmt(r.udp!.corePct)}`,
    fmt(r.udp!.perCore),
    fmt(r.tcp!.qps),
    r.tcp!.latencyMs.toFixed(2),
    `${fmt(r.tcp!.cpuPct)}/${fmt(r.tcp!.corePct)}`,
    fmt(r.tcp!.perCore),
    r.flood ? fmt(r.flood.perCore) : '-',
    r.rssMiB.toFixed(1),
    ratio(r.udp!.perCore, nsd?.udp?.perCore),
    ratio(r.udp!.perCore, echo?.udp?.perCore),
    ratio(r.udp!.perCore, dgramEcho?.udp?.perCore),
    ratio(r.tcp!.qps, nsd?.tcp?.qps),
    ratio(r.flood?.perCore, nsd?.flood?.perCore),
    r.agree,
  ]);
  console.log(`\nload average at the end: ${load()}`);
  console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
