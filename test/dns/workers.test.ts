// DNS worker processes (--workers 2): the real server in-process with two cluster workers sharing the
// DNS ports. Read-your-writes across workers: after each API write answers, many UDP and TCP queries
// (spread over both workers by the kernel) must all show the change.
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { loopbackServe } from '../helpers/cli.js';
import { buildQuery, decode } from './helpers.js';

let server: RunningServer;
let dataDir: string;
let token: string;
let base: string;

function udpAsk(port: number, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('UDP timeout'));
    }, 3000);
    sock.on('message', (m) => {
      clearTimeout(timer);
      sock.close();
      resolve(m);
    });
    sock.send(msg, port, '127.0.0.1');
  });
}

function tcpAsk(port: number, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error('TCP timeout'));
    }, 3000);
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        conn.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    conn.on('error', reject);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    conn.write(Buffer.concat([len, msg]));
  });
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'vpsdns-workers-'));
  const config = loadConfig([...loopbackServe(dataDir), '--workers', '2'], {});
  // Workers that take 30 ms to apply each change: answers are right only if the API waits for them.
  process.env.VPSDNS_TEST_APPLY_DELAY_MS = '30';
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    server = await startServer(config, pino({ level: 'silent' }));
  } finally {
    process.stdout.write = write;
    delete process.env.VPSDNS_TEST_APPLY_DELAY_MS;
  }
  base = `http://127.0.0.1:${server.apiPort}/api/v1`;
  const account = server.store.auth.createAccount('workers');
  token = server.store.auth.createToken(account.id, ['dns:*']).token;
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('--workers 2', () => {
  test('every write is visible on every worker, over UDP and TCP, as soon as the API answers', async () => {
    const port = server.dnsPort;
    const zone = await api('POST', '/dns-zones/', { domain: 'workers.test' });
    expect(zone.status).toBe(201);
    // The new zone answers at once.
    for (let i = 0; i < 20; i++)
      expect(decode(await udpAsk(port, buildQuery('workers.test', 'SOA'))).rcode).toBe('NOERROR');
    let lastSerial = 0;
    for (let n = 0; n < 15; n++) {
      const created = await api('POST', `/dns-zones/${zone.body.uuid}/records/`, {
        record_type: 'A',
        name: `h${n}`,
        value: `192.0.2.${n + 1}`,
        ttl: 300,
      });
      expect(created.status).toBe(201);
      const q = buildQuery(`h${n}.workers.test`, 'A', { id: n });
      const answers = await Promise.all([
        ...Array.from({ length: 24 }, () => udpAsk(port, q)),
        ...Array.from({ length: 4 }, () => tcpAsk(port, q)),
      ]);
      for (const a of answers) {
        const p = decode(a);
        expect(p.rcode).toBe('NOERROR');
        expect((p.answers![0] as { data: string }).data).toBe(`192.0.2.${n + 1}`);
      }
      // The SOA serial every worker serves only goes forward.
      const soa = decode(await udpAsk(port, buildQuery('workers.test', 'SOA')));
      const serial = (soa.answers![0] as { data: { serial: number } }).data.serial;
      expect(serial).toBeGreaterThan(lastSerial);
      lastSerial = serial;
    }
    // An update and a delete likewise.
    const list = await api('GET', `/dns-zones/${zone.body.uuid}/records/`);
    const h0 = list.body.find((r: { name: string }) => r.name === 'h0');
    expect((await api('PATCH', `/dns-records/${h0.uuid}/`, { value: '198.51.100.1' })).status).toBe(200);
    for (let i = 0; i < 24; i++) {
      const p = decode(await udpAsk(port, buildQuery('h0.workers.test', 'A')));
      expect((p.answers![0] as { data: string }).data).toBe('198.51.100.1');
    }
    expect((await api('DELETE', `/dns-records/${h0.uuid}/`)).status).toBe(204);
    const after = await Promise.all(Array.from({ length: 24 }, () => udpAsk(port, buildQuery('h0.workers.test', 'A'))));
    for (const a of after) expect(decode(a).rcode).toBe('NXDOMAIN');
    // Deleting the zone: REFUSED everywhere at once.
    expect((await api('DELETE', `/dns-zones/${zone.body.uuid}/`)).status).toBe(204);
    const gone = await Promise.all(Array.from({ length: 24 }, () => tcpAsk(port, buildQuery('h1.workers.test', 'A'))));
    for (const a of gone) expect(decode(a).rcode).toBe('REFUSED');
  }, 60_000);
});
