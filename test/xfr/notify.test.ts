// NOTIFY out: a fake secondary on a loopback UDP socket sees the NOTIFY (opcode 4, AA, SOA with the new
// serial), retries while it stays silent, one coalesced NOTIFY for a burst, TSIG when configured.
import dgram from 'node:dgram';
import { afterEach, describe, expect, test } from 'vitest';
import { keyRing, parseNotifyTarget, parseTsigKey } from '../../src/xfr/config.js';
import { parseMessage } from '../../src/xfr/message.js';
import { type NotifyResult, NotifySender } from '../../src/xfr/notify.js';
import { findTsig, ResponseSigner, type TsigRecord, verifyRequest } from '../../src/xfr/tsig.js';
import { DEFAULTS, decode } from '../dns/helpers.js';
import { KEY_ARG } from './helpers.js';

interface Secondary {
  port: number;
  got: Buffer[];
  /** Answer the next request? */
  answer: boolean;
  sock: dgram.Socket;
}

async function secondary(respond: (msg: Buffer) => Buffer): Promise<Secondary> {
  const sock = dgram.createSocket('udp4');
  const s: Secondary = { port: 0, got: [], answer: true, sock };
  sock.on('message', (msg, rinfo) => {
    s.got.push(msg);
    if (s.answer) sock.send(respond(msg), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  s.port = sock.address().port;
  return s;
}

/** A plain NOERROR reply: the request with QR set and no records after the question. */
function reply(msg: Buffer): Buffer {
  const m = parseMessage(msg)!;
  const out = Buffer.from(msg.subarray(0, m.questionEnd));
  out.writeUInt16BE(msg.readUInt16BE(2) | 0x8000, 2);
  out.fill(0, 6, 12);
  return out;
}

function waitFor<T>(get: () => T | undefined, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      const v = get();
      if (v !== undefined) resolve(v);
      else if (Date.now() - start > ms) reject(new Error('timed out'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

const cleanup: Array<() => void> = [];
afterEach(() => {
  while (cleanup.length > 0) cleanup.pop()!();
});

function sender(port: number, extra: Partial<ConstructorParameters<typeof NotifySender>[0]> = {}, key = '') {
  const n = new NotifySender({
    targets: [parseNotifyTarget(`127.0.0.1:${port}${key}`)],
    keys: keyRing([parseTsigKey(KEY_ARG)]),
    fudge: 300,
    retries: 5,
    defaults: DEFAULTS,
    delayMs: 20,
    retryMs: 100,
    ...extra,
  });
  const results: NotifyResult[] = [];
  n.onResult = (r) => results.push(r);
  cleanup.push(() => n.close());
  return { n, results };
}

describe('NOTIFY sender', () => {
  test('a burst of changes gives one NOTIFY with the latest serial, SOA in the answer, AA set', async () => {
    const sec = await secondary(reply);
    cleanup.push(() => sec.sock.close());
    const { n, results } = sender(sec.port);
    for (let s = 2026010101; s <= 2026010105; s++) n.zoneChanged('example.com', s);
    const r = await waitFor(() => results[0]);
    expect(r).toMatchObject({ zone: 'example.com', serial: 2026010105, rcode: 0, tries: 1 });
    expect(sec.got).toHaveLength(1);
    const d = decode(sec.got[0]);
    expect((d as { opcode?: string }).opcode).toBe('NOTIFY');
    expect(d.flags! & 0x8400).toBe(0x0400); // AA, not QR
    expect(d.questions).toEqual([{ name: 'example.com', type: 'SOA', class: 'IN' }]);
    expect(d.answers?.[0]).toMatchObject({ type: 'SOA', data: { serial: 2026010105, mname: 'ns1.vps.org' } });
  });

  test('retried with back-off while the secondary is silent, acknowledged when it answers', async () => {
    const sec = await secondary(reply);
    cleanup.push(() => sec.sock.close());
    sec.answer = false;
    const { n, results } = sender(sec.port);
    n.zoneChanged('example.com', 2026010101);
    await waitFor(() => (sec.got.length >= 3 ? true : undefined));
    sec.answer = true;
    const r = await waitFor(() => results[0]);
    expect(r.rcode).toBe(0);
    expect(r.tries).toBeGreaterThanOrEqual(4);
    // Each retry is a new message id.
    expect(new Set(sec.got.map((m) => m.readUInt16BE(0))).size).toBe(sec.got.length);
  });

  test('given up after the configured number of tries', async () => {
    const sec = await secondary(reply);
    cleanup.push(() => sec.sock.close());
    sec.answer = false;
    const { n, results } = sender(sec.port, { retries: 2, retryMs: 50 });
    n.zoneChanged('example.com', 2026010101);
    const r = await waitFor(() => results[0]);
    expect(r).toMatchObject({ rcode: null, tries: 2 });
    expect(sec.got).toHaveLength(2);
  });

  test('signed with the target key; a signed response is checked', async () => {
    const ring = keyRing([parseTsigKey(KEY_ARG)]);
    const sec = await secondary((msg) => {
      const m = parseMessage(msg)!;
      const tsig = findTsig(m) as TsigRecord;
      return new ResponseSigner(ring.get('transfer-key')!, tsig.mac, 300).sign(reply(msg).subarray(0), tsig.timeSigned);
    });
    cleanup.push(() => sec.sock.close());
    const { n, results } = sender(sec.port, {}, '@transfer-key');
    n.zoneChanged('example.com', 2026010107);
    const r = await waitFor(() => results[0]);
    expect(r.rcode).toBe(0);
    const m = parseMessage(sec.got[0])!;
    const v = verifyRequest(m, findTsig(m) as TsigRecord, ring, Math.floor(Date.now() / 1000));
    expect(v !== 'formerr' && v.ok).toBe(true);
  });

  test('an error rcode is an answer too: logged, not retried', async () => {
    const sec = await secondary((msg) => {
      const out = reply(msg);
      out.writeUInt16BE(out.readUInt16BE(2) | 5, 2);
      return out;
    });
    cleanup.push(() => sec.sock.close());
    const { n, results } = sender(sec.port);
    n.zoneChanged('example.com', 2026010101);
    expect(await waitFor(() => results[0])).toMatchObject({ rcode: 5, tries: 1 });
  });
});
