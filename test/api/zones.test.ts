import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordObject } from '../../src/api/present.js';
import { Store } from '../../src/store/store.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';

let srv: TestServer;
let token: string;

beforeAll(async () => {
  srv = await startTestServer();
  token = srv.token();
});
afterAll(() => srv.close());

const createZone = (domain: unknown, t = token) =>
  srv.request('POST', '/api/v1/dns-zones/', { token: t, body: { domain } });

describe('zones', () => {
  it('lists no zones at first, as a bare array', async () => {
    const res = await srv.request('GET', '/api/v1/dns-zones/', { token: srv.token(['dns:list'], 'empty-account') });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
    expect(res.headers.get('x-total-count')).toBe('0');
  });

  it('creates a zone: 201 with the reference shape, record_count 0 and records []', async () => {
    const res = await createZone('newdomain.com');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ domain: 'newdomain.com', record_count: 0, records: [] });
    expect(res.body.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('normalises case, a trailing dot and IDN (stored as punycode)', async () => {
    expect((await createZone('MiXeD.Example.')).body.domain).toBe('mixed.example');
    expect((await createZone('bücher.example')).body.domain).toBe('xn--bcher-kva.example');
  });

  it.each([
    ['com', 'top-level'],
    ['', 'empty'],
    ['-bad.example', 'invalid label'],
    ['bad-.example', 'invalid label'],
    ['a..example', 'empty label'],
    [`${'a'.repeat(64)}.example`, 'longer than 63'],
    [`${'abcdefghi.'.repeat(26)}com`, 'longer than 253'],
    ['under_score.example', 'invalid label'],
    ['192.168.1.1', 'numeric'],
    ['space here.example', 'whitespace'],
  ])('rejects invalid domain %j with a 400 on domain', async (domain, detailPart) => {
    const res = await createZone(domain);
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('validation_error');
    expect(res.body.field).toBe('domain');
    expect(res.body.detail.toLowerCase()).toContain(detailPart.toLowerCase());
  });

  it('rejects a missing or non-string domain', async () => {
    const missing = await srv.request('POST', '/api/v1/dns-zones/', { token, body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ detail: 'domain is required', error_code: 'validation_error', field: 'domain' });
    expect((await createZone(42)).body.field).toBe('domain');
  });

  it('rejects a zone that already exists, for this account or another', async () => {
    await createZone('taken.example');
    const again = await createZone('TAKEN.example');
    expect(again.status).toBe(400);
    expect(again.body.detail).toContain('already exists');
    const other = await createZone('taken.example', srv.token(['dns:*'], 'bob'));
    expect(other.status).toBe(400);
  });

  it("rejects a child or parent of another account's zone, allows one's own", async () => {
    await createZone('parent.example');
    const bob = srv.token(['dns:*'], 'bob');
    const child = await createZone('sub.parent.example', bob);
    expect(child.status).toBe(400);
    expect(child.body.detail).toContain('another account');
    const parentOfOther = await createZone('example', bob); // bare TLD anyway
    expect(parentOfOther.status).toBe(400);
    await createZone('deep.child.example', bob);
    const parent = await createZone('child.example');
    expect(parent.status).toBe(400);
    expect(parent.body.detail).toContain('another account');
    expect((await createZone('own.parent.example')).status).toBe(201);
  });

  it('gets one zone with all its records, and 404 for unknown uuids', async () => {
    const zone = (await createZone('withrecords.example')).body;
    await srv.request('POST', `/api/v1/dns-zones/${zone.uuid}/records/`, {
      token,
      body: { record_type: 'A', name: 'www', value: '192.0.2.1' },
    });
    const res = await srv.request('GET', `/api/v1/dns-zones/${zone.uuid}/`, { token });
    expect(res.status).toBe(200);
    expect(res.body.record_count).toBe(1);
    expect(res.body.records).toHaveLength(1);
    expect(res.body.records[0]).toMatchObject({
      record_type: 'A',
      name: 'www',
      value: '192.0.2.1',
      ttl: 3600,
      priority: null,
    });
    const missing = await srv.request('GET', '/api/v1/dns-zones/00000000-0000-0000-0000-000000000000/', { token });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ detail: 'Zone not found', error_code: 'not_found', field: null });
  });

  it('filters the list by exact domain', async () => {
    await createZone('filter-me.example');
    const res = await srv.request('GET', '/api/v1/dns-zones/?domain=filter-me.example', { token });
    expect(res.body.map((z: { domain: string }) => z.domain)).toEqual(['filter-me.example']);
    const none = await srv.request('GET', '/api/v1/dns-zones/?domain=filter', { token });
    expect(none.body).toEqual([]);
  });

  it('paginates with page/page_size, X-Total-Count and Link', async () => {
    const t = srv.token(['dns:*'], 'pager');
    for (let i = 0; i < 5; i++) await createZone(`page${i}.example`, t);
    const first = await srv.request('GET', '/api/v1/dns-zones/?page_size=2', { token: t });
    expect(first.body.map((z: { domain: string }) => z.domain)).toEqual(['page0.example', 'page1.example']);
    expect(first.headers.get('x-total-count')).toBe('5');
    expect(first.headers.get('link')).toContain('page=2');
    expect(first.headers.get('link')).toContain('rel="next"');
    const last = await srv.request('GET', '/api/v1/dns-zones/?page_size=2&page=3', { token: t });
    expect(last.body.map((z: { domain: string }) => z.domain)).toEqual(['page4.example']);
    expect(last.headers.get('link')).toContain('rel="prev"');
    expect(last.headers.get('link')).not.toContain('rel="next"');
    const bad = await srv.request('GET', '/api/v1/dns-zones/?page_size=1001', { token: t });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('page_size');
    expect((await srv.request('GET', '/api/v1/dns-zones/?page=0', { token: t })).body.field).toBe('page');
  });

  it('deletes a zone and its records: 204, then 404', async () => {
    const zone = (await createZone('delete-me.example')).body;
    const rec = await srv.request('POST', `/api/v1/dns-zones/${zone.uuid}/records/`, {
      token,
      body: { record_type: 'TXT', name: '@', value: 'bye' },
    });
    const del = await srv.request('DELETE', `/api/v1/dns-zones/${zone.uuid}/`, { token });
    expect(del.status).toBe(204);
    expect(del.body).toBeNull();
    expect((await srv.request('GET', `/api/v1/dns-zones/${zone.uuid}/`, { token })).status).toBe(404);
    expect((await srv.request('GET', `/api/v1/dns-records/${rec.body.uuid}/`, { token })).status).toBe(404);
    expect((await srv.request('DELETE', `/api/v1/dns-zones/${zone.uuid}/`, { token })).status).toBe(404);
    // The name is free again.
    expect((await createZone('delete-me.example')).status).toBe(201);
  });

  it('accepts every path without the final slash too', async () => {
    const created = await srv.request('POST', '/api/v1/dns-zones', { token, body: { domain: 'noslash.example' } });
    expect(created.status).toBe(201);
    expect((await srv.request('GET', `/api/v1/dns-zones/${created.body.uuid}`, { token })).status).toBe(200);
    expect((await srv.request('GET', `/api/v1/dns-zones/${created.body.uuid}/records`, { token })).status).toBe(200);
  });
});

