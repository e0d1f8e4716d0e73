// Interop end to end: the real `vpsdns serve` (built dist/) as primary, a real NSD and a real Knot as
// secondaries on loopback ports. They pull the fixture zone by AXFR, get NOTIFY after API changes,
// pick the changes up (IXFR), and answer a corpus of queries as vpsdns does. Then with TSIG required:
// unsigned transfers refused, NSD with the key pulls and follows changes. Measures API 2xx -> secondary.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decode, loadFixture, section } from '../dns/helpers.js';
import { loopbackServe, type ServeProcess, spawnServe } from '../helpers/cli.js';
import { freePort, KEY_ARG, rcodeOf, SECRET, tcpExchange, xfrQuery } from './helpers.js';
import { type Secondary, startKnot, startNsd } from './secondaries.js';

const ZONE = 'example.com';

/** Queries compared between vpsdns and each secondary (over TCP, so no truncation differences). */
const CORPUS: Array<[string, string]> = [
  ['example.com', 'SOA'],
  ['example.com', 'NS'],
  ['example.com', 'A'],
  ['example.com', 'AAAA'],
  ['example.com', 'MX'],
  ['example.com', 'TXT'],
  ['example.com', 'CAA'],
  ['www.example.com', 'A'],
  ['www.example.com', 'AAAA'],
  ['mail.example.com', 'A'],
  ['_sip._tcp.example.com', 'SRV'],
  ['nullmx.example.com', 'MX'],
  ['long.example.com', 'TXT'],
  ['big.example.com', 'TXT'],
  ['huge.example.com', 'TXT'],
  ['sel._domainkey.example.com', 'TXT'],
  ['a.b.c.example.com', 'A'],
  ['www.example.com', 'MX'],
  ['b.c.example.com', 'A'],
  ['nothere.example.com', 'A'],
  ['x.a.b.c.example.com', 'A'],
  ['alias.example.com', 'A'],
  ['alias.example.com', 'CNAME'],
  ['chain1.example.com', 'A'],
  ['dangling.example.com', 'A'],
  ['x.wild.example.com', 'A'],
  ['y.x.wild.example.com', 'TXT'],
  ['exists.wild.example.com', 'A'],
  ['exists.wild.example.com', 'TXT'],
  ['foo.cw.example.com', 'A'],
  ['sub.example.com', 'NS'],
  ['www.sub.example.com', 'A'],
  ['ns1.sub.example.com', 'A'],
];

interface Api {
  base: string;
  token: string;
  zone: string;
}

