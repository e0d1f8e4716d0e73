// `dig AXFR` and `dig IXFR=serial`, with and without -y, as the README shows them (Debian
// bind9-dnsutils). dig checks the TSIG of every message of a signed multi-message transfer.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validateRecord } from '../../src/model/record.js';
import { SECRET, type XfrFixture, xfrServer } from './helpers.js';

const run = promisify(execFile);

async function dig(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('dig', args, { timeout: 20_000 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string };
    if (e.code === 'ENOENT') throw new Error('dig is not installed: install the Debian package "bind9-dnsutils"');
    return e.stdout ?? '';
  }
}

const KEY = `hmac-sha256:transfer-key:${SECRET}`;

describe('dig against the transfer responder', () => {
  let fx: XfrFixture;
  let serials: number[];
  const at = () => ['@127.0.0.1', '-p', String(fx.port)];

  beforeAll(async () => {
    fx = await xfrServer([
      '--xfr-allow',
      '127.0.0.1/32,transfer-key',
      '--tsig-key',
      `transfer-key:hmac-sha256:${SECRET}`,
    ]);
    serials = [fx.store.snapshot(fx.zone.id)!.serial];
    const big = Array.from({ length: 1500 }, (_, i) =>
      validateRecord(
        { name: `bulk${i}`, record_type: 'TXT', value: `bulk ${i} ${'y'.repeat(120)}` },
        'example.com',
        60,
      ),
    );
    fx.store.importRecords(fx.zone, big, false);
    serials.push(fx.store.snapshot(fx.zone.id)!.serial);
    fx.store.createRecord(
      fx.zone,
      validateRecord({ name: 'late', record_type: 'A', value: '203.0.113.9' }, 'example.com', 60),
    );
    serials.push(fx.store.snapshot(fx.zone.id)!.serial);
  });
  afterAll(async () => fx?.close());

  test('dig AXFR: the whole zone in several messages', async () => {
    const out = await dig([...at(), 'example.com', 'AXFR']);
    expect(out).not.toMatch(/Transfer failed/);
    const size = out.match(/XFR size: (\d+) records \(messages (\d+)/)!;
    expect(Number(size[2])).toBeGreaterThan(5);
    expect(out).toMatch(/bulk1499\.example\.com\.\s+3600\s+IN\s+TXT/);
  });

  test('dig -y AXFR: every message signed, dig verifies them all', async () => {
    const out = await dig(['-y', KEY, ...at(), 'example.com', 'AXFR']);
    expect(out).not.toMatch(/Transfer failed|Couldn't verify|tsig verify failure/i);
    const size = out.match(/XFR size: (\d+) records \(messages (\d+)/)!;
    expect(Number(size[2])).toBeGreaterThan(5);
    expect(out).toMatch(/transfer-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR 0/);
  });

  test('dig -y with a wrong secret: BADSIG', async () => {
    const out = await dig(['-y', 'hmac-sha256:transfer-key:d3Jvbmcgc2VjcmV0', ...at(), 'example.com', 'AXFR']);
    expect(out).toMatch(/BADSIG/);
    expect(out).not.toMatch(/bulk1/);
  });

  test('dig IXFR=serial over TCP, with and without -y: the last change alone', async () => {
    for (const extra of [[], ['-y', KEY]]) {
      const out = await dig([...extra, ...at(), '+tcp', 'example.com', `IXFR=${serials[1]}`]);
      expect(out).not.toMatch(/Transfer failed|Couldn't verify/);
      const soas = out.match(/\sIN\s+SOA\s/g) ?? [];
      expect(soas).toHaveLength(4);
      expect(out).toMatch(/late\.example\.com\.\s+3600\s+IN\s+A\s+203\.0\.113\.9/);
      expect(out).not.toMatch(/bulk1/);
    }
  });

  test('dig IXFR=serial over UDP: the difference when it fits, the current SOA when it does not', async () => {
    const small = await dig([...at(), '+notcp', 'example.com', `IXFR=${serials[1]}`]);
    expect(small).toMatch(/late\.example\.com\./);
    const big = await dig(['-y', KEY, ...at(), '+notcp', '+noedns', '+ignore', 'example.com', `IXFR=${serials[0]}`]);
    expect(big).toMatch(new RegExp(`SOA\\s+ns1\\.vps\\.org\\. hostmaster\\.vps\\.org\\. ${serials[2]} `));
    expect(big).not.toMatch(/bulk1/);
  });
});
