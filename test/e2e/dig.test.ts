// End to end: `vpsdns serve` spawned for real, zones and records made through the HTTP API,
// and Debian's `dig` asking the DNS port: every change is visible the moment the API answers.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackServe, type ServeProcess, spawnServe } from '../helpers/cli.js';

const execFileP = promisify(execFile);
let dataDir: string;
let server: ServeProcess;
let token: string;
let zoneUuid: string;

interface DigResult {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  raw: string;
}

/** Run dig against the server and split its output into sections (records normalised to single spaces). */
async function dig(...args: string[]): Promise<DigResult> {
  const { stdout } = await execFileP('dig', [
    `@127.0.0.1`,
    '-p',
    String(server.dnsPort),
    '+tries=1',
    '+time=3',
    ...args,
  ]);
  const section = (name: string) => {
    const m = stdout.match(new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(\\n\\n|$)`));
    return m
      ? m[1]
          .split('\n')
          .filter((l) => l && !l.startsWith(';'))
          .map((l) => l.split(/\s+/).join(' '))
      : [];
  };
  return {
    status: stdout.match(/status: (\w+)/)?.[1] ?? 'NONE',
    flags:
      stdout
        .match(/;; flags: ([a-z ]+);/)?.[1]
        .trim()
        .split(' ') ?? [],
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL'),
    raw: stdout,
  };
}

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${server.apiPort}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'vpsdns-dig-'));
  // IPv4 and IPv6 loopback both, as the quick start does.
  server = await spawnServe([...loopbackServe(dataDir), '--listen', '127.0.0.1,::1']);
  token = server.output().match(/vps_[A-Za-z0-9]+/)![0];
});

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('read-your-writes through the API and dig', () => {
  it('a name under no zone is REFUSED; the zone answers the moment it is created', async () => {
    expect((await dig('www.shop.example', 'A')).status).toBe('REFUSED');
    const created = await api('POST', '/api/v1/dns-zones/', { domain: 'shop.example' });
    expect(created.status).toBe(201);
    zoneUuid = created.body.uuid;
    const soa = await dig('shop.example', 'SOA', '+norec');
    expect(soa.status).toBe('NOERROR');
    expect(soa.flags).toContain('aa');
    expect(soa.flags).not.toContain('ra');
    expect(soa.answer[0]).toMatch(
      /^shop\.example\. 3600 IN SOA ns1\.vps\.org\. hostmaster\.vps\.org\. \d{10} 10800 3600 1209600 300$/,
    );
    const ns = await dig('shop.example', 'NS');
    expect(ns.answer.sort()).toEqual([
      'shop.example. 3600 IN NS ns1.vps.org.',
      'shop.example. 3600 IN NS ns2.vps.org.',
    ]);
  });

  it('a new record is answered at once; a change and a delete too', async () => {
    const nx = await dig('www.shop.example', 'A');
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.authority[0]).toMatch(/^shop\.example\. 300 IN SOA /);

    const rec = await api('POST', `/api/v1/dns-zones/${zoneUuid}/records/`, {
      record_type: 'A',
      name: 'www',
      value: '192.0.2.10',
      ttl: 600,
    });
    expect(rec.status).toBe(201);
    expect((await dig('www.shop.example', 'A')).answer).toEqual(['www.shop.example. 600 IN A 192.0.2.10']);

    await api('PATCH', `/api/v1/dns-records/${rec.body.uuid}/`, { value: '192.0.2.11', ttl: 1800 });
    expect((await dig('www.shop.example', 'A')).answer).toEqual(['www.shop.example. 1800 IN A 192.0.2.11']);
    expect((await dig('www.shop.example', 'A', '+tcp')).answer).toEqual(['www.shop.example. 1800 IN A 192.0.2.11']);

    const serialBefore = Number((await dig('shop.example', 'SOA')).answer[0].split(' ')[6]);
    expect((await api('DELETE', `/api/v1/dns-records/${rec.body.uuid}/`)).status).toBe(204);
    expect((await dig('www.shop.example', 'A')).status).toBe('NXDOMAIN');
    const serialAfter = Number((await dig('shop.example', 'SOA')).answer[0].split(' ')[6]);
    expect(serialAfter).toBeGreaterThan(serialBefore);
  });

  it('answers on IPv6 too, over UDP and TCP', async () => {
    for (const extra of [[], ['+tcp']]) {
      const { stdout } = await execFileP('dig', [
        '@::1',
        '-p',
        String(server.dnsPort),
        'shop.example',
        'SOA',
        '+short',
        ...extra,
      ]);
      expect(stdout).toMatch(/^ns1\.vps\.org\. hostmaster\.vps\.org\. \d{10} /);
    }
  });

  it('a deleted zone is REFUSED at once', async () => {
    const z = await api('POST', '/api/v1/dns-zones/', { domain: 'gone.example' });
    expect((await dig('gone.example', 'SOA')).status).toBe('NOERROR');
    expect((await api('DELETE', `/api/v1/dns-zones/${z.body.uuid}/`)).status).toBe(204);
    expect((await dig('gone.example', 'SOA')).status).toBe('REFUSED');
  });
});

describe('answers as NSD gives them', () => {
  beforeAll(async () => {
    const add = (body: object) => api('POST', `/api/v1/dns-zones/${zoneUuid}/records/`, body);
    await add({ record_type: 'MX', name: '@', value: 'mail.shop.example', priority: 10 });
    await add({ record_type: 'A', name: 'mail', value: '192.0.2.25' });
    await add({ record_type: 'TXT', name: '@', value: 'v=spf1 mx -all' });
    await add({ record_type: 'CNAME', name: 'www', value: 'shop.example' });
    await add({ record_type: 'A', name: '@', value: '192.0.2.1' });
    await add({ record_type: 'A', name: '*.dyn', value: '192.0.2.99' });
    await add({ record_type: 'NS', name: 'sub', value: 'ns.sub.shop.example' });
    await add({ record_type: 'A', name: 'ns.sub', value: '192.0.2.53' });
    for (let i = 0; i < 12; i++) {
      await add({ record_type: 'TXT', name: 'big', value: `${String(i).padStart(2, '0')} ${'x'.repeat(90)}` });
    }
  });

  it('MX with the in-zone target address in additional', async () => {
    const r = await dig('shop.example', 'MX', '+norec');
    expect(r.answer).toEqual(['shop.example. 3600 IN MX 10 mail.shop.example.']);
    expect(r.additional).toContain('mail.shop.example. 3600 IN A 192.0.2.25');
    expect(r.flags).toEqual(['qr', 'aa']);
  });

  it('CNAME followed inside the zone; mixed case echoed', async () => {
    const r = await dig('WwW.ShOp.ExAmPlE', 'A');
    expect(r.raw).toContain(';WwW.ShOp.ExAmPlE.');
    expect(r.answer.map((l) => l.toLowerCase())).toEqual([
      'www.shop.example. 3600 in cname shop.example.',
      'shop.example. 3600 in a 192.0.2.1',
    ]);
  });

  it('wildcard synthesis and NODATA', async () => {
    expect((await dig('anything.dyn.shop.example', 'A')).answer).toEqual([
      'anything.dyn.shop.example. 3600 IN A 192.0.2.99',
    ]);
    const nodata = await dig('mail.shop.example', 'AAAA');
    expect(nodata.status).toBe('NOERROR');
    expect(nodata.answer).toEqual([]);
    expect(nodata.authority[0]).toMatch(/^shop\.example\. 300 IN SOA/);
  });

  it('referral below a delegation: no AA, NS in authority, glue in additional', async () => {
    const r = await dig('host.sub.shop.example', 'A', '+norec');
    expect(r.status).toBe('NOERROR');
    expect(r.flags).not.toContain('aa');
    expect(r.answer).toEqual([]);
    expect(r.authority).toEqual(['sub.shop.example. 3600 IN NS ns.sub.shop.example.']);
    expect(r.additional).toContain('ns.sub.shop.example. 3600 IN A 192.0.2.53');
  });

  it('ANY is minimal (RFC 8482): one RRset', async () => {
    const r = await dig('shop.example', 'ANY');
    expect(r.status).toBe('NOERROR');
    const types = new Set(r.answer.map((l) => l.split(' ')[3]));
    expect(types.size).toBe(1);
  });

  it('+bufsize=512 truncates with TC and whole RRsets; +tcp gets everything', async () => {
    const udp = await dig('big.shop.example', 'TXT', '+bufsize=512', '+ignore');
    expect(udp.flags).toContain('tc');
    expect(udp.answer.length).toBeLessThan(12);
    const tcp = await dig('big.shop.example', 'TXT', '+tcp');
    expect(tcp.flags).not.toContain('tc');
    expect(tcp.answer).toHaveLength(12);
    const retried = await dig('big.shop.example', 'TXT', '+bufsize=512');
    expect(retried.answer).toHaveLength(12); // dig retries over TCP by itself
  });

  it('EDNS: OPT echoed with our payload size; BADVERS for version 1', async () => {
    const r = await dig('shop.example', 'SOA');
    expect(r.raw).toMatch(/EDNS: version: 0, flags:; udp: 1232/);
    const bad = await dig('shop.example', 'SOA', '+edns=1', '+noednsnegotiation');
    expect(bad.status).toBe('BADVERS');
  });

  it('AXFR is refused by default; CH and unknown opcodes are refused or not implemented', async () => {
    const axfr = await execFileP('dig', [
      '@127.0.0.1',
      '-p',
      String(server.dnsPort),
      'shop.example',
      'AXFR',
      '+tries=1',
      '+time=3',
    ]);
    expect(axfr.stdout).toContain('Transfer failed');
    expect((await dig('version.bind', 'TXT', 'CH')).status).toBe('REFUSED');
    expect((await dig('shop.example', 'SOA', '+opcode=2')).status).toBe('NOTIMP');
  });
});
