// `vpsdns zone import` / `zone export` end to end: the real command on a real data directory,
// while a server runs on it (its DNS answers the imported zone without a restart).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackServe, runCli, type ServeProcess, spawnServe } from '../helpers/cli.js';

const execFileP = promisify(execFile);
const fixture = join(import.meta.dirname, '..', '..', 'fixtures', 'zonefile', 'edge.example.zone');
let dir: string;
let server: ServeProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vpsdns-zonecli-'));
  server = await spawnServe([...loopbackServe(dir)]);
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('vpsdns zone import / export', () => {
  it('imports a zone file (creating the zone), shows progress, and the running server answers it', async () => {
    const res = await runCli(['zone', 'import', 'edge.example', fixture, '--data', dir]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      /^edge\.example: created, \d+ records imported, 3 SOA\/apex NS skipped, serial \d{10}\n$/,
    );
    expect(res.stderr).toContain('checking records:');
    // The server notices the CLI's commit (data_version polling) and serves the zone.
    let answer = '';
    for (let i = 0; i < 40 && !answer.includes('192.0.2.25'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      answer = (
        await execFileP('dig', ['@127.0.0.1', '-p', String(server.dnsPort), 'mail.edge.example', 'A', '+short'])
      ).stdout;
    }
    expect(answer.trim()).toBe('192.0.2.25');
  });

  it('exports BIND9 text that named-checkzone accepts and that imports back to the same records', async () => {
    const exported = await runCli(['zone', 'export', 'edge.example', '--data', dir]);
    expect(exported.code).toBe(0);
    const file = join(dir, 'export.zone');
    writeFileSync(file, exported.stdout);
    const check = await execFileP('named-checkzone', ['edge.example', file]);
    expect(check.stdout).toContain('OK');

    const copyFile = join(dir, 'copy.zone');
    writeFileSync(copyFile, exported.stdout.replaceAll('edge.example', 'copy.example'));
    expect((await runCli(['zone', 'import', 'copy.example', copyFile, '--data', dir])).code).toBe(0);
    const again = await runCli(['zone', 'export', 'copy.example', '--data', dir]);
    const body = (t: string) =>
      t
        .split('\n')
        .filter((l) => l && !l.startsWith(';') && !/\sSOA\s/.test(l))
        .join('\n');
    expect(body(again.stdout)).toBe(body(exported.stdout).replaceAll('edge.example', 'copy.example'));
  });

  it('a bad file: every error with its line, exit 2, nothing imported, no zone left behind', async () => {
    const bad = join(dir, 'bad.zone');
    writeFileSync(bad, 'ok A 192.0.2.1\nbad A 300.0.0.1\nweird HINFO "a" "b"\n');
    const res = await runCli(['zone', 'import', 'bad.example', bad, '--data', dir]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('line 2:');
    expect(res.stderr).toContain('line 3:');
    expect((await runCli(['zone', 'export', 'bad.example', '--data', dir])).stderr).toContain('no zone bad.example');
  });

  it('--replace replaces the records; the zone file on disk follows', async () => {
    const small = join(dir, 'small.zone');
    writeFileSync(small, '$ORIGIN edge.example.\nonly A 198.51.100.77\n');
    const res = await runCli(['zone', 'import', 'edge.example', small, '--replace', '--data', dir]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('1 records imported');
    const onDisk = join(dir, 'zones', 'edge.example.zone');
    let text = '';
    for (let i = 0; i < 40 && !text.includes('198.51.100.77'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = readFileSync(onDisk, 'utf8');
    }
    expect(text).toContain('198.51.100.77');
    expect(text).not.toContain('192.0.2.25');
  });

  it('the API keeps writing while the CLI imports into the same zone: no write fails, DNS answers both', async () => {
    const token = server.output().match(/vps_[A-Za-z0-9]+/)![0];
    const api = `http://127.0.0.1:${server.apiPort}/api/v1`;
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const created = await fetch(`${api}/dns-zones/`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ domain: 'shared.example' }),
    });
    expect(created.status).toBe(201);
    const zone = (await created.json()) as { uuid: string };
    // An import big enough to hold SQLite's write lock for a while (tens of milliseconds).
    const big = join(dir, 'shared.zone');
    writeFileSync(
      big,
      `$ORIGIN shared.example.\n${Array.from({ length: 20_000 }, (_, i) => `cli${i} A 198.51.100.${i % 250}`).join('\n')}\n`,
    );
    const importing = runCli(['zone', 'import', 'shared.example', big, '--data', dir]);
    let cliDone = false;
    void importing.then(() => {
      cliDone = true;
    });
    const statuses: number[] = [];
    // Two clients add records until the import has finished, and a few after (paced under the per-token rate limit).
    await Promise.all(
      [0, 1].map(async (c) => {
        for (let i = 0; !cliDone || i < 5; i++) {
          const res = await fetch(`${api}/dns-zones/${zone.uuid}/records/`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ record_type: 'A', name: `api${c}-${i}`, value: '192.0.2.99' }),
          });
          statuses.push(res.status);
          await res.arrayBuffer();
          if (i > 2000) throw new Error('the import did not finish');
          await new Promise((r) => setTimeout(r, 20));
        }
      }),
    );
    const imported = await importing;
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('20000 records imported');
    expect(statuses.filter((s) => s !== 201)).toEqual([]);
    // Both writers' records are served, once the server has noticed the CLI's commit.
    const dig = async (name: string) =>
      (await execFileP('dig', ['@127.0.0.1', '-p', String(server.dnsPort), name, 'A', '+short'])).stdout.trim();
    let answers: string[] = [];
    for (let i = 0; i < 40; i++) {
      answers = await Promise.all([
        dig('cli19999.shared.example'),
        dig('api0-0.shared.example'),
        dig('api1-4.shared.example'),
      ]);
      if (answers.every((a) => a !== '')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(answers).toEqual(['198.51.100.249', '192.0.2.99', '192.0.2.99']);
  });
});
