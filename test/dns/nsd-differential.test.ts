// Differential test against NSD (Debian package `nsd`): the fixture zone is loaded into vpsdns through
// a real Store and into NSD from a zone file written for the same data (same SOA serial, timers, NS).
// Both answer a fixed corpus over UDP and TCP; rcode, AA/TC/RD/RA and every section (as a set of RRs)
// must match. The differences kept on purpose are listed in DELIBERATE below and in src/dns/README.md.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DnsServer } from '../../src/dns/server.js';
import { toZoneText } from '../../src/model/rdata.js';
import { validateRecord } from '../../src/model/record.js';
import { freePort, tcpExchange, udpExchange } from '../helpers/net.js';
import {
  buildQuery,
  DEFAULTS,
  type Decoded,
  decode,
  fixtureStore,
  flagsOf,
  loadFixture,
  optOf,
  type QueryOptions,
  section,
  type TempStore,
} from './helpers.js';

interface Case {
  name: string;
  type: string;
  opts?: QueryOptions;
  tcp?: boolean;
}

const E = (edns: number): QueryOptions => ({ edns });

/** The corpus: every case is asked as written. */
const CORPUS: Case[] = [
  // positive
  { name: 'example.com', type: 'A' },
  { name: 'example.com', type: 'AAAA' },
  { name: 'example.com', type: 'MX' },
  { name: 'example.com', type: 'TXT' },
  { name: 'example.com', type: 'CAA' },
  { name: 'example.com', type: 'NS' },
  { name: 'example.com', type: 'SOA' },
  { name: 'www.example.com', type: 'A' },
  { name: 'www.example.com', type: 'AAAA' },
  { name: 'mail.example.com', type: 'A' },
  { name: '_sip._tcp.example.com', type: 'SRV' },
  { name: 'nullmx.example.com', type: 'MX' },
  { name: 'long.example.com', type: 'TXT' },
  { name: 'sel._domainkey.example.com', type: 'TXT' },
  { name: 'a.b.c.example.com', type: 'A' },
  // mixed case
  { name: 'WwW.ExAmPlE.CoM', type: 'A' },
  { name: 'EXAMPLE.COM', type: 'MX' },
  { name: 'X.WiLd.example.com', type: 'A' },
  { name: 'NoThErE.example.com', type: 'A' },
  // NODATA
  { name: 'www.example.com', type: 'MX' },
  { name: 'example.com', type: 'SRV' },
  { name: 'b.c.example.com', type: 'A' },
  { name: 'c.example.com', type: 'TXT' },
  { name: 'www.example.com', type: 'CAA' },
  // NXDOMAIN
  { name: 'nothere.example.com', type: 'A' },
  { name: 'deep.nothere.example.com', type: 'AAAA' },
  { name: 'x.a.b.c.example.com', type: 'A' },
  { name: 'x.exists.wild.example.com', type: 'A' },
  // CNAME
  { name: 'alias.example.com', type: 'A' },
  { name: 'alias.example.com', type: 'CNAME' },
  { name: 'alias.example.com', type: 'MX' },
  { name: 'chain1.example.com', type: 'A' },
  { name: 'chain1.example.com', type: 'AAAA' },
  { name: 'dangling.example.com', type: 'A' },
  { name: 'ext.example.com', type: 'A' },
  // wildcards
  { name: 'x.wild.example.com', type: 'A' },
  { name: 'y.x.wild.example.com', type: 'TXT' },
  { name: 'x.wild.example.com', type: 'MX' },
  { name: 'exists.wild.example.com', type: 'A' },
  { name: 'exists.wild.example.com', type: 'TXT' },
  { name: 'wild.example.com', type: 'A' },
  { name: '*.wild.example.com', type: 'A' },
  { name: 'foo.cw.example.com', type: 'A' },
  { name: 'foo.cw.example.com', type: 'CNAME' },
  // referrals
  { name: 'sub.example.com', type: 'A' },
  { name: 'sub.example.com', type: 'NS' },
  { name: 'www.sub.example.com', type: 'A' },
  { name: 'ns1.sub.example.com', type: 'A' },
  { name: 'deep.www.sub.example.com', type: 'MX' },
  // EDNS sizes and truncation
  { name: 'www.example.com', type: 'A', opts: E(1232) },
  { name: 'www.example.com', type: 'A', opts: { edns: 4096, dnssecOk: true } },
  { name: 'big.example.com', type: 'TXT' },
  { name: 'big.example.com', type: 'TXT', opts: E(512) },
  { name: 'big.example.com', type: 'TXT', opts: E(1232) },
  { name: 'big.example.com', type: 'TXT', opts: E(4096) },
  { name: 'huge.example.com', type: 'TXT' },
  { name: 'huge.example.com', type: 'TXT', opts: E(1232) },
  { name: 'huge.example.com', type: 'TXT', opts: E(4096) },
  { name: 'huge.example.com', type: 'TXT', tcp: true },
  { name: 'huge.example.com', type: 'TXT', opts: E(4096), tcp: true },
  { name: 'big.example.com', type: 'TXT', tcp: true },
  { name: 'nothere.example.com', type: 'A', opts: E(1232) },
  { name: 'sub.example.com', type: 'NS', opts: E(1232) },
  // RD off
  { name: 'www.example.com', type: 'A', opts: { rd: false } },
  { name: 'nothere.example.com', type: 'A', opts: { rd: false } },
  // ANY (compared by the rules in DELIBERATE)
  { name: 'www.example.com', type: 'ANY' },
  { name: 'alias.example.com', type: 'ANY' },
  { name: 'nothere.example.com', type: 'ANY' },
  { name: 'b.c.example.com', type: 'ANY' },
  { name: 'www.example.com', type: 'ANY', tcp: true },
  { name: 'example.com', type: 'ANY' },
  { name: 'example.com', type: 'ANY', tcp: true },
  { name: 'x.wild.example.com', type: 'ANY' },
  { name: 'sub.example.com', type: 'ANY' },
  { name: 'tosub.example.com', type: 'A' },
  // not ours, other classes and types
  { name: 'example.org', type: 'A' },
  { name: 'www.example.com', type: 'A', opts: { qclass: 'CH' } },
];

