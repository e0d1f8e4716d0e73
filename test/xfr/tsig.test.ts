// TSIG (RFC 8945): verification of requests signed by dig -y (BIND 9.18, captured bytes), errors
// (BADKEY, BADSIG, BADTIME, FORMERR), and signing round trips, also through the live responder.
import { describe, expect, test } from 'vitest';
import { keyRing } from '../../src/xfr/config.js';
import { parseMessage } from '../../src/xfr/message.js';
import {
  findTsig,
  parseTsigKey,
  ResponseSigner,
  signRequest,
  TSIG_ERROR,
  type TsigRecord,
  verifyRequest,
  verifyResponse,
} from '../../src/xfr/tsig.js';
import { decode } from '../dns/helpers.js';
import { KEY_ARG, rcodeOf, SECRET, tcpExchange, transferRecords, xfrServer } from './helpers.js';

// `dig -y hmac-sha256:transfer-key:<SECRET> example.com AXFR` (TCP, EDNS, cookie), as sent.
const DIG_AXFR =
  'fe1700200001000000000002076578616d706c6503636f6d0000fc000100002904d000000000000c000a00081aa190751994a2270c7472616e' +
  '736665722d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b11ae06012c00204b58c42fb15ae55787ed04d2f74c' +
  '6b73c8711696ee695c6c0f34f3f883269443fe1700000000';
// `dig -y hmac-sha512:ixfr-key:<SECRET2> example.com IXFR=2026010101` (UDP, SOA in authority).
const SECRET2 = 'aXhmciBrZXkgc2VjcmV0IGZvciBobWFjLXNoYTUxMiB0ZXN0cw==';
const DIG_IXFR =
  '845900000001000000010002076578616d706c6503636f6d0000fb0001c00c00060001000000000016000078c275f5000000000000000000' +
  '0000000000000000002904d000000000000c000a00086e8d1756815500a608697866722d6b65790000fa00ff00000000005d0b686d61632d' +
  '7368613531320000006b11ae08012c0040a605da9f958cc33d340d19b7f3154bdefd33f28563235ef8820ae9b67b8e8feb1d2363c75cfb00' +
  'fecc5ab0b39d964e61bc6681f689fe3af5caf2af787527f4d5845900000000';

function tsigOf(hex: string): { msg: NonNullable<ReturnType<typeof parseMessage>>; tsig: TsigRecord } {
  const msg = parseMessage(Buffer.from(hex, 'hex'))!;
  const tsig = findTsig(msg);
  if (!tsig || tsig === 'formerr') throw new Error('no TSIG');
  return { msg, tsig };
}

const ring = keyRing([
  parseTsigKey(`transfer-key:hmac-sha256:${SECRET}`),
  parseTsigKey(`ixfr-key:hmac-sha512:${SECRET2}`),
]);

describe('TSIG verification of dig -y requests', () => {
  test('the TSIG record is read', () => {
    const { tsig } = tsigOf(DIG_AXFR);
    expect(tsig).toMatchObject({
      keyName: 'transfer-key',
      algorithm: 'hmac-sha256',
      fudge: 300,
      originalId: 0xfe17,
      error: 0,
    });
    expect(tsig.mac.length).toBe(32);
    expect(tsigOf(DIG_IXFR).tsig).toMatchObject({ keyName: 'ixfr-key', algorithm: 'hmac-sha512' });
  });

  test('hmac-sha256 and hmac-sha512 signatures verify within the fudge', () => {
    for (const hex of [DIG_AXFR, DIG_IXFR]) {
      const { msg, tsig } = tsigOf(hex);
      for (const skew of [0, -300, 300]) {
        const v = verifyRequest(msg, tsig, ring, tsig.timeSigned + skew);
        expect(v !== 'formerr' && v.ok).toBe(true);
      }
    }
  });

  test('outside the fudge: BADTIME, with the key (the answer is signed)', () => {
    const { msg, tsig } = tsigOf(DIG_AXFR);
    const v = verifyRequest(msg, tsig, ring, tsig.timeSigned + 301);
    expect(v).toMatchObject({ ok: false, error: TSIG_ERROR.BADTIME });
    expect(v !== 'formerr' && !v.ok && v.key?.name).toBe('transfer-key');
  });

  test('one changed byte, or another secret: BADSIG', () => {
    const bytes = Buffer.from(DIG_AXFR, 'hex');
    bytes[14] ^= 0x20; // a letter of example.com changes case
    const msg = parseMessage(bytes)!;
    const tsig = findTsig(msg) as TsigRecord;
    expect(verifyRequest(msg, tsig, ring, tsig.timeSigned)).toMatchObject({ ok: false, error: TSIG_ERROR.BADSIG });
    const other = keyRing([parseTsigKey('transfer-key:hmac-sha256:b3RoZXIgc2VjcmV0')]);
    const orig = tsigOf(DIG_AXFR);
    expect(verifyRequest(orig.msg, orig.tsig, other, orig.tsig.timeSigned)).toMatchObject({
      ok: false,
      error: TSIG_ERROR.BADSIG,
    });
  });

  test('unknown key name, or the right name with another algorithm: BADKEY', () => {
    const { msg, tsig } = tsigOf(DIG_AXFR);
    expect(verifyRequest(msg, tsig, new Map(), tsig.timeSigned)).toMatchObject({ error: TSIG_ERROR.BADKEY });
    const sha1 = keyRing([parseTsigKey(`transfer-key:hmac-sha1:${SECRET}`)]);
    expect(verifyRequest(msg, tsig, sha1, tsig.timeSigned)).toMatchObject({ error: TSIG_ERROR.BADKEY });
  });

  test('a TSIG that is not the last record is a format error', () => {
    const bytes = Buffer.from(DIG_AXFR, 'hex');
    // Swap the order: make the OPT come after the TSIG by moving it.
    const msg = parseMessage(bytes)!;
    const [opt, tsigRR] = msg.additional;
    const swapped = Buffer.concat([
      bytes.subarray(0, opt.start),
      bytes.subarray(tsigRR.start, tsigRR.end),
      bytes.subarray(opt.start, opt.end),
    ]);
    expect(findTsig(parseMessage(swapped)!)).toBe('formerr');
  });
});