describe('serials, journal and change events', () => {
  it('bumps the serial (YYYYMMDDnn) and journals every change, announcing each after commit', async () => {
    const events: Array<{ serial: number; deleted: boolean }> = [];
    const listener = (c: { serial: number; deleted: boolean }) => events.push(c);
    srv.store.events.on('zoneChanged', listener);
    const zone = (await createZone('serial.example')).body;
    const row = srv.store.getZoneByDomain('serial.example')!;
    const today = Number(new Date().toISOString().slice(0, 10).replaceAll('-', '')) * 100;
    expect(row.serial).toBeGreaterThanOrEqual(today);
    const rec = await srv.request('POST', `/api/v1/dns-zones/${zone.uuid}/records/`, {
      token,
      body: { record_type: 'A', name: 'a', value: '192.0.2.7' },
    });
    await srv.request('PATCH', `/api/v1/dns-records/${rec.body.uuid}/`, { token, body: { ttl: 600 } });
    await srv.request('DELETE', `/api/v1/dns-records/${rec.body.uuid}/`, { token });
    srv.store.events.off('zoneChanged', listener);
    const serials = events.map((e) => e.serial);
    expect(serials).toHaveLength(4);
    for (let i = 1; i < serials.length; i++) expect(serials[i]).toBe(serials[i - 1] + 1);
    expect(srv.store.getZoneByDomain('serial.example')!.serial).toBe(serials[3]);
    const journal = srv.store.journalSince(row.id, row.serial)!;
    expect(journal.map((j) => `${j.op} ${j.name} ${j.type} ${j.ttl}`)).toEqual([
      'add a A 3600',
      'del a A 3600',
      'add a A 600',
      'del a A 600',
    ]);
  });
});

