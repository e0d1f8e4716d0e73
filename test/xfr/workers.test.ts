// Zone transfers when DNS runs in worker processes: each worker answers AXFR/IXFR itself (zone index in
// memory, journal read from SQLite read-only), right after the API's 2xx.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackServe, type ServeProcess, spawnServe } from '../helpers/cli.js';

const execFileP = promisify(execFile);
let dir: string;
let server: ServeProcess;
let api: (method: string, path: string, body?: unknown) => Promise<any>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vpsdns-xfr-workers-'));
  server = await spawnServe([...[...loopbackServe(dir)], ...['--workers', '2', '--xfr-allow', '127.0.0.1']]);
  const token = server.output().match(/vps_[A-Za-z0-9]+/)![0];
  api = async (method, path, body) => {
    const res = await fetch(`http://127.0.0.1:${server.apiPort}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return res.json();
  };
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const dig = async (...args: string[]) =>
  (await execFileP('dig', ['@127.0.0.1', '-p', String(server.dnsPort), '+tries=1', '+time=3', ...args])).stdout;

describe('transfers with --workers 2', () => {
  it('AXFR has the record the API just acknowledged; IXFR gives the difference', async () => {
    const zone = await api('POST', '/api/v1/dns-zones/', { domain: 'wx.example' });
    await api('POST', `/api/v1/dns-zones/${zone.uuid}/records/`, { record_type: 'A', name: 'a', value: '192.0.2.1' });
    const serial = (await dig('wx.example', 'SOA', '+short')).split(' ')[2];
    await api('POST', `/api/v1/dns-zones/${zone.uuid}/records/`, { record_type: 'A', name: 'b', value: '192.0.2.2' });
    // Several times: the kernel spreads the connections over both workers.
    for (let i = 0; i < 4; i++) {
      const axfr = await dig('wx.example', 'AXFR');
      expect(axfr).toMatch(/^b\.wx\.example\.\s+3600\s+IN\s+A\s+192\.0\.2\.2$/m);
      expect(axfr.match(/\sSOA\s/g)).toHaveLength(2);
      const ixfr = await dig('+tcp', 'wx.example', `IXFR=${serial}`);
      expect(ixfr).toMatch(/^b\.wx\.example\.\s+3600\s+IN\s+A\s+192\.0\.2\.2$/m);
      expect(ixfr).not.toMatch(/^a\.wx\.example\./m);
    }
  });

  it('the workers count the transfers they answered; /metrics sums them', async () => {
    let text = '';
    // Workers push their counters about once a second.
    const both = (t: string) => t.includes('{kind="axfr"} 4') && t.includes('{kind="ixfr"} 4');
    for (let i = 0; i < 40 && !both(text); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = await (await fetch(`http://127.0.0.1:${server.apiPort}/metrics`)).text();
    }
    expect(text).toContain('vpsdns_xfr_requests_total{kind="axfr"} 4');
    expect(text).toContain('vpsdns_xfr_requests_total{kind="ixfr"} 4');
    expect(text).toMatch(/vpsdns_dns_queries_total\{transport="udp"\} [1-9]/);
  });
});
