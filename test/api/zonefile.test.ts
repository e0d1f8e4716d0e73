// Export and import of zones as BIND9 text through the API, and the files written after each change.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/api-server.js';

let srv: TestServer;
let token: string;
const fixture = readFileSync(
  join(import.meta.dirname, '..', '..', 'fixtures', 'zonefile', 'edge.example.zone'),
  'utf8',
);

beforeAll(async () => {
  srv = await startTestServer();
  token = srv.token();
});
afterAll(() => srv.close());

async function zone(domain: string, t = token) {
  return (await srv.request('POST', '/api/v1/dns-zones/', { token: t, body: { domain } })).body as { uuid: string };
}

function importText(uuid: string, text: string, query = '', t = token) {
  return srv.request('POST', `/api/v1/dns-zones/${uuid}/import/${query}`, {
    token: t,
    body: text,
    headers: { 'content-type': 'text/dns' },
  });
}

describe('import', () => {
  it('adds every supported record of a real zone file in one go; SOA and apex NS are skipped', async () => {
    const z = await zone('edge.example');
    const res = await importText(z.uuid, fixture);
    expect(res.status).toBe(200);
    expect(res.body.added).toBeGreaterThan(20);
    expect(res.body.ignored).toBe(3);
    const records = (await srv.request('GET', `/api/v1/dns-zones/${z.uuid}/records/?page_size=1000`, { token })).body;
    expect(records).toHaveLength(res.body.added);
    expect(records.some((r: { record_type: string }) => r.record_type === 'SOA')).toBe(false);
    expect(records).toContainEqual(
      expect.objectContaining({ name: 'txt', record_type: 'TXT', value: 'say "hi" back\\slash' }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({ name: '@', record_type: 'AAAA', value: '2001:db8::1', ttl: 3600 }),
    );
  });

  it('reports every bad line at once, with line numbers, and imports nothing', async () => {
    const z = await zone('broken.example');
    const text = [
      '$TTL 300',
      'ok A 192.0.2.1',
      'bad A 999.1.1.1',
      'ptr PTR host.example.',
      '$INCLUDE other.zone',
      'mx MX mail',
    ].join('\n');
    const res = await importText(z.uuid, text);
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('validation_error');
    expect(res.body.errors.map((e: { line: number }) => e.line)).toEqual([3, 4, 5, 6]);
    expect(res.body.detail).toContain('line 3');
    const records = (await srv.request('GET', `/api/v1/dns-zones/${z.uuid}/records/`, { token })).body;
    expect(records).toEqual([]);
  });

  it('?replace=true replaces all records; without it records are added', async () => {
    const z = await zone('replace.example');
    await importText(z.uuid, 'a A 192.0.2.1\nb A 192.0.2.2\n');
    const added = await importText(z.uuid, 'c A 192.0.2.3\n');
    expect(added.body).toMatchObject({ added: 1, removed: 0 });
    const replaced = await importText(z.uuid, 'd A 192.0.2.4\n', '?replace=true');
    expect(replaced.body).toMatchObject({ added: 1, removed: 3 });
    const names = (await srv.request('GET', `/api/v1/dns-zones/${z.uuid}/records/`, { token })).body.map(
      (r: { name: string }) => r.name,
    );
    expect(names).toEqual(['d']);
    expect((await importText(z.uuid, 'e A 192.0.2.5', '?replace=maybe')).body.field).toBe('replace');
  });

  it('needs dns:create, and another account gets 404', async () => {
    const z = await zone('perm.example');
    expect(
      (await importText(z.uuid, 'a A 192.0.2.1', '', srv.token(['dns:list', 'dns:update', 'dns:delete']))).status,
    ).toBe(403);
    expect((await importText(z.uuid, 'a A 192.0.2.1', '', srv.token(['dns:*'], 'mallory'))).status).toBe(404);
    const exp = await srv.request('GET', `/api/v1/dns-zones/${z.uuid}/export/`, { token: srv.token(['dns:create']) });
    expect(exp.status).toBe(403);
  });
});

describe('export and the zone files', () => {
  it('exports BIND9 text (text/dns) that imports into a new zone and exports the same records', async () => {
    const src = await zone('round.example');
    await importText(src.uuid, fixture.replaceAll('edge.example', 'round.example'));
    const res = await fetch(`${srv.base}/api/v1/dns-zones/${src.uuid}/export/`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/dns');
    const text = await res.text();
    expect(text).toContain('$ORIGIN round.example.');

    const copy = await zone('copy.example');
    const imported = await importText(copy.uuid, text.replaceAll('round.example', 'copy.example'));
    expect(imported.status).toBe(200);
    const again = await (
      await fetch(`${srv.base}/api/v1/dns-zones/${copy.uuid}/export/`, {
        headers: { Authorization: `Bearer ${token}` },
      })
    ).text();
    const body = (t: string) =>
      t
        .split('\n')
        .filter((l) => l && !l.startsWith(';') && !/\sSOA\s/.test(l))
        .join('\n');
    expect(body(again)).toBe(body(text).replaceAll('round.example', 'copy.example'));
  });

  it('writes <data>/zones/<domain>.zone and named.conf.zones within a second of a change, and removes them with the zone', async () => {
    const z = await zone('files.example');
    await srv.request('POST', `/api/v1/dns-zones/${z.uuid}/records/`, {
      token,
      body: { record_type: 'A', name: 'www', value: '192.0.2.80' },
    });
    const file = join(srv.dataDir, 'zones', 'files.example.zone');
    const conf = join(srv.dataDir, 'named.conf.zones');
    await waitFor(
      () =>
        existsSync(file) &&
        readFileSync(file, 'utf8').includes('192.0.2.80') &&
        readFileSync(conf, 'utf8').includes('zone "files.example" { type primary;'),
    );
    await srv.request('DELETE', `/api/v1/dns-zones/${z.uuid}/`, { token });
    await waitFor(() => !existsSync(file) && !readFileSync(conf, 'utf8').includes('files.example'));
  });
});

async function waitFor(check: () => boolean, ms = 1500): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
