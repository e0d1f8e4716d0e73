import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/api-server.js';

let srv: TestServer;
let token: string;
let zone: { uuid: string; domain: string };

beforeAll(async () => {
  srv = await startTestServer();
  token = srv.token();
  zone = (await srv.request('POST', '/api/v1/dns-zones/', { token, body: { domain: 'example.com' } })).body;
});
afterAll(() => srv.close());

const add = (body: Record<string, unknown>, z = zone.uuid) =>
  srv.request('POST', `/api/v1/dns-zones/${z}/records/`, { token, body });

describe('record creation: every type in the reference table', () => {
  it.each([
    [
      { record_type: 'A', name: '@', value: '192.0.2.1' },
      { value: '192.0.2.1', priority: null },
    ],
    [{ record_type: 'AAAA', name: 'v6', value: '2001:0db8::1' }, { value: '2001:db8::1' }],
    [{ record_type: 'CNAME', name: 'www', value: 'example.com' }, { value: 'example.com' }],
    [
      { record_type: 'MX', name: '@', value: 'mail.example.com', priority: 10 },
      { priority: 10, value: 'mail.example.com' },
    ],
    [
      { record_type: 'TXT', name: '@', value: 'v=spf1 include:_spf.google.com ~all' },
      { value: 'v=spf1 include:_spf.google.com ~all' },
    ],
    [{ record_type: 'NS', name: 'sub', value: 'ns1.example.com' }, { value: 'ns1.example.com' }],
    [
      { record_type: 'SRV', name: '_sip._tcp', value: '10 5060 sip.example.com', priority: 10 },
      { value: '10 5060 sip.example.com', priority: 10 },
    ],
    [{ record_type: 'CAA', name: '@', value: '0 issue "letsencrypt.org"' }, { value: '0 issue "letsencrypt.org"' }],
  ])('%j → 201', async (body, expected) => {
    const res = await add(body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ record_type: body.record_type, ttl: 3600, zone: zone.uuid, ...expected });
    expect(res.body.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.created_at).toMatch(/Z$/);
  });

  it('normalises names: FQDN inside the zone made relative, lower case, trailing dots dropped from hostnames', async () => {
    const fqdn = await add({ record_type: 'A', name: 'Host1.Example.com.', value: '192.0.2.5' });
    expect(fqdn.body.name).toBe('host1');
    const noDot = await add({ record_type: 'A', name: 'host2.example.com', value: '192.0.2.5' });
    expect(noDot.body.name).toBe('host2');
    const apex = await add({ record_type: 'TXT', name: 'example.com.', value: 'apex' });
    expect(apex.body.name).toBe('@');
    const mx = await add({ record_type: 'MX', name: 'm', value: 'Mail.Example.NET.', priority: 5 });
    expect(mx.body.value).toBe('mail.example.net');
    const wild = await add({ record_type: 'A', name: '*.dyn', value: '192.0.2.9' });
    expect(wild.body.name).toBe('*.dyn');
    const idn = await add({ record_type: 'CNAME', name: 'idn', value: 'bücher.example' });
    expect(idn.body.value).toBe('xn--bcher-kva.example');
  });

  it('takes the ttl given, and a TXT value in quotes without the quotes', async () => {
    const res = await add({ record_type: 'TXT', name: 'quoted', value: '"hello world"', ttl: 300 });
    expect(res.body).toMatchObject({ value: 'hello world', ttl: 300 });
    const long = 'x'.repeat(600);
    expect((await add({ record_type: 'TXT', name: 'long', value: long })).body.value).toBe(long);
  });
});

