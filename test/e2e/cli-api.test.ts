// End to end: the real `vpsdns` command, a real data directory, the reference's own requests
// (curl and fetch) with only the host replaced.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackServe, runCli, type ServeProcess, spawnServe } from '../helpers/cli.js';

const execFileP = promisify(execFile);
let dataDir: string;
let server: ServeProcess;
let base: string;
let token: string;

/** Run a reference curl example: the same arguments, with the host replaced and the token filled in. */
async function curl(args: string[]): Promise<{ status: number; body: any }> {
  const filled = args.map((a) => a.replace('https://admin.vps.org', base).replace('YOUR_API_TOKEN', token));
  const { stdout } = await execFileP('curl', ['-sS', '-w', '\n%{http_code}', ...filled]);
  const lines = stdout.split('\n');
  const status = Number(lines.pop());
  const text = lines.join('\n');
  return { status, body: text === '' ? null : JSON.parse(text) };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'vpsdns-e2e-'));
  server = await spawnServe([...loopbackServe(dataDir)]);
  base = `http://127.0.0.1:${server.apiPort}`;
});

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('first start', () => {
  it('prints one dns:* admin token that lists zones with the reference curl example', async () => {
    const admin = server.output().match(/vps_[A-Za-z0-9]+/)?.[0];
    expect(admin).toBeDefined();
    token = admin!;
    const res = await curl([
      '-X',
      'GET',
      'https://admin.vps.org/api/v1/dns-zones/',
      '-H',
      'Authorization: Bearer YOUR_API_TOKEN',
    ]);
    expect(res).toEqual({ status: 200, body: [] });
  });
});

describe('the reference examples, over real HTTP', () => {
  let zoneUuid: string;
  let recordUuid: string;

  it('CLI: account create and token create print what scripts capture', async () => {
    expect((await runCli(['account', 'create', 'acme', '--data', dataDir])).stdout).toBe('acme\n');
    const created = await runCli([
      'token',
      'create',
      '--account',
      'acme',
      '--permissions',
      'dns:*',
      '--name',
      'e2e',
      '--data',
      dataDir,
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^vps_[A-Za-z0-9]{44}\n$/);
    token = created.stdout.trim();
  });

  it('curl: create a zone', async () => {
    const res = await curl([
      '-X',
      'POST',
      'https://admin.vps.org/api/v1/dns-zones/',
      '-H',
      'Authorization: Bearer YOUR_API_TOKEN',
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"domain": "newdomain.com"}',
    ]);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ domain: 'newdomain.com', record_count: 0, records: [] });
    zoneUuid = res.body.uuid;
  });

  it('curl: create a record, list the zone’s records, PATCH the TTL', async () => {
    const created = await curl([
      '-X',
      'POST',
      `https://admin.vps.org/api/v1/dns-zones/${zoneUuid}/records/`,
      '-H',
      'Authorization: Bearer YOUR_API_TOKEN',
      '-H',
      'Content-Type: application/json',
      '-d',
      '{\n    "record_type": "A",\n    "name": "www",\n    "value": "192.0.2.1",\n    "ttl": 3600\n  }',
    ]);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      record_type: 'A',
      name: 'www',
      value: '192.0.2.1',
      ttl: 3600,
      priority: null,
    });
    recordUuid = created.body.uuid;

    const list = await curl([
      '-X',
      'GET',
      `https://admin.vps.org/api/v1/dns-zones/${zoneUuid}/records/`,
      '-H',
      'Authorization: Bearer YOUR_API_TOKEN',
    ]);
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);

    const patched = await curl([
      '-X',
      'PATCH',
      `https://admin.vps.org/api/v1/dns-records/${recordUuid}/`,
      '-H',
      'Authorization: Bearer YOUR_API_TOKEN',
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"ttl": 1800}',
    ]);
    expect(patched.status).toBe(200);
    expect(patched.body.ttl).toBe(1800);
  });

  it('fetch: the reference JavaScript examples', async () => {
    const list = await fetch(`${base}/api/v1/dns-zones/`, { headers: { Authorization: `Bearer ${token}` } });
    const zones = await list.json();
    expect(zones).toEqual([expect.objectContaining({ domain: 'newdomain.com', record_count: 1 })]);
    const response = await fetch(`${base}/api/v1/dns-zones/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ domain: 'myapp.io' }),
    });
    expect(response.status).toBe(201);
    const zone = await response.json();
    expect(zone).toMatchObject({ domain: 'myapp.io', record_count: 0, records: [] });
    const mx = await fetch(`${base}/api/v1/dns-zones/${zone.uuid}/records/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ record_type: 'MX', name: '@', value: 'mail.example.com' }),
    });
    expect(mx.status).toBe(400);
    expect(await mx.json()).toEqual({
      detail: 'MX records require a priority value',
      error_code: 'validation_error',
      field: 'priority',
    });
    const del = await fetch(`${base}/api/v1/dns-zones/${zone.uuid}/`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe('');
  });

  it('CLI: token list shows no secrets; token revoke is honoured by the running server at once', async () => {
    const listed = await runCli(['token', 'list', '--account', 'acme', '--data', dataDir]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(token);
    expect(listed.stdout).not.toContain(token.slice(16));
    const id = token.slice(4, 16);
    expect(listed.stdout).toContain(id);
    expect((await runCli(['token', 'revoke', id, '--data', dataDir])).code).toBe(0);
    const res = await fetch(`${base}/api/v1/dns-zones/`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
  });

  it('CLI: clear errors with exit code 2', async () => {
    const noAccount = await runCli([
      'token',
      'create',
      '--account',
      'nobody',
      '--permissions',
      'dns:list',
      '--data',
      dataDir,
    ]);
    expect(noAccount.code).toBe(2);
    expect(noAccount.stderr).toContain('no account "nobody"');
    const badPerm = await runCli([
      'token',
      'create',
      '--account',
      'acme',
      '--permissions',
      'dns:fly',
      '--data',
      dataDir,
    ]);
    expect(badPerm.code).toBe(2);
    expect(badPerm.stderr).toContain('unknown permission "dns:fly"');
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    const typo = join(tmpdir(), `vpsdns-no-such-dir-${process.pid}`);
    const missing = await runCli(['token', 'list', '--data', typo]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no database at');
    expect(existsSync(typo)).toBe(false);
  });
});

describe('serve configuration errors', () => {
  it('invalid configuration: one clear line and exit code 2', async () => {
    const res = await runCli(['serve', '--data', dataDir, '--api-port', 'seventy']);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain('--api-port');
    const env = await runCli(['serve', '--data', dataDir], { VPSDNS_LISTEN: 'not-an-ip' });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('VPSDNS_LISTEN');
  });

  it('a port that cannot be bound: a message naming the port and what to do', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'vpsdns-busy-'));
    const res = await runCli([
      'serve',
      '--data',
      dir,
      '--listen',
      '127.0.0.1',
      '--api-port',
      String(port),
      '--dns-port',
      '0',
    ]);
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`127.0.0.1:${port}`);
    expect(res.stderr).toContain('--api-port');
  });
});