interface Result {
  rcode: string;
  flags: ReturnType<typeof flagsOf>;
  answer: string[];
  authority: string[];
  additional: string[];
  opt: string;
}

function summarize(p: Decoded): Result {
  const opt = optOf(p);
  return {
    rcode: p.rcode ?? '',
    flags: flagsOf(p),
    answer: section(p.answers),
    authority: section(p.authorities),
    additional: section(p.additionals),
    opt: opt ? `payload=${opt.udpPayloadSize} do=${(opt.flags & 0x8000) !== 0}` : 'none',
  };
}

/**
 * Differences kept on purpose (see src/dns/README.md), applied to vpsdns's result before comparing:
 * - MX and SRV answers carry the A/AAAA of in-zone targets in the additional section (the issue asks
 *   for it; NSD does it only with minimal-responses: no, which would also put NS in every authority).
 */
function applyDeliberate(c: Case, ours: Result, theirs: Result): { ours: Result; applied: string[] } {
  const applied: string[] = [];
  if ((c.type === 'MX' || c.type === 'SRV') && theirs.additional.length === 0 && ours.additional.length > 0) {
    const targets = new Set(
      ours.answer.flatMap((rr) => {
        const m = rr.match(/"(?:exchange|target)":"([^"]+)"/);
        return m ? [m[1]] : [];
      }),
    );
    const additional = ours.additional.filter((rr) => {
      const [owner, , type] = rr.split(' ');
      return !(targets.has(owner) && (type === 'A' || type === 'AAAA'));
    });
    if (additional.length !== ours.additional.length) applied.push('MX/SRV target addresses in additional');
    return { ours: { ...ours, additional }, applied };
  }
  return { ours, applied };
}

function ask(port: number, c: Case): Promise<Buffer> {
  const msg = buildQuery(c.name, c.type, { id: 777, ...c.opts });
  return c.tcp ? tcpExchange(port, msg).then((m) => m[0]) : udpExchange(port, msg);
}