describe('record validation: 400 with {detail, error_code, field}', () => {
  it('MX without priority: the reference example error', async () => {
    const res = await add({ record_type: 'MX', name: '@', value: 'mail2.example.com' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      detail: 'MX records require a priority value',
      error_code: 'validation_error',
      field: 'priority',
    });
  });

  it.each([
    [{ name: 'x', value: '192.0.2.1' }, 'record_type'],
    [{ record_type: 'A', value: '192.0.2.1' }, 'name'],
    [{ record_type: 'A', name: 'x' }, 'value'],
    [{ record_type: 'PTR', name: 'x', value: 'a.example' }, 'record_type'],
    [{ record_type: 'A', name: 'x', value: '192.0.2.256' }, 'value'],
    [{ record_type: 'A', name: 'x', value: '2001:db8::1' }, 'value'],
    [{ record_type: 'A', name: 'x', value: '01.2.3.4' }, 'value'],
    [{ record_type: 'AAAA', name: 'x', value: '192.0.2.1' }, 'value'],
    [{ record_type: 'AAAA', name: 'x', value: '2001:db8:::1' }, 'value'],
    [{ record_type: 'CNAME', name: 'x', value: 'bad_host..example' }, 'value'],
    [{ record_type: 'CNAME', name: 'x', value: 'localhost' }, 'value'],
    [{ record_type: 'NS', name: 'x', value: '-ns.example.com' }, 'value'],
    [{ record_type: 'MX', name: 'x', value: 'mail.example.com', priority: 70000 }, 'priority'],
    [{ record_type: 'MX', name: 'x', value: 'mail.example.com', priority: -1 }, 'priority'],
    [{ record_type: 'MX', name: 'x', value: 'mail.example.com', priority: '10' }, 'priority'],
    [{ record_type: 'SRV', name: '_x._tcp', value: '10 5060 sip.example.com' }, 'priority'],
    [{ record_type: 'SRV', name: '_x._tcp', value: '10 sip.example.com', priority: 1 }, 'value'],
    [{ record_type: 'SRV', name: '_x._tcp', value: '10 70000 sip.example.com', priority: 1 }, 'value'],
    [{ record_type: 'SRV', name: '_x._tcp', value: 'a b c', priority: 1 }, 'value'],
    [{ record_type: 'CAA', name: '@', value: '0 badtag "x"' }, 'value'],
    [{ record_type: 'CAA', name: '@', value: '256 issue "letsencrypt.org"' }, 'value'],
    [{ record_type: 'CAA', name: '@', value: '0 iodef "not a url"' }, 'value'],
    [{ record_type: 'CAA', name: '@', value: 'issue' }, 'value'],
    [{ record_type: 'TXT', name: 'x', value: 'line\nbreak' }, 'value'],
    [{ record_type: 'TXT', name: 'x', value: '' }, 'value'],
    [{ record_type: 'TXT', name: 'x', value: 'x'.repeat(4001) }, 'value'],
    [{ record_type: 'A', name: 'x', value: '192.0.2.1', priority: 5 }, 'priority'],
    [{ record_type: 'A', name: 'x', value: '192.0.2.1', ttl: 59 }, 'ttl'],
    [{ record_type: 'A', name: 'x', value: '192.0.2.1', ttl: 2147483648 }, 'ttl'],
    [{ record_type: 'A', name: 'x', value: '192.0.2.1', ttl: 1.5 }, 'ttl'],
    [{ record_type: 'A', name: 'x', value: '192.0.2.1', ttl: '3600' }, 'ttl'],
    [{ record_type: 'A', name: 'www.other.org.', value: '192.0.2.1' }, 'name'],
    [{ record_type: 'A', name: 'a..b', value: '192.0.2.1' }, 'name'],
    [{ record_type: 'A', name: `${'a'.repeat(64)}`, value: '192.0.2.1' }, 'name'],
    [{ record_type: 'A', name: 'a.*', value: '192.0.2.1' }, 'name'],
    [{ record_type: 'A', name: 'sp ace', value: '192.0.2.1' }, 'name'],
    [{ record_type: 'A', name: `${'abcdefghij.'.repeat(22)}x`, value: '192.0.2.1' }, 'name'],
    [{ record_type: 'CNAME', name: '@', value: 'other.example.org' }, 'name'],
    [{ record_type: 'A', name: 12, value: '192.0.2.1' }, 'name'],
  ])('%j → 400 on %s', async (body, field) => {
    const res = await add(body);
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('validation_error');
    expect(res.body.field).toBe(field);
    expect(typeof res.body.detail).toBe('string');
  });

  it('accepts the TTL bounds: the configured minimum (60) and 2^31-1', async () => {
    expect((await add({ record_type: 'A', name: 'ttlmin', value: '192.0.2.1', ttl: 60 })).status).toBe(201);
    expect((await add({ record_type: 'A', name: 'ttlmax', value: '192.0.2.1', ttl: 2147483647 })).status).toBe(201);
  });

  it('keeps CNAME alone at its name, in both directions', async () => {
    expect((await add({ record_type: 'A', name: 'busy', value: '192.0.2.1' })).status).toBe(201);
    const cname = await add({ record_type: 'CNAME', name: 'busy', value: 'target.example.com' });
    expect(cname.status).toBe(400);
    expect(cname.body.field).toBe('name');
    expect((await add({ record_type: 'CNAME', name: 'alias', value: 'target.example.com' })).status).toBe(201);
    const other = await add({ record_type: 'TXT', name: 'alias', value: 'no' });
    expect(other.status).toBe(400);
    expect(other.body.detail).toContain('CNAME');
    const second = await add({ record_type: 'CNAME', name: 'alias', value: 'another.example.com' });
    expect(second.status).toBe(400);
  });

  it('rejects a duplicate (same name, type and value)', async () => {
    expect((await add({ record_type: 'A', name: 'dup', value: '192.0.2.1' })).status).toBe(201);
    const dup = await add({ record_type: 'A', name: 'DUP.example.com', value: '192.0.2.1', ttl: 120 });
    expect(dup.status).toBe(400);
    expect(dup.body.detail).toContain('identical');
    expect((await add({ record_type: 'A', name: 'dup', value: '192.0.2.2' })).status).toBe(201);
  });

  it('loses nothing on a rejected write', async () => {
    const before = (await srv.request('GET', `/api/v1/dns-zones/${zone.uuid}/`, { token })).body;
    await add({ record_type: 'MX', name: '@', value: 'x.example.com' });
    const after = (await srv.request('GET', `/api/v1/dns-zones/${zone.uuid}/`, { token })).body;
    expect(after).toEqual(before);
    expect(srv.store.getZoneByDomain('example.com')!.serial).toBeGreaterThan(0);
  });
});

