// DNS wire format for an authoritative server: the query parser (header, question and OPT read in
// place, every malformation classified) and the response writer (name compression, rollback for
// truncation). Nothing here knows about zones.

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  DS: 43,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
} as const;

export const CLASS_IN = 1;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended rcode (RFC 6891): upper 8 bits go into the OPT TTL. */
  BADVERS: 16,
} as const;

export const OPCODE_QUERY = 0;
export const OPCODE_NOTIFY = 4;

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_CD = 0x0010;

export const HEADER_SIZE = 12;
/** Size of an OPT RR without options: root name, type, class, TTL, RDLENGTH. */
export const OPT_SIZE = 11;
export const MAX_NAME_WIRE = 255;

export interface Edns {
  /** Requester's UDP payload size (already raised to 512 when smaller). */
  payload: number;
  version: number;
  dnssecOk: boolean;
}

export interface Query {
  id: number;
  /** The raw flags word of the query. */
  flags: number;
  opcode: number;
  /** Offset just past the question's name; the question ends 4 bytes later. */
  qnameEnd: number;
  /** Lower-cased wire bytes of the question name (latin1 string): the cache key's name part. */
  nameKey: string;
  qtype: number;
  qclass: number;
  edns: Edns | null;
}

export type Parsed =
  | { kind: 'query'; query: Query }
  /** Not worth an answer: shorter than a header, or a response (QR set). */
  | { kind: 'drop' }
  /** Answer with this rcode; `questionEnd` > 12 when the question could be read and is echoed. */
  | { kind: 'error'; rcode: number; id: number; flags: number; questionEnd: number };

const scratch = Buffer.alloc(MAX_NAME_WIRE);

/**
 * Read a name at `offset` that must not use compression (the question of a query).
 * Returns the offset after it and fills `scratch` with the lower-cased wire form, or -1 when malformed.
 */
function readQuestionName(buf: Buffer, offset: number): { end: number; length: number } | null {
  let pos = offset;
  let out = 0;
  for (;;) {
    if (pos >= buf.length) return null;
    const len = buf[pos];
    if (len & 0xc0) return null; // compression pointers (or extended label types) have no place in a question
    if (out + len + 1 > MAX_NAME_WIRE) return null;
    if (pos + 1 + len > buf.length) return null;
    scratch[out++] = len;
    for (let i = 1; i <= len; i++) {
      const b = buf[pos + i];
      scratch[out++] = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
    }
    pos += len + 1;
    if (len === 0) return { end: pos, length: out };
  }
}

/** Skip a possibly compressed name; returns the offset after it, or -1 when malformed (bad pointer, loop, overrun). */
export function skipName(buf: Buffer, offset: number): number {
  let pos = offset;
  let end = -1;
  let total = 0;
  for (let hops = 0; hops < 128; ) {
    if (pos >= buf.length) return -1;
    const len = buf[pos];
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return -1;
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (end < 0) end = pos + 2;
      if (target >= pos) return -1; // pointers go backwards; anything else is a loop or garbage
      pos = target;
      hops++;
      continue;
    }
    if (len & 0xc0) return -1;
    total += len + 1;
    if (total > MAX_NAME_WIRE) return -1;
    if (pos + 1 + len > buf.length) return -1;
    pos += len + 1;
    if (len === 0) return end < 0 ? pos : end;
  }
  return -1;
}

/** Classify a datagram or TCP message. Never throws. */
export function parseQuery(buf: Buffer): Parsed {
  if (buf.length < HEADER_SIZE) return { kind: 'drop' };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & FLAG_QR) return { kind: 'drop' };
  const opcode = (flags >> 11) & 0xf;
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  if (opcode !== OPCODE_QUERY && opcode !== OPCODE_NOTIFY) {
    return { kind: 'error', rcode: RCODE.NOTIMP, id, flags, questionEnd: 0 };
  }
  if (qdcount !== 1) return { kind: 'error', rcode: RCODE.FORMERR, id, flags, questionEnd: 0 };
  const name = readQuestionName(buf, HEADER_SIZE);
  if (!name || name.end + 4 > buf.length) return { kind: 'error', rcode: RCODE.FORMERR, id, flags, questionEnd: 0 };
  const qnameEnd = name.end;
  const questionEnd = qnameEnd + 4;
  const formerr: Parsed = { kind: 'error', rcode: RCODE.FORMERR, id, flags, questionEnd };
  const qtype = buf.readUInt16BE(qnameEnd);
  const qclass = buf.readUInt16BE(qnameEnd + 2);
  // A NOTIFY carries the SOA in its answer section (RFC 1996); a QUERY carries nothing there.
  if (opcode === OPCODE_QUERY && (ancount !== 0 || nscount !== 0)) return formerr;
  let pos = questionEnd;
  let edns: Edns | null = null;
  const records = ancount + nscount + arcount;
  for (let i = 0; i < records; i++) {
    const nameStart = pos;
    pos = skipName(buf, pos);
    if (pos < 0 || pos + 10 > buf.length) return formerr;
    const type = buf.readUInt16BE(pos);
    const rrclass = buf.readUInt16BE(pos + 2);
    const rdlength = buf.readUInt16BE(pos + 8);
    const rdata = pos + 10;
    if (rdata + rdlength > buf.length) return formerr;
    if (type === TYPE.OPT) {
      // One OPT, in the additional section, owned by the root (RFC 6891 6.1.1).
      if (edns || i < ancount + nscount || buf[nameStart] !== 0) return formerr;
      for (let o = rdata; o < rdata + rdlength; ) {
        if (o + 4 > rdata + rdlength) return formerr;
        o += 4 + buf.readUInt16BE(o + 2);
        if (o > rdata + rdlength) return formerr;
      }
      edns = {
        payload: Math.max(512, rrclass),
        version: buf[pos + 5],
        dnssecOk: (buf[pos + 6] & 0x80) !== 0,
      };
    }
    pos = rdata + rdlength;
  }
  if (pos !== buf.length) return formerr; // trailing garbage
  return {
    kind: 'query',
    query: {
      id,
      flags,
      opcode,
      qnameEnd,
      nameKey: scratch.toString('latin1', 0, name.length),
      qtype,
      qclass,
      edns,
    },
  };
}