async function api(a: Api, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${a.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${a.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function ask(port: number, name: string, type: string): Promise<Buffer> {
  const q = dnsPacket.encode({
    type: 'query',
    id: 4321,
    flags: 0,
    questions: [{ name, type: type as dnsPacket.RecordType, class: 'IN' }],
  });
  const [r] = await tcpExchange(port, q, 1);
  return r;
}

/** rcode, AA, answer and authority as sets (additional left out: NSD and vpsdns differ there on purpose). */
async function summary(port: number, name: string, type: string): Promise<string> {
  const p = decode(await ask(port, name, type));
  return JSON.stringify({
    rcode: p.rcode,
    aa: ((p.flags ?? 0) & 0x400) !== 0,
    answer: section(p.answers),
    authority: section(p.authorities),
  });
}

async function corpusDiffs(primary: number, secondary: number): Promise<string[]> {
  const diffs: string[] = [];
  for (const [name, type] of CORPUS) {
    const ours = await summary(primary, name, type);
    const theirs = await summary(secondary, name, type);
    if (ours !== theirs) diffs.push(`${name} ${type}\n  vpsdns: ${ours}\n  secondary: ${theirs}`);
  }
  return diffs;
}

async function soaSerialAt(port: number): Promise<number | null> {
  try {
    const p = decode(await ask(port, ZONE, 'SOA'));
    const soa = p.answers?.find((a) => a.type === 'SOA') as { data: { serial: number } } | undefined;
    return soa ? soa.data.serial : null;
  } catch {
    return null;
  }
}

/** Poll (every 10 ms, bounded) until `check` holds; returns the ms it took. */
async function until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<number> {
  const start = performance.now();
  for (;;) {
    // A secondary reloading a zone may reset a connection now and then: that is "not yet", not a failure.
    if (await check().catch(() => false)) return performance.now() - start;
    if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function setupPrimary(args: string[]): Promise<{ serve: ServeProcess; api: Api; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vpsdns-xfr-e2e-'));
  const serve = await spawnServe([...loopbackServe(dir), ...args]);
  const token = serve.output().match(/vps_[A-Za-z0-9]+/)![0];
  const a: Api = { base: `http://127.0.0.1:${serve.apiPort}`, token, zone: '' };
  const z = await api(a, 'POST', '/api/v1/dns-zones/', { domain: ZONE });
  expect(z.status).toBe(201);
  a.zone = z.body.uuid;
  for (const r of loadFixture().records) {
    const res = await api(a, 'POST', `/api/v1/dns-zones/${a.zone}/records/`, r);
    expect(res.status).toBe(201);
  }
  return { serve, api: a, dir };
}

const delays: string[] = [];
afterAll(() => {
  if (delays.length > 0) console.log(`API 2xx -> secondary answers the change:\n  ${delays.join('\n  ')}`);
});

describe('NSD and Knot as secondaries of vpsdns', () => {
  let serve: ServeProcess;
  let a: Api;
  let dir: string;
  let secondaries: Secondary[] = [];

  beforeAll(async () => {
    const nsdPort = await freePort();
    const knotPort = await freePort();
    ({
      serve,
      api: a,
      dir,
    } = await setupPrimary(['--xfr-allow', '127.0.0.1', '--notify', `127.0.0.1:${nsdPort},127.0.0.1:${knotPort}`]));
    const o = { zone: ZONE, primaryPort: serve.dnsPort };
    secondaries = [startNsd({ ...o, port: nsdPort }), startKnot({ ...o, port: knotPort })];
    const serial = await soaSerialAt(serve.dnsPort);
    for (const s of secondaries) {
      await until(async () => (await soaSerialAt(s.port)) === serial, `${s.name} to load the zone`).catch((err) => {
        throw new Error(`${err.message}\n${s.log()}`);
      });
    }
  }, 60_000);

  afterAll(async () => {
    if (process.env.XFR_DEBUG) {
      console.log(
        serve
          .output()
          .split('\n')
          .filter((l) => /NOTIFY|XFR/.test(l))
          .join('\n'),
      );
      for (const s of secondaries) console.log(s.log());
    }
    for (const s of secondaries) await s.stop();
    await serve?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('after the first transfer both answer the corpus as vpsdns does', async () => {
    for (const s of secondaries) expect(await corpusDiffs(serve.dnsPort, s.port), s.name).toEqual([]);
  });

  test('API changes reach both secondaries by NOTIFY + IXFR within seconds', async () => {
    for (let round = 0; round < 3; round++) {
      const name = `change${round}`;
      const value = `198.51.100.${10 + round}`;
      const started = performance.now();
      const res = await api(a, 'POST', `/api/v1/dns-zones/${a.zone}/records/`, {
        name,
        record_type: 'A',
        value,
        ttl: 300,
      });
      expect(res.status).toBe(201);
      const apiDone = performance.now();
      await Promise.all(
        secondaries.map(async (s) => {
          const waited = await until(async () => {
            const p = decode(await ask(s.port, `${name}.${ZONE}`, 'A'));
            return (p.answers ?? []).some((rr) => rr.type === 'A' && rr.data === value);
          }, `${s.name} to answer ${name}`);
          delays.push(
            `${s.name} round ${round}: ${Math.round(waited)} ms after the 2xx (${Math.round(apiDone - started)} ms API call)`,
          );
        }),
      );
    }
    // Update and delete too, then the corpus again.
    const list = await api(a, 'GET', `/api/v1/dns-zones/${a.zone}/records/?record_type=A`);
    const www = list.body.find((r: any) => r.name === 'www');
    expect((await api(a, 'PATCH', `/api/v1/dns-records/${www.uuid}/`, { value: '192.0.2.200' })).status).toBe(200);
    const mail = list.body.find((r: any) => r.name === 'mail');
    expect((await api(a, 'DELETE', `/api/v1/dns-records/${mail.uuid}/`)).status).toBe(204);
    const serial = await soaSerialAt(serve.dnsPort);
    for (const s of secondaries) {
      await until(async () => (await soaSerialAt(s.port)) === serial, `${s.name} to reach serial ${serial}`);
      expect(await corpusDiffs(serve.dnsPort, s.port), s.name).toEqual([]);
    }
    // The secondaries pulled the changes incrementally.
    await until(async () => /"incremental":true.*"msg":"IXFR"/.test(serve.output()), 'an incremental IXFR in the log');
  }, 60_000);
});

describe('with TSIG required', () => {
  let serve: ServeProcess;
  let a: Api;
  let dir: string;
  let nsd: Secondary;

  beforeAll(async () => {
    const nsdPort = await freePort();
    ({
      serve,
      api: a,
      dir,
    } = await setupPrimary([
      '--xfr-allow',
      'transfer-key',
      '--tsig-key',
      KEY_ARG,
      '--notify',
      `127.0.0.1:${nsdPort}@transfer-key`,
    ]));
    nsd = startNsd({
      zone: ZONE,
      port: nsdPort,
      primaryPort: serve.dnsPort,
      key: { name: 'transfer-key', algorithm: 'hmac-sha256', secret: SECRET },
    });
    const serial = await soaSerialAt(serve.dnsPort);
    await until(async () => (await soaSerialAt(nsdPort)) === serial, 'NSD to load the zone with TSIG').catch((err) => {
      throw new Error(`${err.message}\n${nsd.log()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await nsd?.stop();
    await serve?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an unsigned AXFR or IXFR is refused', async () => {
    const [axfr] = await tcpExchange(serve.dnsPort, xfrQuery({ type: 'AXFR' }));
    expect(rcodeOf(axfr)).toBe('REFUSED');
    const [ixfr] = await tcpExchange(serve.dnsPort, xfrQuery({ type: 'IXFR', serial: 1 }));
    expect(rcodeOf(ixfr)).toBe('REFUSED');
  });

  test('NSD with the key pulled the zone and follows signed NOTIFY + IXFR', async () => {
    expect(await corpusDiffs(serve.dnsPort, nsd.port)).toEqual([]);
    const res = await api(a, 'POST', `/api/v1/dns-zones/${a.zone}/records/`, {
      name: 'signed',
      record_type: 'TXT',
      value: 'pulled with TSIG',
      ttl: 300,
    });
    expect(res.status).toBe(201);
    const waited = await until(async () => {
      const p = decode(await ask(nsd.port, `signed.${ZONE}`, 'TXT'));
      return (p.answers ?? []).length === 1;
    }, 'NSD to answer the signed change');
    delays.push(`nsd with TSIG: ${Math.round(waited)} ms after the 2xx`);
  });
});