describe('records by uuid and the direct list', () => {
  it('GET, PUT, PATCH, DELETE one record', async () => {
    const created = (await add({ record_type: 'A', name: 'edit', value: '192.0.2.10', ttl: 300 })).body;
    const path = `/api/v1/dns-records/${created.uuid}/`;
    expect((await srv.request('GET', path, { token })).body).toEqual(created);

    const patched = await srv.request('PATCH', path, { token, body: { ttl: 1800 } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ uuid: created.uuid, value: '192.0.2.10', ttl: 1800 });

    const put = await srv.request('PUT', path, {
      token,
      body: { record_type: 'MX', name: 'edit', value: 'mx.example.com', priority: 20 },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ uuid: created.uuid, record_type: 'MX', priority: 20, ttl: 3600 });

    const badPut = await srv.request('PUT', path, { token, body: { ttl: 60 } });
    expect(badPut.status).toBe(400);
    expect(badPut.body.field).toBe('record_type');

    const badPatch = await srv.request('PATCH', path, { token, body: { priority: null } });
    expect(badPatch.status).toBe(400);
    expect(badPatch.body.field).toBe('priority');
    // A change of type away from MX drops the priority the caller did not mention.
    const retyped = await srv.request('PATCH', path, {
      token,
      body: { record_type: 'CNAME', value: 'target.example.org' },
    });
    expect(retyped.body).toMatchObject({ record_type: 'CNAME', priority: null });

    expect((await srv.request('DELETE', path, { token })).status).toBe(204);
    expect((await srv.request('GET', path, { token })).status).toBe(404);
    expect((await srv.request('PATCH', path, { token, body: { ttl: 60 } })).status).toBe(404);
    expect((await srv.request('DELETE', path, { token })).status).toBe(404);
  });

  it('PATCH into a conflict is refused and changes nothing', async () => {
    await add({ record_type: 'A', name: 'c1', value: '192.0.2.1' });
    const b = (await add({ record_type: 'A', name: 'c2', value: '192.0.2.1' })).body;
    const res = await srv.request('PATCH', `/api/v1/dns-records/${b.uuid}/`, { token, body: { name: 'c1' } });
    expect(res.status).toBe(400);
    expect((await srv.request('GET', `/api/v1/dns-records/${b.uuid}/`, { token })).body.name).toBe('c2');
  });

  it('lists records across zones with zone and record_type filters', async () => {
    const t = srv.token(['dns:*'], 'lister');
    const z1 = (await srv.request('POST', '/api/v1/dns-zones/', { token: t, body: { domain: 'one.example' } })).body;
    const z2 = (await srv.request('POST', '/api/v1/dns-zones/', { token: t, body: { domain: 'two.example' } })).body;
    const post = (z: string, body: object) =>
      srv.request('POST', `/api/v1/dns-zones/${z}/records/`, { token: t, body });
    await post(z1.uuid, { record_type: 'A', name: 'a', value: '192.0.2.1' });
    await post(z1.uuid, { record_type: 'TXT', name: 'a', value: 'one' });
    await post(z2.uuid, { record_type: 'A', name: 'b', value: '192.0.2.2' });
    const all = await srv.request('GET', '/api/v1/dns-records/', { token: t });
    expect(all.body).toHaveLength(3);
    expect(all.headers.get('x-total-count')).toBe('3');
    const inZone = await srv.request('GET', `/api/v1/dns-records/?zone=${z1.uuid}`, { token: t });
    expect(inZone.body.map((r: { name: string }) => r.name)).toEqual(['a', 'a']);
    const aOnly = await srv.request('GET', '/api/v1/dns-records/?record_type=A', { token: t });
    expect(aOnly.body.map((r: { zone: string }) => r.zone).sort()).toEqual([z1.uuid, z2.uuid].sort());
    const both = await srv.request('GET', `/api/v1/dns-records/?zone=${z2.uuid}&record_type=TXT`, { token: t });
    expect(both.body).toEqual([]);
    const nested = await srv.request('GET', `/api/v1/dns-zones/${z1.uuid}/records/?record_type=txt`, { token: t });
    expect(nested.body).toHaveLength(1);
    const paged = await srv.request('GET', '/api/v1/dns-records/?page_size=2&page=2', { token: t });
    expect(paged.body).toHaveLength(1);
  });
});
