import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/api-server.js';

let srv: TestServer;
let owner: string;
let zoneUuid: string;
let recordUuid: string;

beforeAll(async () => {
  srv = await startTestServer();
  owner = srv.token(['dns:*'], 'owner');
  zoneUuid = (await srv.request('POST', '/api/v1/dns-zones/', { token: owner, body: { domain: 'owned.example' } })).body
    .uuid;
  recordUuid = (
    await srv.request('POST', `/api/v1/dns-zones/${zoneUuid}/records/`, {
      token: owner,
      body: { record_type: 'A', name: 'www', value: '192.0.2.1' },
    })
  ).body.uuid;
});
afterAll(() => srv.close());

/** Every endpoint with the permission it needs and a valid body. */
function endpoints(): Array<{ method: string; path: string; permission: string; body?: object }> {
  return [
    { method: 'GET', path: '/api/v1/dns-zones/', permission: 'dns:list' },
    { method: 'POST', path: '/api/v1/dns-zones/', permission: 'dns:create', body: { domain: 'matrix.example' } },
    { method: 'GET', path: `/api/v1/dns-zones/${zoneUuid}/`, permission: 'dns:list' },
    { method: 'DELETE', path: `/api/v1/dns-zones/${zoneUuid}/`, permission: 'dns:delete' },
    { method: 'GET', path: `/api/v1/dns-zones/${zoneUuid}/records/`, permission: 'dns:list' },
    {
      method: 'POST',
      path: `/api/v1/dns-zones/${zoneUuid}/records/`,
      permission: 'dns:create',
      body: { record_type: 'A', name: 'm', value: '192.0.2.3' },
    },
    { method: 'GET', path: '/api/v1/dns-records/', permission: 'dns:list' },
    { method: 'GET', path: `/api/v1/dns-records/${recordUuid}/`, permission: 'dns:list' },
    {
      method: 'PUT',
      path: `/api/v1/dns-records/${recordUuid}/`,
      permission: 'dns:update',
      body: { record_type: 'A', name: 'www', value: '192.0.2.2' },
    },
    { method: 'PATCH', path: `/api/v1/dns-records/${recordUuid}/`, permission: 'dns:update', body: { ttl: 600 } },
    { method: 'DELETE', path: `/api/v1/dns-records/${recordUuid}/`, permission: 'dns:delete' },
  ];
}

const ALL = ['dns:list', 'dns:create', 'dns:update', 'dns:delete'];

describe('authentication: 401', () => {
  it.each([
    ['no header', undefined, 'not_authenticated'],
    ['not Bearer', 'Basic dXNlcjpwYXNz', 'not_authenticated'],
    ['not vps_', 'Bearer abc123', 'invalid_token'],
    ['unknown vps_ token', `Bearer vps_${'x'.repeat(44)}`, 'invalid_token'],
    ['short vps_ token', 'Bearer vps_abc', 'invalid_token'],
  ])('%s → 401 with the error shape', async (_label, header, code) => {
    const res = await srv.request('GET', '/api/v1/dns-zones/', { headers: header ? { authorization: header } : {} });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error_code: code, field: null });
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('the reference message for a token without vps_', async () => {
    const res = await srv.request('GET', '/api/v1/dns-zones/', { headers: { authorization: 'Bearer nope' } });
    expect(res.body.detail).toContain('must start with vps_');
  });

  it('a revoked token is refused at once; last_used_at is kept', async () => {
    const account = srv.store.auth.getAccount('owner')!;
    const { id, token } = srv.store.auth.createToken(account.id, ['dns:list']);
    expect((await srv.request('GET', '/api/v1/dns-zones/', { token })).status).toBe(200);
    const info = srv.store.auth.listTokens('owner').find((t) => t.id === id)!;
    expect(info.last_used_at).toMatch(/Z$/);
    expect(srv.store.auth.revokeToken(id)).toBe(true);
    expect((await srv.request('GET', '/api/v1/dns-zones/', { token })).status).toBe(401);
  });

  it('a bad token is a 401 before a broken body is looked at', async () => {
    const res = await srv.request('POST', '/api/v1/dns-zones/', { token: 'vps_bad', body: '{broken' });
    expect(res.status).toBe(401);
  });

  it('tokens are stored only as hashes', () => {
    const rows = srv.store.db.prepare('SELECT * FROM tokens').all() as Array<Record<string, unknown>>;
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(owner);
    expect(dump).not.toContain(owner.slice(16));
  });
});

