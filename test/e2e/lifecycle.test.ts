// The process as an operator sees it: SIGTERM stops cleanly (in-flight work finished, zone files flushed,
// exit 0), kill -9 loses no acknowledged write (API, dig and zone file agree after a restart), and
// secrets never reach the logs.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { loopbackServe, runCli, type ServeProcess, spawnServe } from '../helpers/cli.js';

const execFileP = promisify(execFile);
const dirs: string[] = [];
const servers: ServeProcess[] = [];

async function start(dir?: string): Promise<{ srv: ServeProcess; dir: string; token: string }> {
  const data = dir ?? mkdtempSync(join(tmpdir(), 'vpsdns-life-'));
  if (!dir) dirs.push(data);
  const srv = await spawnServe([...loopbackServe(data)]);
  servers.push(srv);
  const token = srv.output().match(/vps_[A-Za-z0-9]+/)?.[0] ?? '';
  return { srv, dir: data, token };
}

function client(srv: ServeProcess, token: string) {
  return async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const res = await fetch(`http://127.0.0.1:${srv.apiPort}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': contentType } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed };
  };
}

async function dig(port: number, ...args: string[]): Promise<string> {
  return (await execFileP('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=3', ...args])).stdout;
}

afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SIGTERM', () => {
  it('finishes the in-flight import, flushes the zone file, closes the store and exits 0', async () => {
    const { srv, dir, token } = await start();
    const api = client(srv, token);
    const zone = (await api('POST', '/api/v1/dns-zones/', { domain: 'term.example' })).body;
    const lines = Array.from({ length: 20_000 }, (_, i) => `h${i} A 10.0.${(i >> 8) & 255}.${i & 255}`).join('\n');
    const importing = api('POST', `/api/v1/dns-zones/${zone.uuid}/import/`, lines, 'text/dns');
    await new Promise((r) => setTimeout(r, 30));
    const t0 = Date.now();
    const exited = srv.stop('SIGTERM');
    const res = await importing;
    expect(res.status).toBe(200);
    expect(res.body.added).toBe(20_000);
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(srv.output()).toContain('"msg":"stopped"');
    // The change the API acknowledged is in the zone file, without waiting for a restart.
    const file = readFileSync(join(dir, 'zones', 'term.example.zone'), 'utf8');
    expect(file).toContain('h19999');
  });
});

describe('the log reader goes away', () => {
  it('the API keeps answering and SIGTERM still stops the process', async () => {
    const { srv, token } = await start();
    const api = client(srv, token);
    srv.child.stdout!.destroy(); // like `vpsdns serve | some-logger` with the logger gone
    // One small request per second: its log line is still buffered when the periodic flush runs.
    for (let i = 0; i < 3; i++) {
      const res = await Promise.race([
        api('GET', '/api/v1/dns-zones/'),
        new Promise<{ status: string }>((r) => setTimeout(() => r({ status: 'no answer in 3 s' }), 3000)),
      ]);
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
    }
    const t0 = Date.now();
    expect(await srv.stop('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('kill -9', () => {
  it('every acknowledged write is in the API, in dig and in the zone file after a restart', async () => {
    const first = await start();
    const api = client(first.srv, first.token);
    const zone = (await api('POST', '/api/v1/dns-zones/', { domain: 'crash.example' })).body;
    const acked: string[] = [];
    let stop = false;
    const writer = (async () => {
      for (let i = 0; i < 5000 && !stop; i++) {
        try {
          const res = await api('POST', `/api/v1/dns-zones/${zone.uuid}/records/`, {
            record_type: 'A',
            name: `h${i}`,
            value: '192.0.2.1',
          });
          if (res.status === 201) acked.push(`h${i}`);
        } catch {
          return;
        }
      }
    })();
    while (acked.length < 40) await new Promise((r) => setTimeout(r, 5));
    first.srv.child.kill('SIGKILL');
    stop = true;
    await writer;

    const second = await start(first.dir);
    const api2 = client(second.srv, first.token);
    const names = new Set(
      (await api2('GET', `/api/v1/dns-zones/${zone.uuid}/records/?page_size=1000`)).body.map(
        (r: { name: string }) => r.name,
      ),
    );
    for (const name of acked) expect(names.has(name), name).toBe(true);
    const last = acked[acked.length - 1];
    expect((await dig(second.srv.dnsPort, `${last}.crash.example`, 'A', '+short')).trim()).toBe('192.0.2.1');
    // Zone files are regenerated in the background after start: wait for this one (bounded).
    const path = join(first.dir, 'zones', 'crash.example.zone');
    const serving = (await dig(second.srv.dnsPort, 'crash.example', 'SOA', '+short')).split(' ')[2];
    let file = '';
    for (let i = 0; i < 200 && !file.includes(`serial ${serving}`); i++) {
      await new Promise((r) => setTimeout(r, 50));
      file = existsSync(path) ? readFileSync(path, 'utf8') : '';
    }
    for (const name of acked) expect(file).toMatch(new RegExp(`^${name}\\s`, 'm'));
    // The SOA serial the DNS serves is the store's.
    const serial = (await dig(second.srv.dnsPort, 'crash.example', 'SOA', '+short')).split(' ')[2];
    expect(file).toContain(`serial ${serial}`);
    // The database is consistent: SQLite's own check, and the journal ends at the zone's serial with one
    // "add" per record.
    const db = new Database(join(first.dir, 'vpsdns.sqlite'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const zoneRow = db.prepare('SELECT id, serial FROM zones WHERE domain = ?').get('crash.example') as {
        id: number;
        serial: number;
      };
      expect(String(zoneRow.serial)).toBe(serial);
      const lastJournal = db.prepare('SELECT max(serial) AS s FROM changes WHERE zone_id = ?').pluck().get(zoneRow.id);
      expect(lastJournal).toBe(zoneRow.serial);
      const adds = db.prepare("SELECT count(*) FROM changes WHERE zone_id = ? AND op = 'add'").pluck().get(zoneRow.id);
      const records = db.prepare('SELECT count(*) FROM records WHERE zone_id = ?').pluck().get(zoneRow.id);
      expect(adds).toBe(records);
    } finally {
      db.close();
    }
  });
});

describe('security', () => {
  it('no token secret in the logs; no recursion for names we do not host', async () => {
    const { srv, dir } = await start();
    await runCli(['account', 'create', 'acme', '--data', dir]);
    const token = (
      await runCli(['token', 'create', '--account', 'acme', '--permissions', 'dns:*', '--data', dir])
    ).stdout.trim();
    const api = client(srv, token);
    await api('POST', '/api/v1/dns-zones/', { domain: 'secret.example' });
    await client(srv, `${token.slice(0, -1)}X`)('GET', '/api/v1/dns-zones/');
    const recursion = await dig(srv.dnsPort, 'www.google.com', 'A', '+rec');
    expect(recursion).toContain('status: REFUSED');
    expect(recursion).not.toMatch(/flags:[^;]* ra/);
    await srv.stop('SIGTERM');
    // The JSON log lines (the first-start banner before them shows the admin token on purpose).
    const logs = srv
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .join('\n');
    expect(logs).toContain('api request');
    expect(logs).not.toContain(token.slice(16));
    expect(logs).not.toContain(token.slice(16, -1));
    expect(logs.toLowerCase()).not.toContain('authorization');
  });
});
