// Response encoding: header, the question copied from the query (its letter case kept), the answer's
// sections with name compression, and the OPT record. Truncation keeps whole RRsets: when the answer
// or authority section does not fit, TC is set; additional RRsets that do not fit are left out quietly
// (RFC 2181 9).
import type { Answer } from './resolve.js';
import {
  FLAG_AA,
  FLAG_CD,
  FLAG_QR,
  FLAG_RD,
  FLAG_TC,
  HEADER_SIZE,
  nameKeyLabels,
  nameKeyLengths,
  nameWire,
  OPT_SIZE,
  type Query,
  RCODE,
  TYPE,
  Writer,
} from './wire.js';
import type { Rdata, RRset } from './zone-index.js';

export interface ResponseEdns {
  /** The payload size this server advertises. */
  payload: number;
  dnssecOk: boolean;
  /** Upper 8 bits of a 12-bit rcode (1 = BADVERS). */
  extendedRcode?: number;
}

function header(w: Writer, id: number, flags: number, counts: [number, number, number, number]): void {
  w.u16(id);
  w.u16(flags);
  for (const c of counts) w.u16(c);
}

/** Response flags from the query's: QR, the opcode, RD and CD copied, AA/TC as given, RA never. */
export function responseFlags(queryFlags: number, rcode: number, aa: boolean, tc: boolean): number {
  return (
    FLAG_QR |
    (queryFlags & 0x7800) |
    (queryFlags & FLAG_RD) |
    (queryFlags & FLAG_CD) |
    (aa ? FLAG_AA : 0) |
    (tc ? FLAG_TC : 0) |
    (rcode & 0xf)
  );
}

function writeOpt(w: Writer, edns: ResponseEdns): void {
  w.u8(0);
  w.u16(TYPE.OPT);
  w.u16(edns.payload);
  w.u8(edns.extendedRcode ?? 0);
  w.u8(0); // version
  w.u16(edns.dnssecOk ? 0x8000 : 0);
  w.u16(0);
}

/** One RR's RDATA (without its length): names compressed, except an SRV target (RFC 2782). */
export function writeRdata(w: Writer, type: number, rd: Rdata): void {
  w.latin1(rd.pre);
  const compress = type !== TYPE.SRV;
  for (const n of rd.names) w.name(n, compress);
  w.latin1(rd.post);
}

/** One resource record (class IN), its RDLENGTH filled in after the RDATA. */
export function writeRecord(w: Writer, name: string, type: number, ttl: number, rd: Rdata): void {
  w.name(name);
  w.u16(type);
  w.u16(1); // IN
  w.u32(ttl);
  const lengthAt = w.offset;
  w.u16(0);
  writeRdata(w, type, rd);
  w.buf.writeUInt16BE(w.offset - lengthAt - 2, lengthAt);
}

function writeRRset(w: Writer, rrset: RRset): void {
  for (const rd of rrset.rdata) writeRecord(w, rrset.name, rrset.type, rrset.ttl, rd);
}

/** Copy the question from the query and offer its name (and suffixes) for compression. */
function writeQuestion(w: Writer, packet: Buffer, q: Query): void {
  w.bytes(packet.subarray(HEADER_SIZE, q.qnameEnd + 4));
  w.register(nameKeyLabels(q.nameKey), HEADER_SIZE, nameKeyLengths(q.nameKey));
}

/** Encode `ans` for the query, in at most `limit` bytes. */
export function encodeAnswer(packet: Buffer, q: Query, ans: Answer, limit: number, edns: ResponseEdns | null): Buffer {
  const w = new Writer(512);
  header(w, q.id, 0, [1, 0, 0, 0]);
  writeQuestion(w, packet, q);
  const max = limit - (edns ? OPT_SIZE : 0);
  const counts: [number, number, number, number] = [1, 0, 0, 0];
  let tc = false;
  const sections = [ans.answer, ans.authority, ans.additional];
  for (let s = 0; s < 3 && !tc; s++) {
    for (const rrset of sections[s]) {
      const m = w.mark();
      writeRRset(w, rrset);
      if (w.offset > max) {
        w.rollback(m);
        if (s < 2) tc = true;
        break;
      }
      counts[s + 1] += rrset.rdata.length;
    }
  }
  if (edns) {
    writeOpt(w, edns);
    counts[3]++;
  }
  w.buf.writeUInt16BE(responseFlags(q.flags, ans.rcode, ans.aa, tc), 2);
  for (let i = 0; i < 4; i++) w.buf.writeUInt16BE(counts[i], 4 + i * 2);
  return w.result();
}