/**
 * The labels of a lower-cased wire name (as in `Query.nameKey`), in the dotted text form the index
 * uses. Bytes that cannot appear in a stored name ('.', '\\', non-printable) are written as \DDD, so
 * such a label can never be mistaken for two labels of a stored name.
 */
/**
 * The question of a message this server wrote (its name is never compressed there): labels in lower
 * case, the type, and where the question ends. Null when there is none. For logs and rate limiting.
 */
export function readQuestion(msg: Buffer): { labels: string[]; qtype: number; end: number } | null {
  if (msg.length < HEADER_SIZE || msg.readUInt16BE(4) !== 1) return null;
  const labels: string[] = [];
  let at = HEADER_SIZE;
  for (;;) {
    if (at >= msg.length) return null;
    const len = msg[at];
    if (len === 0) break;
    if (len > 63 || at + 1 + len > msg.length) return null;
    labels.push(msg.toString('latin1', at + 1, at + 1 + len).toLowerCase());
    at += 1 + len;
  }
  if (at + 5 > msg.length) return null;
  return { labels, qtype: msg.readUInt16BE(at + 1), end: at + 5 };
}

export function nameKeyLabels(nameKey: string): string[] {
  const labels: string[] = [];
  let pos = 0;
  for (;;) {
    const len = nameKey.charCodeAt(pos);
    if (len === 0) return labels;
    let label = nameKey.slice(pos + 1, pos + 1 + len);
    if (/[^\x21-\x2d\x2f-\x5b\x5d-\x7e]/.test(label)) {
      let escaped = '';
      for (let i = 0; i < label.length; i++) {
        const c = label.charCodeAt(i);
        const plain = c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c;
        escaped += plain ? label[i] : `\\${c.toString().padStart(3, '0')}`;
      }
      label = escaped;
    }
    labels.push(label);
    pos += len + 1;
  }
}

/** Bytes of one text label (undoing the \DDD escapes of nameKeyLabels). */
export function labelBytes(label: string): Buffer {
  if (!label.includes('\\')) return Buffer.from(label, 'latin1');
  const bytes: number[] = [];
  for (let i = 0; i < label.length; i++) {
    if (label[i] === '\\' && /^[0-9]{3}$/.test(label.slice(i + 1, i + 4))) {
      bytes.push(Number(label.slice(i + 1, i + 4)));
      i += 3;
    } else bytes.push(label.charCodeAt(i));
  }
  return Buffer.from(bytes);
}

/** A dotted name in wire form, with the compression key of each suffix, for the encoder. */
interface WireName {
  /** Uncompressed wire form, root label included. */
  bytes: Buffer;
  /** suffixes[i]: the dotted name from label i on (the key of the compression table). */
  suffixes: string[];
  /** offsets[i]: where label i starts in `bytes`; offsets[labels] is the root label. */
  offsets: number[];
}

/**
 * Wire forms of the names the encoder has written (owner names and RDATA names of the index, mostly),
 * so a cache miss copies bytes instead of splitting, joining and converting strings. Bounded: a flood
 * of wildcard-synthesised owner names only clears it now and then.
 */
const wireNames = new Map<string, WireName>();
const WIRE_NAMES_MAX = 65536;

/** The uncompressed wire form of a dotted name (cached; do not modify). */
export function nameWire(dotted: string): Buffer {
  return dotted === '' || dotted === '.' ? ROOT_WIRE : wireName(dotted).bytes;
}
const ROOT_WIRE = Buffer.from([0]);