describe('TSIG signing', () => {
  test('a signed request verifies; its response signed with the request MAC verifies', () => {
    const key = ring.get('transfer-key')!;
    const req = Buffer.from(DIG_AXFR, 'hex').subarray(0, 29); // header + question
    req.writeUInt16BE(0, 10);
    const now = 1_800_000_000;
    const { bytes, mac } = signRequest(Buffer.from(req), key, now, 300);
    const msg = parseMessage(bytes)!;
    const v = verifyRequest(msg, findTsig(msg) as TsigRecord, ring, now);
    expect(v !== 'formerr' && v.ok).toBe(true);
    const reply = Buffer.from(req);
    reply[2] |= 0x80;
    const signed = new ResponseSigner(key, mac, 300).sign(reply, now);
    expect(verifyResponse(parseMessage(signed)!, key, mac)).toBe(true);
    signed[3] ^= 1;
    expect(verifyResponse(parseMessage(signed)!, key, mac)).toBe(false);
  });

  test('key option parsing', () => {
    expect(parseTsigKey(`Name.Example.:${SECRET}`)).toMatchObject({ name: 'name.example', algorithm: 'hmac-sha256' });
    expect(() => parseTsigKey('k:hmac-sha3:AAAA')).toThrow(/unknown TSIG algorithm/);
    expect(() => parseTsigKey('k:hmac-sha256:not base64!')).toThrow(/not base64/);
    expect(() => parseTsigKey('just-a-name')).toThrow(/name:algorithm:base64secret/);
  });
});

describe('TSIG through the responder (dig bytes replayed at their signing time)', () => {
  test('signed AXFR answered and signed; BADTIME later; unsigned refused when only the key is allowed', async () => {
    const { tsig } = tsigOf(DIG_AXFR);
    let clock = tsig.timeSigned;
    const fx = await xfrServer(['--xfr-allow', 'transfer-key', '--tsig-key', KEY_ARG], () => clock);
    try {
      const request = Buffer.from(DIG_AXFR, 'hex');
      const messages = await tcpExchange(fx.port, request);
      expect(rcodeOf(messages[0])).toBe('NOERROR');
      const records = transferRecords(messages);
      expect(records[0]).toMatch(/^example.com 3600 SOA /);
      expect(records[records.length - 1]).toBe(records[0]);
      // The first message's TSIG covers dig's MAC.
      const key = ring.get('transfer-key')!;
      expect(verifyResponse(parseMessage(messages[0])!, key, tsig.mac)).toBe(true);

      clock = tsig.timeSigned + 1000;
      const late = await tcpExchange(fx.port, request);
      expect(late).toHaveLength(1);
      expect(rcodeOf(late[0])).toBe('NOTAUTH');
      const lateTsig = findTsig(parseMessage(late[0])!) as TsigRecord;
      expect(lateTsig.error).toBe(TSIG_ERROR.BADTIME);
      expect(lateTsig.other.readUIntBE(0, 6)).toBe(clock);

      // The same request without its TSIG (and without the OPT): REFUSED.
      const msg = parseMessage(request)!;
      const unsigned = Buffer.from(request.subarray(0, msg.additional[0].start));
      unsigned.writeUInt16BE(0, 10);
      const refused = await tcpExchange(fx.port, unsigned);
      expect(decode(refused[0]).rcode).toBe('REFUSED');
    } finally {
      await fx.close();
    }
  });
});