/** A response with no records: errors (FORMERR, NOTIMP, REFUSED, BADVERS). The question is echoed when known. */
export function encodeError(
  packet: Buffer,
  id: number,
  queryFlags: number,
  rcode: number,
  questionEnd: number,
  edns: ResponseEdns | null,
): Buffer {
  const w = new Writer(questionEnd + OPT_SIZE + 16);
  const hasQuestion = questionEnd > HEADER_SIZE;
  header(w, id, responseFlags(queryFlags, rcode, false, false), [hasQuestion ? 1 : 0, 0, 0, edns ? 1 : 0]);
  if (hasQuestion) w.bytes(packet.subarray(HEADER_SIZE, questionEnd));
  if (edns) writeOpt(w, edns);
  return w.result();
}

/**
 * A zone's NXDOMAIN answer, precompiled: the authority section (the SOA) as it follows a question whose
 * name is the zone's apex, and where its compression pointers are. Every pointer in it targets the apex
 * in the question or a name inside the section itself, and both move by the same amount when the
 * question's name is longer, so answering any name of the zone is a copy plus that shift.
 */
export interface NegativeTemplate {
  apexLength: number;
  section: Buffer;
  /** Offsets in `section` of the 2-byte compression pointers. */
  pointers: number[];
  records: number;
}

export function negativeTemplate(apex: string, authority: RRset[]): NegativeTemplate {
  const apexWire = nameWire(apex);
  const w = new Writer(512);
  header(w, 0, 0, [1, 0, 0, 0]);
  w.bytes(apexWire);
  w.u16(TYPE.SOA);
  w.u16(1);
  const labels = apex === '' ? [] : apex.split('.');
  const lengths: number[] = [];
  for (let at = 0; apexWire[at] !== 0; at += apexWire[at] + 1) lengths.push(apexWire[at]);
  w.register(labels, HEADER_SIZE, lengths);
  const start = w.offset;
  w.pointers = [];
  let records = 0;
  for (const rrset of authority) {
    writeRRset(w, rrset);
    records += rrset.rdata.length;
  }
  const pointers = w.pointers.map((p) => p - start);
  return { apexLength: apexWire.length, section: w.result().subarray(start), pointers, records };
}

/** The NXDOMAIN response for this query from its zone's template; null when it would not fit `limit`. */
export function encodeNegative(
  packet: Buffer,
  q: Query,
  t: NegativeTemplate,
  limit: number,
  edns: ResponseEdns | null,
): Buffer | null {
  const questionEnd = q.qnameEnd + 4;
  const size = questionEnd + t.section.length + (edns ? OPT_SIZE : 0);
  if (size > limit) return null;
  const shift = q.qnameEnd - HEADER_SIZE - t.apexLength;
  if (questionEnd + t.section.length > 0x3fff) return null; // pointers reach 14 bits
  const w = new Writer(size);
  header(w, q.id, responseFlags(q.flags, RCODE.NXDOMAIN, true, false), [1, 0, t.records, edns ? 1 : 0]);
  w.bytes(packet.subarray(HEADER_SIZE, questionEnd));
  const sectionStart = w.offset;
  w.bytes(t.section);
  for (const p of t.pointers) {
    const at = sectionStart + p;
    const target = (((t.section[p] & 0x3f) << 8) | t.section[p + 1]) + shift;
    w.buf[at] = 0xc0 | (target >> 8);
    w.buf[at + 1] = target & 0xff;
  }
  if (edns) writeOpt(w, edns);
  return w.result();
}
