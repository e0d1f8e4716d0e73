// TSIG (RFC 8945): shared-secret HMAC signatures on transfer requests, their (multi-message)
// responses, and NOTIFY. Keys come from configuration (`--tsig-key name:algorithm:base64secret`).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { TYPE } from '../dns/wire.js';
import { type Message, nameWire, readName } from './message.js';

export const TSIG_ERROR = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;
export const RCODE_NOTAUTH = 9;
const CLASS_ANY = 255;

/** Algorithm names as they appear on the wire, and the hash behind each. */
export const ALGORITHMS: Record<string, { wire: string; hash: string; size: number }> = {
  'hmac-md5': { wire: 'hmac-md5.sig-alg.reg.int', hash: 'md5', size: 16 },
  'hmac-sha1': { wire: 'hmac-sha1', hash: 'sha1', size: 20 },
  'hmac-sha224': { wire: 'hmac-sha224', hash: 'sha224', size: 28 },
  'hmac-sha256': { wire: 'hmac-sha256', hash: 'sha256', size: 32 },
  'hmac-sha384': { wire: 'hmac-sha384', hash: 'sha384', size: 48 },
  'hmac-sha512': { wire: 'hmac-sha512', hash: 'sha512', size: 64 },
};

export interface TsigKey {
  /** Key name, dotted, lower case, no final dot. */
  name: string;
  /** Short algorithm name (a key of ALGORITHMS). */
  algorithm: string;
  secret: Buffer;
}

export type KeyRing = Map<string, TsigKey>;

/** `name:algorithm:base64` (or `name:base64`, HMAC-SHA256), as given to --tsig-key. Throws with a clear message. */
export function parseTsigKey(text: string): TsigKey {
  const parts = text.split(':');
  if (parts.length !== 2 && parts.length !== 3) {
    throw new Error(`"${text}" is not name:algorithm:base64secret`);
  }
  const name = parts[0].toLowerCase().replace(/\.$/, '');
  const algorithm = parts.length === 3 ? parts[1].toLowerCase() : 'hmac-sha256';
  const secretText = parts[parts.length - 1];
  if (!/^[a-z0-9_.-]+$/.test(name)) throw new Error(`TSIG key name "${parts[0]}" must be a domain-style name`);
  if (!ALGORITHMS[algorithm]) {
    throw new Error(`unknown TSIG algorithm "${algorithm}" (one of ${Object.keys(ALGORITHMS).join(', ')})`);
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secretText)) throw new Error(`the secret of TSIG key "${name}" is not base64`);
  const secret = Buffer.from(secretText, 'base64');
  if (secret.length === 0) throw new Error(`the secret of TSIG key "${name}" is empty`);
  return { name, algorithm, secret };
}

export interface TsigRecord {
  /** Offset where the TSIG RR starts (everything before it is what was signed). */
  start: number;
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
}

/**
 * The message's TSIG record: null when unsigned, 'formerr' when a TSIG is present but misplaced or
 * malformed (RFC 8945 5.2: it must be the last record of the additional section, class ANY).
 */
export function findTsig(msg: Message): TsigRecord | null | 'formerr' {
  const all = [...msg.answer, ...msg.authority, ...msg.additional];
  const idx = all.findIndex((rr) => rr.type === TYPE.TSIG);
  if (idx < 0) return null;
  const last = msg.additional[msg.additional.length - 1];
  const rr = all[idx];
  if (rr !== last || rr.klass !== CLASS_ANY) return 'formerr';
  const buf = msg.buf;
  const alg = readName(buf, rr.rdata);
  if (!alg) return 'formerr';
  let p = alg.end;
  const end = rr.rdata + rr.rdlength;
  if (p + 10 > end) return 'formerr';
  const timeSigned = buf.readUInt16BE(p) * 2 ** 32 + buf.readUInt32BE(p + 2);
  const fudge = buf.readUInt16BE(p + 6);
  const macSize = buf.readUInt16BE(p + 8);
  p += 10;
  if (p + macSize + 6 > end) return 'formerr';
  const mac = buf.subarray(p, p + macSize);
  p += macSize;
  const originalId = buf.readUInt16BE(p);
  const error = buf.readUInt16BE(p + 2);
  const otherLen = buf.readUInt16BE(p + 4);
  p += 6;
  if (p + otherLen !== end) return 'formerr';
  return {
    start: rr.start,
    keyName: rr.name,
    algorithm: alg.name,
    timeSigned,
    fudge,
    mac: Buffer.from(mac),
    originalId,
    error,
    other: Buffer.from(buf.subarray(p, end)),
  };
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function u48(v: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(v / 2 ** 32) & 0xffff, 0);
  b.writeUInt32BE(v >>> 0, 2);
  return b;
}

