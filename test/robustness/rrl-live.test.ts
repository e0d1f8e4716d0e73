// Response rate limiting on a live `vpsdns serve` with its defaults (200/s, slip 2): a flood of one
// response to one client network is cut down, every other limited response goes out truncated so a real
// resolver retries over TCP, TCP is not limited, and /metrics counts it.
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackServe, type ServeProcess, spawnServe } from '../helpers/cli.js';

let dir: string;
let server: ServeProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vpsdns-rrl-'));
  // An empty VPSDNS_RRL_RATE means "not set": the default applies (the test setup turns RRL off otherwise).
  server = await spawnServe([...loopbackServe(dir), '--query-log-sample', '100'], {
    VPSDNS_RRL_RATE: '',
  });
  const token = server.output().match(/vps_[A-Za-z0-9]+/)![0];
  await fetch(`http://127.0.0.1:${server.apiPort}/api/v1/dns-zones/`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ domain: 'rrl.example' }),
  });
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('response rate limiting (defaults)', () => {
  it('cuts a flood of NXDOMAINs under one zone to the rate, slipping every other one', async () => {
    const sock = createSocket('udp4');
    let full = 0;
    let truncated = 0;
    sock.on('message', (msg) => {
      const p = dnsPacket.decode(msg);
      if (p.flag_tc) truncated++;
      else full++;
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const sent = 600;
    for (let i = 0; i < sent; i++) {
      // Random names under one zone share one budget (keyed by the zone).
      const q = dnsPacket.encode({ type: 'query', id: i, questions: [{ name: `r${i}.rrl.example`, type: 'A' }] });
      sock.send(q, server.dnsPort, '127.0.0.1');
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 500));
    sock.close();
    // About one second's budget (200, plus what refilled while sending) answered in full.
    expect(full).toBeGreaterThanOrEqual(190);
    expect(full).toBeLessThan(sent - 150);
    // Half of the rest comes back truncated.
    expect(truncated).toBeGreaterThan((sent - full) / 2 - 30);
    expect(full + truncated).toBeLessThan(sent);
  });

  it('does not limit TCP, and /metrics counts what it held back', async () => {
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((resolve, reject) =>
      execFile('dig', ['@127.0.0.1', '-p', String(server.dnsPort), '+tcp', 'x.rrl.example', 'A'], (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      ),
    );
    expect(out).toContain('status: NXDOMAIN');
    const metrics = await (await fetch(`http://127.0.0.1:${server.apiPort}/metrics`)).text();
    expect(metrics).toMatch(/vpsdns_dns_rrl_total\{action="dropped"\} [1-9]/);
    expect(metrics).toMatch(/vpsdns_dns_rrl_total\{action="slipped"\} [1-9]/);
  });

  it('logs that it is limiting (a warning), and 1 query in 100 with --query-log-sample 100', async () => {
    for (let i = 0; i < 30 && !server.output().includes('"msg":"dns query"'); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const lines = server.output().split('\n');
    expect(lines.some((l) => l.includes('"level":40') && l.includes('response rate limiting is active'))).toBe(true);
    const logged = lines.filter((l) => l.includes('"msg":"dns query"')).map((l) => JSON.parse(l));
    expect(logged.length).toBeGreaterThanOrEqual(3);
    expect(logged.length).toBeLessThanOrEqual(10);
    expect(logged[0]).toMatchObject({ client: '127.0.0.1', transport: 'udp', qtype: 1 });
    expect(logged[0].qname).toMatch(/\.rrl\.example$/);
  });
});
