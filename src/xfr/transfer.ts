// What a transfer carries, as RR sequences over one immutable ZoneIndex, and how a sequence is cut
// into messages. AXFR (RFC 5936): SOA, every other RRset, SOA. IXFR (RFC 1995): current SOA, then per
// serial step [old SOA, deleted RRs, new SOA, added RRs], then current SOA, from the change journal.
// Messages reuse the DNS writer (name compression) and the index's pre-encoded RDATA.
import { writeRecord } from '../dns/encode.js';
import { OPT_SIZE, TYPE, Writer } from '../dns/wire.js';
import { type Rdata, RR_TYPE_CODES, type RRset, recordRdata, type ZoneIndex } from '../dns/zone-index.js';
import { toFqdn } from '../model/names.js';
import type { JournalEntry } from '../store/store.js';

export interface OutRR {
  name: string;
  type: number;
  ttl: number;
  rdata: Rdata;
}

/** The SOA of this zone as it was at `serial` (only the serial differs between versions). */
export function soaAt(zone: ZoneIndex, serial: number): OutRR {
  const rd = zone.soa.rdata[0];
  const post = Buffer.from(rd.post, 'latin1');
  post.writeUInt32BE(serial >>> 0, 0);
  return { name: zone.domain, type: TYPE.SOA, ttl: zone.soa.ttl, rdata: { ...rd, post: post.toString('latin1') } };
}

/** Every RR of the zone, SOA first and last (RFC 5936 2.2), glue and occluded data included. */
export function* axfrRecords(zone: ZoneIndex): Generator<OutRR> {
  const soa: OutRR = { name: zone.domain, type: TYPE.SOA, ttl: zone.soa.ttl, rdata: zone.soa.rdata[0] };
  yield soa;
  for (const node of zone.nodes.values()) {
    for (let rrset: RRset | null = node; rrset !== null; rrset = rrset.next) {
      if (rrset.type === TYPE.SOA) continue;
      for (const rdata of rrset.rdata) yield { name: rrset.name, type: rrset.type, ttl: rrset.ttl, rdata };
    }
  }
  yield soa;
}

/** RFC 1982 serial arithmetic: is `a` older than `b`? */
export function serialLess(a: number, b: number): boolean {
  return a !== b && ((a < b && b - a < 2 ** 31) || (a > b && a - b > 2 ** 31));
}

/**
 * The IXFR difference sequence from `fromSerial` to the zone's serial, or null when the journal
 * cannot give it (then the answer is the whole zone). Apex NS records naming one of the implicit
 * nameservers are left out: the index serves the implicit ones whatever the records say.
 */
export function ixfrRecords(
  zone: ZoneIndex,
  fromSerial: number,
  journal: JournalEntry[] | null,
  implicitNs: string[],
): OutRR[] | null {
  if (!journal || journal.length === 0 || journal[0].from_serial !== fromSerial) return null;
  const steps: Array<{ from: number; to: number; del: JournalEntry[]; add: JournalEntry[] }> = [];
  for (const e of journal) {
    // The index may lag the database by a commit: stop at the serial the index serves.
    if (serialLess(zone.serial, e.serial)) break;
    let step = steps[steps.length - 1];
    if (!step || step.to !== e.serial) {
      if (step && step.to !== e.from_serial) return null; // a gap: not a usable chain
      step = { from: e.from_serial, to: e.serial, del: [], add: [] };
      steps.push(step);
    }
    (e.op === 'del' ? step.del : step.add).push(e);
  }
  if (steps.length === 0 || steps[steps.length - 1].to !== zone.serial) return null;
  const implicit = new Set(implicitNs);
  const rr = (e: JournalEntry): OutRR | null => {
    if (e.type === 'NS' && e.name === '@' && implicit.has(e.value)) return null;
    return {
      name: toFqdn(e.name, zone.domain),
      type: RR_TYPE_CODES[e.type],
      ttl: e.ttl,
      rdata: recordRdata(e.type, e.value, e.priority),
    };
  };
  const out: OutRR[] = [soaAt(zone, zone.serial)];
  for (const s of steps) {
    out.push(soaAt(zone, s.from));
    for (const e of s.del) {
      const r = rr(e);
      if (r) out.push(r);
    }
    out.push(soaAt(zone, s.to));
    for (const e of s.add) {
      const r = rr(e);
      if (r) out.push(r);
    }
  }
  out.push(soaAt(zone, zone.serial));
  return out;
}

function writeRR(w: Writer, rr: OutRR): void {
  writeRecord(w, rr.name, rr.type, rr.ttl, rr.rdata);
}

export interface MessageOptions {
  id: number;
  /** Response flags word (QR, opcode, AA, RD, rcode). */
  flags: number;
  /** The question as it came in (wire bytes after the header), echoed in the first message; null for none. */
  question: Buffer | null;
  /** The question's name, dotted, for compressing against it. */
  qname: string;
  /** Largest message, TSIG and OPT included. */
  limit: number;
  /** OPT payload to add to every message, or null. */
  ednsPayload: number | null;
  /** Bytes kept free at the end of each message for the TSIG RR. */
  reserve: number;
}

function writeOpt(w: Writer, payload: number): void {
  w.u8(0);
  w.u16(TYPE.OPT);
  w.u16(payload);
  w.u32(0);
  w.u16(0);
}

/**
 * Cut a sequence of RRs into messages of at most `limit` bytes (each with at least one RR), the
 * question in the first only (RFC 5936 2.2.1).
 */
export function* toMessages(records: Iterable<OutRR>, o: MessageOptions): Generator<Buffer> {
  const max = o.limit - o.reserve - (o.ednsPayload !== null ? OPT_SIZE : 0);
  let w: Writer | null = null;
  let count = 0;
  let first = true;
  const start = (): Writer => {
    const nw = new Writer(4096);
    nw.u16(o.id);
    nw.u16(o.flags);
    nw.u16(first && o.question ? 1 : 0);
    nw.u16(0);
    nw.u16(0);
    nw.u16(0);
    if (first && o.question) {
      nw.bytes(o.question);
      // Offer the question name for compression, as the DNS answers do.
      const labels = o.qname === '' ? [] : o.qname.split('.');
      const lengths = labels.map((l) => l.replace(/\\[0-9]{3}/g, 'x').length);
      if (o.question.length === lengths.reduce((a, n) => a + n + 1, 1) + 4) nw.register(labels, 12, lengths);
    }
    first = false;
    count = 0;
    return nw;
  };
  const finish = (fw: Writer): Buffer => {
    if (o.ednsPayload !== null) writeOpt(fw, o.ednsPayload);
    fw.buf.writeUInt16BE(count, 6);
    fw.buf.writeUInt16BE(o.ednsPayload !== null ? 1 : 0, 10);
    return fw.result();
  };
  for (const rr of records) {
    w ??= start();
    const m = w.mark();
    writeRR(w, rr);
    if (w.offset > max && count > 0) {
      w.rollback(m);
      yield finish(w);
      w = start();
      writeRR(w, rr);
    }
    count++;
  }
  yield finish(w ?? start());
}