function nsdBinary(): string {
  for (const candidate of ['/usr/sbin/nsd', '/usr/bin/nsd']) {
    try {
      execFileSync(candidate, ['-v'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    'nsd is not installed: the NSD differential test needs the Debian package "nsd" (apt-get install nsd)',
  );
}

function zoneFile(domain: string, serial: number, records: ReturnType<typeof validateRecord>[]): string {
  const d = DEFAULTS;
  const lines = [
    `$ORIGIN ${domain}.`,
    `@ ${d.soaTtl} IN SOA ${d.nameservers[0]}. ${d.hostmaster}. ${serial} ${d.soaRefresh} ${d.soaRetry} ${d.soaExpire} ${d.soaMinimum}`,
    ...d.nameservers.map((ns) => `@ ${d.soaTtl} IN NS ${ns}.`),
  ];
  for (const r of records) {
    const owner = r.name === '@' ? '@' : r.name;
    lines.push(`${owner} ${r.ttl} IN ${r.type} ${toZoneText(r.type, r.value, r.priority)}`);
  }
  return `${lines.join('\n')}\n`;
}

async function waitForAnswer(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nsd exited with ${proc.exitCode}: ${log()}`);
    try {
      await udpExchange(port, buildQuery('example.com', 'SOA'));
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nsd did not answer on port ${port}: ${log()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('differential against NSD', () => {
  let tmp: TempStore;
  let dir: string;
  let nsd: ChildProcess;
  let nsdPort: number;
  let server: DnsServer;
  let nsdLog = '';

  beforeAll(async () => {
    const binary = nsdBinary();
    const fixture = loadFixture();
    tmp = fixtureStore(fixture);
    const snapshot = tmp.store.snapshot(tmp.zone.id)!;
    server = new DnsServer({ ...DEFAULTS, tcpIdleTimeout: 5000, tcpMaxConnections: 50 });
    server.loadZone(snapshot);
    await server.listen(['127.0.0.1'], 0);

    dir = mkdtempSync(join(tmpdir(), 'vpsdns-nsd-'));
    const records = fixture.records.map((r) => validateRecord(r, fixture.domain, 60));
    writeFileSync(join(dir, 'example.com.zone'), zoneFile(fixture.domain, snapshot.serial, records));
    nsdPort = await freePort();
    writeFileSync(
      join(dir, 'nsd.conf'),
      [
        'server:',
        `  ip-address: 127.0.0.1@${nsdPort}`,
        '  chroot: ""',
        '  username: ""',
        `  zonesdir: "${dir}"`,
        `  pidfile: "${dir}/nsd.pid"`,
        `  xfrdfile: "${dir}/xfrd.state"`,
        `  zonelistfile: "${dir}/zone.list"`,
        '  database: ""',
        `  logfile: "${dir}/nsd.log"`,
        '  server-count: 1',
        '  verbosity: 1',
        '  hide-version: yes',
        '  minimal-responses: yes',
        '  rrl-ratelimit: 0',
        `  ipv4-edns-size: ${DEFAULTS.ednsPayload}`,
        '  do-ip6: no',
        'remote-control:',
        '  control-enable: no',
        'zone:',
        '  name: example.com',
        '  zonefile: example.com.zone',
        '',
      ].join('\n'),
    );
    nsd = spawn(binary, ['-d', '-c', join(dir, 'nsd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    nsd.stdout?.on('data', (d) => {
      nsdLog += d;
    });
    nsd.stderr?.on('data', (d) => {
      nsdLog += d;
    });
    await waitForAnswer(nsdPort, nsd, () => nsdLog);
  }, 30000);

  afterAll(async () => {
    if (nsd?.pid && nsd.exitCode === null) {
      const exited = new Promise((r) => nsd.once('exit', r));
      process.kill(nsd.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    }
    await server?.close();
    tmp?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test(`corpus of ${CORPUS.length} queries`, async () => {
    const diffs: string[] = [];
    const deliberate: string[] = [];
    for (const c of CORPUS) {
      const label = `${c.name} ${c.type}${c.opts?.edns ? ` edns=${c.opts.edns}` : ''}${c.tcp ? ' tcp' : ''}`;
      const raw = summarize(decode(await ask(server.ports.udp, c)));
      const theirs = summarize(decode(await ask(nsdPort, c)));
      const { ours, applied } = applyDeliberate(c, raw, theirs);
      for (const a of applied) deliberate.push(`${label}: ${a}`);
      const same = JSON.stringify(ours) === JSON.stringify(theirs);
      if (!same) diffs.push(`${label}\n  vpsdns: ${JSON.stringify(raw)}\n  nsd:    ${JSON.stringify(theirs)}`);
    }
    expect(diffs.join('\n')).toBe('');
    // The deliberate differences are exactly the MX/SRV queries with in-zone targets.
    expect(deliberate).toEqual([
      'example.com MX: MX/SRV target addresses in additional',
      '_sip._tcp.example.com SRV: MX/SRV target addresses in additional',
      'EXAMPLE.COM MX: MX/SRV target addresses in additional',
    ]);
  }, 60000);
});
