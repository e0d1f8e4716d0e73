// Reading the messages the transfer code receives (AXFR/IXFR requests, NOTIFY, responses to our
// NOTIFY): header, question, and the offsets of every RR, so TSIG can be checked on the exact bytes
// and IXFR can read the requester's SOA serial. Names are read with compression. Never throws.
import { labelBytes, OPCODE_NOTIFY, OPCODE_QUERY, skipName, TYPE } from '../dns/wire.js';

export interface RR {
  /** Offset of the owner name. */
  start: number;
  /** Offset after the RR. */
  end: number;
  name: string;
  type: number;
  klass: number;
  ttl: number;
  rdata: number;
  rdlength: number;
}

export interface Message {
  buf: Buffer;
  id: number;
  flags: number;
  opcode: number;
  qr: boolean;
  qname: string;
  qtype: number;
  qclass: number;
  /** Offset after the question; 12 when there is none. */
  questionEnd: number;
  answer: RR[];
  authority: RR[];
  additional: RR[];
  /** The OPT record's advertised payload, or null without EDNS. */
  ednsPayload: number | null;
}

/** A name as dotted lower-case text without the final dot ('' for the root), and the offset after it. */
export function readName(buf: Buffer, offset: number): { name: string; end: number } | null {
  const end = skipName(buf, offset);
  if (end < 0) return null;
  const labels: string[] = [];
  let pos = offset;
  for (let hops = 0; hops < 128; hops++) {
    const len = buf[pos];
    if ((len & 0xc0) === 0xc0) {
      pos = ((len & 0x3f) << 8) | buf[pos + 1];
      continue;
    }
    if (len === 0) return { name: labels.join('.'), end };
    let label = '';
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = buf[i] >= 0x41 && buf[i] <= 0x5a ? buf[i] | 0x20 : buf[i];
      const plain = c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c;
      label += plain ? String.fromCharCode(c) : `\\${c.toString().padStart(3, '0')}`;
    }
    labels.push(label);
    pos += len + 1;
  }
  return null;
}

/** Wire form of a dotted name, uncompressed and lower case (TSIG's canonical form, RFC 8945 4.3.3). */
export function nameWire(dotted: string): Buffer {
  if (dotted === '' || dotted === '.') return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of dotted.replace(/\.$/, '').toLowerCase().split('.')) {
    const bytes = labelBytes(label);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** Parse a whole message; null when malformed (the caller answers FORMERR or drops). */
export function parseMessage(buf: Buffer): Message | null {
  if (buf.length < 12) return null;
  const flags = buf.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
  if (counts[0] > 1) return null;
  let pos = 12;
  let qname = '';
  let qtype = 0;
  let qclass = 0;
  if (counts[0] === 1) {
    const n = readName(buf, pos);
    if (!n || n.end + 4 > buf.length) return null;
    qname = n.name;
    qtype = buf.readUInt16BE(n.end);
    qclass = buf.readUInt16BE(n.end + 2);
    pos = n.end + 4;
  }
  const questionEnd = pos;
  const sections: RR[][] = [[], [], []];
  let ednsPayload: number | null = null;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]; i++) {
      const n = readName(buf, pos);
      if (!n || n.end + 10 > buf.length) return null;
      const rdata = n.end + 10;
      const rdlength = buf.readUInt16BE(n.end + 8);
      if (rdata + rdlength > buf.length) return null;
      const rr: RR = {
        start: pos,
        end: rdata + rdlength,
        name: n.name,
        type: buf.readUInt16BE(n.end),
        klass: buf.readUInt16BE(n.end + 2),
        ttl: buf.readUInt32BE(n.end + 4),
        rdata,
        rdlength,
      };
      if (rr.type === TYPE.OPT) ednsPayload = Math.max(512, rr.klass);
      sections[s].push(rr);
      pos = rr.end;
    }
  }
  if (pos !== buf.length) return null;
  return {
    buf,
    id: buf.readUInt16BE(0),
    flags,
    opcode: (flags >> 11) & 0xf,
    qr: (flags & 0x8000) !== 0,
    qname,
    qtype,
    qclass,
    questionEnd,
    answer: sections[0],
    authority: sections[1],
    additional: sections[2],
    ednsPayload,
  };
}

/** The serial of an SOA RR (its RDATA: two names, then five 32-bit numbers). */
export function soaSerial(buf: Buffer, rr: RR): number | null {
  if (rr.type !== TYPE.SOA) return null;
  const m = skipName(buf, rr.rdata);
  const r = m < 0 ? -1 : skipName(buf, m);
  if (r < 0 || r + 20 > rr.end) return null;
  return buf.readUInt32BE(r);
}

/**
 * Cheap test on raw bytes for the DNS listeners: is this a request the transfer code answers
 * (opcode NOTIFY, or a QUERY for AXFR or IXFR)? Reads the header and skips the question name.
 */
export function isTransferRequest(buf: Buffer): boolean {
  if (buf.length < 17 || buf[2] & 0x80) return false;
  const opcode = (buf[2] >> 3) & 0xf;
  if (opcode === OPCODE_NOTIFY) return true;
  if (opcode !== OPCODE_QUERY) return false;
  const end = skipName(buf, 12);
  if (end < 0 || end + 2 > buf.length) return false;
  const qtype = buf.readUInt16BE(end);
  return qtype === TYPE.AXFR || qtype === TYPE.IXFR;
}