function wireName(dotted: string): WireName {
  let wn = wireNames.get(dotted);
  if (wn !== undefined) return wn;
  const labels = dotted.split('.');
  const parts = labels.map(labelBytes);
  const offsets: number[] = [];
  let at = 0;
  for (const p of parts) {
    offsets.push(at);
    at += p.length + 1;
  }
  offsets.push(at);
  const bytes = Buffer.allocUnsafe(at + 1);
  for (let i = 0; i < parts.length; i++) {
    bytes[offsets[i]] = parts[i].length;
    parts[i].copy(bytes, offsets[i] + 1);
  }
  bytes[at] = 0;
  wn = { bytes, suffixes: labels.map((_, i) => (i === 0 ? dotted : labels.slice(i).join('.'))), offsets };
  if (wireNames.size >= WIRE_NAMES_MAX) wireNames.clear();
  wireNames.set(dotted, wn);
  return wn;
}

export interface Mark {
  offset: number;
  names: number;
}

/**
 * A growable response buffer with RFC 1035 4.1.4 name compression. Names are dotted, lower-case,
 * without the trailing dot ("" or "." is the root). `mark`/`rollback` undo whole RRsets for truncation.
 */
export class Writer {
  buf: Buffer;
  offset = 0;
  private readonly table = new Map<string, number>();
  private readonly added: string[] = [];
  /** When set, the offset of every compression pointer written (templates whose pointers are moved later). */
  pointers: number[] | null = null;

  constructor(size = 4096) {
    // Every byte up to `offset` is written before it is read: no need to zero.
    this.buf = Buffer.allocUnsafe(size);
  }

  private ensure(n: number): void {
    if (this.offset + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.offset + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.offset++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    const b = this.buf;
    b[this.offset++] = v >>> 8;
    b[this.offset++] = v & 0xff;
  }

  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.offset++] = v >>> 24;
    b[this.offset++] = (v >>> 16) & 0xff;
    b[this.offset++] = (v >>> 8) & 0xff;
    b[this.offset++] = v & 0xff;
  }

  /** Bytes of a latin1 string (one character per byte), e.g. fixed RDATA kept in the index. */
  latin1(s: string): void {
    this.ensure(s.length);
    const b = this.buf;
    for (let i = 0; i < s.length; i++) b[this.offset++] = s.charCodeAt(i);
  }

  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.offset);
    this.offset += b.length;
  }

  /** Remember that the name with these labels starts at `offset` (and each suffix after it). */
  register(labels: string[], offset: number, wireLengths: number[]): void {
    let at = offset;
    for (let i = 0; i < labels.length; i++) {
      if (at >= 0x4000) return;
      const key = labels.slice(i).join('.');
      if (!this.table.has(key)) {
        this.table.set(key, at);
        this.added.push(key);
      }
      at += wireLengths[i] + 1;
    }
  }

  name(dotted: string, compress = true): void {
    if (dotted === '' || dotted === '.') {
      this.u8(0);
      return;
    }
    const wn = wireName(dotted);
    const start = this.offset;
    // The longest suffix already written is pointed to; the labels before it are written out and
    // offered as targets (names in RDATA that must not be compressed, SRV, are not offered either).
    let pointTo = -1;
    let labels = wn.suffixes.length;
    if (compress) {
      for (let i = 0; i < wn.suffixes.length; i++) {
        const ptr = this.table.get(wn.suffixes[i]);
        if (ptr !== undefined) {
          pointTo = ptr;
          labels = i;
          break;
        }
      }
      for (let i = 0; i < labels; i++) {
        const at = start + wn.offsets[i];
        if (at >= 0x4000) break;
        this.table.set(wn.suffixes[i], at);
        this.added.push(wn.suffixes[i]);
      }
    }
    if (pointTo < 0) {
      this.bytes(wn.bytes);
      return;
    }
    const prefix = wn.offsets[labels];
    this.ensure(prefix + 2);
    wn.bytes.copy(this.buf, start, 0, prefix);
    this.offset = start + prefix;
    this.pointers?.push(this.offset);
    this.u16(0xc000 | pointTo);
  }

  mark(): Mark {
    return { offset: this.offset, names: this.added.length };
  }

  rollback(m: Mark): void {
    this.offset = m.offset;
    while (this.added.length > m.names) this.table.delete(this.added.pop()!);
  }

  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.offset));
  }
}

/** Wire lengths of the labels of a lower-cased wire name key. */
export function nameKeyLengths(nameKey: string): number[] {
  const out: number[] = [];
  for (let pos = 0; nameKey.charCodeAt(pos) !== 0; pos += nameKey.charCodeAt(pos) + 1)
    out.push(nameKey.charCodeAt(pos));
  return out;
}