describe('permissions: 403 for each endpoint without its permission', () => {
  it('every endpoint × a token lacking its permission → 403, nothing changes', async () => {
    const before = JSON.stringify(srv.store.db.prepare('SELECT * FROM records').all());
    for (const ep of endpoints()) {
      const token = srv.token(
        ALL.filter((p) => p !== ep.permission),
        'owner',
      );
      const res = await srv.request(ep.method, ep.path, { token, body: ep.body });
      expect(res.status, `${ep.method} ${ep.path}`).toBe(403);
      expect(res.body).toEqual({
        detail: `This token lacks the ${ep.permission} permission`,
        error_code: 'permission_denied',
        field: null,
      });
    }
    expect(JSON.stringify(srv.store.db.prepare('SELECT * FROM records').all())).toBe(before);
    expect(srv.store.getZoneByDomain('matrix.example')).toBeUndefined();
  });

  it('each single permission opens exactly its endpoints', async () => {
    for (const perm of ALL) {
      const token = srv.token([perm], 'owner');
      for (const ep of endpoints().filter((e) => e.method === 'GET')) {
        const res = await srv.request(ep.method, ep.path, { token });
        expect(res.status).toBe(perm === 'dns:list' ? 200 : 403);
      }
    }
  });
});

describe('accounts are isolated: another account sees 404, never 403 or data', () => {
  it('every endpoint on another account’s zone or record → 404', async () => {
    const stranger = srv.token(['dns:*'], 'stranger');
    for (const ep of endpoints().filter((e) => e.path.includes(zoneUuid) || e.path.includes(recordUuid))) {
      const res = await srv.request(ep.method, ep.path, { token: stranger, body: ep.body });
      expect(res.status, `${ep.method} ${ep.path}`).toBe(404);
      expect(res.body.error_code).toBe('not_found');
      expect(JSON.stringify(res.body)).not.toContain('owned.example');
    }
    const lists = await srv.request('GET', '/api/v1/dns-zones/', { token: stranger });
    expect(lists.body).toEqual([]);
    const records = await srv.request('GET', `/api/v1/dns-records/?zone=${zoneUuid}`, { token: stranger });
    expect(records.body).toEqual([]);
    // The owner still has everything.
    const mine = await srv.request('GET', `/api/v1/dns-zones/${zoneUuid}/`, { token: owner });
    expect(mine.body.records).toHaveLength(1);
  });
});

describe('error shape for protocol errors', () => {
  it('unknown route → 404', async () => {
    const res = await srv.request('GET', '/api/v1/nothing-here/', { token: owner });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error_code: 'not_found', field: null });
  });

  it('wrong method → 405 with Allow', async () => {
    const res = await srv.request('PUT', '/api/v1/dns-zones/', { token: owner, body: {} });
    expect(res.status).toBe(405);
    expect(res.body).toMatchObject({ error_code: 'method_not_allowed', field: null });
    expect(res.headers.get('allow')).toContain('GET');
    const rec = await srv.request('POST', `/api/v1/dns-records/${recordUuid}`, { token: owner, body: {} });
    expect(rec.status).toBe(405);
  });

  it('bad JSON → 400, body not an object → 400', async () => {
    const bad = await srv.request('POST', '/api/v1/dns-zones/', { token: owner, body: '{"domain": ' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error_code: 'parse_error', field: null });
    const arr = await srv.request('POST', '/api/v1/dns-zones/', { token: owner, body: '[1]' });
    expect(arr.status).toBe(400);
    expect(arr.body.error_code).toBe('validation_error');
  });

  it('wrong content type → 415', async () => {
    const res = await srv.request('POST', '/api/v1/dns-zones/', {
      token: owner,
      body: 'domain=x.example',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ error_code: 'unsupported_media_type', field: null });
    const text = await srv.request('POST', '/api/v1/dns-zones/', {
      token: owner,
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
  });

  it('body too large → 413', async () => {
    const res = await srv.request('POST', '/api/v1/dns-zones/', {
      token: owner,
      body: JSON.stringify({ domain: 'x.example', pad: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error_code: 'payload_too_large', field: null });
  });

  it('the server keeps answering after all of that', async () => {
    expect((await srv.request('GET', '/api/v1/dns-zones/', { token: owner })).status).toBe(200);
  });
});