/** The message as it was before the TSIG was added: no TSIG RR, ARCOUNT one less, the original id. */
function unsignedPart(buf: Buffer, tsig: TsigRecord): Buffer {
  const body = Buffer.from(buf.subarray(0, tsig.start));
  body.writeUInt16BE(tsig.originalId, 0);
  body.writeUInt16BE(body.readUInt16BE(10) - 1, 10);
  return body;
}

interface Variables {
  timeSigned: number;
  fudge: number;
  error: number;
  other: Buffer;
}

/** TSIG variables (RFC 8945 4.3.3), or only the timers for the later messages of a transfer (5.3.1). */
function variables(key: TsigKey, v: Variables, timersOnly: boolean): Buffer {
  const timers = [u48(v.timeSigned), u16(v.fudge)];
  if (timersOnly) return Buffer.concat(timers);
  return Buffer.concat([
    nameWire(key.name),
    u16(CLASS_ANY),
    Buffer.alloc(4), // TTL 0
    nameWire(ALGORITHMS[key.algorithm].wire),
    ...timers,
    u16(v.error),
    u16(v.other.length),
    v.other,
  ]);
}

function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(ALGORITHMS[key.algorithm].hash, key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** A MAC with its 2-byte length, as the next signature covers it. */
function withLength(mac: Buffer): Buffer {
  return Buffer.concat([u16(mac.length), mac]);
}

/** Append a TSIG RR signed with `key` to `message` (ARCOUNT incremented). */
export function appendTsig(message: Buffer, key: TsigKey, v: Variables & { mac: Buffer; originalId: number }): Buffer {
  return appendTsigRaw(message, key.name, ALGORITHMS[key.algorithm].wire, v);
}

/** Bytes a TSIG RR with this key adds to a message (for sizing transfer messages). */
export function tsigSize(key: TsigKey): number {
  const alg = ALGORITHMS[key.algorithm];
  return nameWire(key.name).length + 10 + nameWire(alg.wire).length + 16 + alg.size + 6 + 6;
}

export type Verified =
  | { ok: true; key: TsigKey; tsig: TsigRecord }
  /** NOTAUTH with this TSIG error; `key` is set when the answer can (BADTIME) be signed. */
  | { ok: false; error: number; tsig: TsigRecord; key: TsigKey | null };

function macMatches(key: TsigKey, expected: Buffer, given: Buffer): boolean | 'formerr' {
  const size = ALGORITHMS[key.algorithm].size;
  if (given.length > size) return 'formerr';
  // RFC 8945 5.2.2.1: truncated MACs down to half the hash (and at least 10 bytes) are acceptable.
  if (given.length < Math.max(10, size / 2)) return false;
  return timingSafeEqual(expected.subarray(0, given.length), given);
}

/**
 * Check a signed request (RFC 8945 5.2): key known (BADKEY), MAC right (BADSIG), time within the
 * fudge (BADTIME). `now` is in seconds. Returns 'formerr' for a MAC longer than the algorithm's.
 */
export function verifyRequest(msg: Message, tsig: TsigRecord, keys: KeyRing, now: number): Verified | 'formerr' {
  const key = keys.get(tsig.keyName);
  if (!key || ALGORITHMS[key.algorithm].wire !== tsig.algorithm) {
    return { ok: false, error: TSIG_ERROR.BADKEY, tsig, key: null };
  }
  const expected = hmac(key, [unsignedPart(msg.buf, tsig), variables(key, tsig, false)]);
  const match = macMatches(key, expected, tsig.mac);
  if (match === 'formerr') return 'formerr';
  if (!match) return { ok: false, error: TSIG_ERROR.BADSIG, tsig, key: null };
  if (Math.abs(now - tsig.timeSigned) > tsig.fudge) return { ok: false, error: TSIG_ERROR.BADTIME, tsig, key };
  return { ok: true, key, tsig };
}

/**
 * Signs the messages of one response (RFC 8945 5.3): the first covers the request's MAC and the full
 * variables, each later one the previous MAC and only the timers (every message is signed).
 */
export class ResponseSigner {
  private priorMac: Buffer;
  private first = true;

  constructor(
    readonly key: TsigKey,
    requestMac: Buffer,
    private readonly fudge: number,
  ) {
    this.priorMac = requestMac;
  }

  sign(message: Buffer, now: number, error = 0, other: Buffer = Buffer.alloc(0)): Buffer {
    const v = { timeSigned: now, fudge: this.fudge, error, other };
    const mac = hmac(this.key, [withLength(this.priorMac), message, variables(this.key, v, !this.first)]);
    this.first = false;
    this.priorMac = mac;
    return appendTsig(message, this.key, { ...v, mac, originalId: message.readUInt16BE(0) });
  }
}

/** Sign a request we send (NOTIFY); returns the bytes and the MAC the response must cover. */
export function signRequest(message: Buffer, key: TsigKey, now: number, fudge: number): { bytes: Buffer; mac: Buffer } {
  const v = { timeSigned: now, fudge, error: 0, other: Buffer.alloc(0) };
  const mac = hmac(key, [message, variables(key, v, false)]);
  return { bytes: appendTsig(message, key, { ...v, mac, originalId: message.readUInt16BE(0) }), mac };
}

/** Check the TSIG of a (single-message) response to a request we signed with `requestMac`. */
export function verifyResponse(msg: Message, key: TsigKey, requestMac: Buffer): boolean {
  const tsig = findTsig(msg);
  if (!tsig || tsig === 'formerr' || tsig.keyName !== key.name) return false;
  if (tsig.error !== 0) return false;
  const expected = hmac(key, [withLength(requestMac), unsignedPart(msg.buf, tsig), variables(key, tsig, false)]);
  return macMatches(key, expected, tsig.mac) === true;
}

/** The unsigned TSIG of an error answer to a request we could not verify (BADKEY, BADSIG). */
export function appendUnsignedError(message: Buffer, tsig: TsigRecord, error: number, now: number): Buffer {
  const bytes = appendTsigRaw(message, tsig.keyName, tsig.algorithm, {
    timeSigned: now,
    fudge: tsig.fudge,
    mac: Buffer.alloc(0),
    originalId: message.readUInt16BE(0),
    error,
    other: Buffer.alloc(0),
  });
  return bytes;
}

function appendTsigRaw(
  message: Buffer,
  keyName: string,
  algorithm: string,
  v: Variables & { mac: Buffer; originalId: number },
): Buffer {
  const rdata = Buffer.concat([
    nameWire(algorithm),
    u48(v.timeSigned),
    u16(v.fudge),
    u16(v.mac.length),
    v.mac,
    u16(v.originalId),
    u16(v.error),
    u16(v.other.length),
    v.other,
  ]);
  const rr = Buffer.concat([
    nameWire(keyName),
    u16(TYPE.TSIG),
    u16(CLASS_ANY),
    Buffer.alloc(4),
    u16(rdata.length),
    rdata,
  ]);
  const out = Buffer.concat([message, rr]);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return out;
}

/** The 6-byte "other data" of a BADTIME answer: the server's time (RFC 8945 5.2.3). */
export function badTimeOther(now: number): Buffer {
  return u48(now);
}