describe('zone representation versions', () => {
  it('GET carries the serial as ETag; If-None-Match gives 304 until the zone changes', async () => {
    const z = (await createZone('etag.example')).body;
    const first = await srv.request('GET', `/api/v1/dns-zones/${z.uuid}/`, { token });
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"\d{10}"$/);
    const same = await srv.request('GET', `/api/v1/dns-zones/${z.uuid}/`, {
      token,
      headers: { 'if-none-match': etag },
    });
    expect(same.status).toBe(304);
    await srv.request('POST', `/api/v1/dns-zones/${z.uuid}/records/`, {
      token,
      body: { record_type: 'A', name: 'x', value: '192.0.2.1' },
    });
    const changed = await srv.request('GET', `/api/v1/dns-zones/${z.uuid}/`, {
      token,
      headers: { 'if-none-match': etag },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.records).toHaveLength(1);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  it('a big zone is streamed from one snapshot: same body as a small one, then served from the cache', async () => {
    const z = (await createZone('big-stream.example')).body;
    const zone = srv.store.getZoneByDomain('big-stream.example')!;
    const records = Array.from({ length: 12_345 }, (_, i) => ({
      type: 'TXT' as const,
      name: `n${i}`,
      value: i % 2 ? 'say "hi" \\ there' : 'plain',
      ttl: 3600,
      priority: null,
    }));
    srv.store.importRecords(zone, records, false);
    const streamed = await srv.request('GET', `/api/v1/dns-zones/${z.uuid}/`, { token });
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('content-type')).toMatch(/^application\/json/);
    expect(streamed.body).toMatchObject({ uuid: z.uuid, domain: 'big-stream.example', record_count: 12_345 });
    expect(streamed.body.records).toEqual(srv.store.zoneRecords(zone.id).map((r) => recordObject(r, z.uuid)));
    expect(streamed.headers.get('etag')).toBe(`"${srv.store.getZoneByDomain('big-stream.example')!.serial}"`);
    const cached = await srv.request('GET', `/api/v1/dns-zones/${z.uuid}/`, { token });
    expect(cached.body).toEqual(streamed.body);
    expect(cached.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Number(cached.headers.get('content-length'))).toBe(Buffer.byteLength(JSON.stringify(cached.body)));
    // A change gives a new serial: the cached copy is not served any more.
    const added = await srv.request('POST', `/api/v1/dns-zones/${z.uuid}/records/`, {
      token,
      body: { record_type: 'A', name: 'after-cache', value: '192.0.2.7' },
    });
    expect(added.status).toBe(201);
    const fresh = await srv.request('GET', `/api/v1/dns-zones/${z.uuid}/`, { token });
    expect(fresh.body.record_count).toBe(12_346);
    expect(fresh.body.records.at(-1)).toEqual(added.body);
  });

  it('a cached big zone follows every change: each GET is the zone as stored, rebuilt only when it cannot follow', async () => {
    const z = (await createZone('big-follow.example')).body;
    const zone = srv.store.getZoneByDomain('big-follow.example')!;
    srv.store.importRecords(
      zone,
      Array.from({ length: 11_000 }, (_, i) => ({
        type: 'A' as const,
        name: `h${i}`,
        value: `10.0.${i >> 8}.${i & 255}`,
        ttl: 3600,
        priority: null,
      })),
      false,
    );
    const store = srv.store;
    const fullBuilds = { n: 0 };
    const reader = store.zoneJsonReader.bind(store);
    store.zoneJsonReader = (...args) => {
      fullBuilds.n++;
      return reader(...args);
    };
    const check = async (step: string) => {
      const res = await srv.request('GET', `/api/v1/dns-zones/${z.uuid}/`, { token });
      const stored = store.zoneRecords(zone.id).map((r) => recordObject(r, z.uuid));
      expect(res.status, step).toBe(200);
      expect(res.body.record_count, step).toBe(stored.length);
      expect(res.body.records, step).toEqual(stored);
      expect(res.headers.get('etag'), step).toBe(`"${store.getZoneByDomain('big-follow.example')!.serial}"`);
      const length = res.headers.get('content-length');
      if (length !== null) expect(Number(length), step).toBe(Buffer.byteLength(JSON.stringify(res.body)));
    };
    await check('first GET');
    expect(fullBuilds.n).toBe(1);
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let step = 0; step < 20; step++) {
      const ids = store.zoneRecords(zone.id);
      const pick = ids[rand(ids.length)];
      const op = rand(4);
      if (op === 0) {
        const res = await srv.request('POST', `/api/v1/dns-zones/${z.uuid}/records/`, {
          token,
          body: { record_type: 'TXT', name: `added${step}`, value: `step ${step}` },
        });
        expect(res.status).toBe(201);
      } else if (op === 1) {
        const res = await srv.request('PATCH', `/api/v1/dns-records/${pick.uuid}/`, {
          token,
          body: { ttl: 600 + step },
        });
        expect(res.status).toBe(200);
      } else {
        const res = await srv.request('DELETE', `/api/v1/dns-records/${pick.uuid}/`, { token });
        expect(res.status).toBe(204);
      }
      // Sometimes two changes before one GET.
      if (rand(3) === 0) continue;
      await check(`step ${step}`);
    }
    expect(fullBuilds.n).toBe(1);
    // A change by another process (the CLI): not followable, so the next GET builds it all again.
    const other = new Store(store.db.name);
    try {
      other.createRecord(other.getZone(zone.account_id, z.uuid), {
        type: 'A',
        name: 'from-cli',
        value: '192.0.2.200',
        ttl: 300,
        priority: null,
      });
    } finally {
      other.close();
    }
    store.checkExternalChanges();
    await check('after another process');
    expect(fullBuilds.n).toBe(2);
    // And an API write right after that still follows.
    await srv.request('POST', `/api/v1/dns-zones/${z.uuid}/records/`, {
      token,
      body: { record_type: 'A', name: 'after-cli', value: '192.0.2.201' },
    });
    await check('after the API again');
    expect(fullBuilds.n).toBe(2);
    store.zoneJsonReader = reader;
  });
});
