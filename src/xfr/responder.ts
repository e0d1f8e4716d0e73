// Answers what the DNS listeners hand over: AXFR and IXFR requests and NOTIFY. Checks TSIG, then the
// access list, then serves from one immutable ZoneIndex (AXFR) and the journal (IXFR), so a transfer
// is consistent even while the zone changes. Needs only a zone lookup and read access to the journal:
// it works the same in a DNS worker process as in the store's process.
import type pino from 'pino';
import { FLAG_AA, FLAG_QR, FLAG_RD, OPCODE_NOTIFY, TYPE } from '../dns/wire.js';
import type { ZoneIndex } from '../dns/zone-index.js';
import type { Acl } from './config.js';
import type { JournalSource } from './journal.js';
import { isTransferRequest, type Message, parseMessage, soaSerial } from './message.js';
import { axfrRecords, ixfrRecords, type OutRR, serialLess, soaAt, toMessages } from './transfer.js';
import {
  appendUnsignedError,
  badTimeOther,
  findTsig,
  type KeyRing,
  RCODE_NOTAUTH,
  ResponseSigner,
  TSIG_ERROR,
  tsigSize,
  verifyRequest,
} from './tsig.js';

const RCODE = { NOERROR: 0, FORMERR: 1, NOTAUTH: RCODE_NOTAUTH, REFUSED: 5 } as const;
const TCP_LIMIT = 65535;
const CLASS_IN = 1;

export interface ResponderOptions {
  /** The index of the zone whose apex is `name` (dotted, lower case), or null. */
  findZone: (name: string) => ZoneIndex | null;
  journal: JournalSource;
  /** Who may AXFR/IXFR. */
  xfrAllow: Acl;
  /** Who may send us NOTIFY. */
  notifyAllow: Acl;
  keys: KeyRing;
  fudge: number;
  /** The implicit apex NS names (left out of IXFR differences). */
  nameservers: string[];
  /** EDNS payload size advertised. */
  ednsPayload: number;
  /** Largest transfer message (default 16 KiB: compression pointers reach only the first 16 KiB). */
  maxMessage?: number;
  logger?: pino.Logger;
  /** Clock in seconds (tests). */
  now?: () => number;
}

export type TransferHandler = (msg: Buffer, remote: string, tcp: boolean) => Buffer[] | null;

export class TransferResponder {
  private readonly o: ResponderOptions;
  private readonly now: () => number;

  constructor(opts: ResponderOptions) {
    this.o = opts;
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Counters for /metrics (read by whoever registers them). */
  readonly stats = { axfr: 0, ixfr: 0, refused: 0, tsigFailures: 0, notifyReceived: 0 };

  /** For DnsServer: the responses to a transfer request or NOTIFY, or null for anything else. */
  readonly handler: TransferHandler = (msg, remote, tcp) => {
    if (!isTransferRequest(msg)) return null;
    // AXFR over UDP is not defined (RFC 5936 4.2): the engine refuses it.
    const m = parseMessage(msg);
    if (m && !tcp && m.qtype === TYPE.AXFR && m.opcode !== OPCODE_NOTIFY) return null;
    try {
      return this.answer(msg, m, remote, tcp);
    } catch (err) {
      this.o.logger?.error({ err, remote }, 'zone transfer failed');
      return [];
    }
  };

  private answer(raw: Buffer, m: Message | null, remote: string, tcp: boolean): Buffer[] {
    if (!m) return [errorMessage(raw, RCODE.FORMERR, null)];
    const tsig = findTsig(m);
    if (tsig === 'formerr') return [errorMessage(raw, RCODE.FORMERR, m)];
    let signer: ResponseSigner | null = null;
    let keyName: string | null = null;
    if (tsig) {
      const v = verifyRequest(m, tsig, this.o.keys, this.now());
      if (v === 'formerr') return [errorMessage(raw, RCODE.FORMERR, m)];
      if (!v.ok) {
        this.stats.tsigFailures++;
        this.o.logger?.warn({ remote, key: tsig.keyName, tsigError: v.error }, 'TSIG check failed');
        const reply = errorMessage(raw, RCODE.NOTAUTH, m);
        if (v.error === TSIG_ERROR.BADTIME && v.key) {
          // BADTIME is signed, with our clock in "other data" (RFC 8945 5.2.3).
          return [
            new ResponseSigner(v.key, tsig.mac, this.o.fudge).sign(
              reply,
              this.now(),
              v.error,
              badTimeOther(this.now()),
            ),
          ];
        }
        return [appendUnsignedError(reply, tsig, v.error, this.now())];
      }
      signer = new ResponseSigner(v.key, tsig.mac, this.o.fudge);
      keyName = v.key.name;
    }
    const sign = (list: Buffer[]) => (signer ? list.map((b) => signer!.sign(b, this.now())) : list);
    const reserve = signer ? tsigSize(signer.key) : 0;

    if (m.opcode === OPCODE_NOTIFY) {
      this.stats.notifyReceived++;
      if (!this.o.notifyAllow.allows(remote, keyName)) return sign([errorMessage(raw, RCODE.REFUSED, m)]);
      const zone = m.qtype === TYPE.SOA ? this.o.findZone(m.qname) : null;
      this.o.logger?.info({ remote, zone: m.qname, known: zone !== null }, 'NOTIFY received');
      return sign([errorMessage(raw, zone ? RCODE.NOERROR : RCODE.NOTAUTH, m, zone !== null)]);
    }
    if (!this.o.xfrAllow.allows(remote, keyName)) {
      this.stats.refused++;
      this.o.logger?.warn({ remote, zone: m.qname, key: keyName }, 'zone transfer refused by --xfr-allow');
      return sign([errorMessage(raw, RCODE.REFUSED, m)]);
    }
    const zone = m.qclass === CLASS_IN ? this.o.findZone(m.qname) : null;
    if (!zone) return sign([errorMessage(raw, RCODE.NOTAUTH, m)]);

    const messages = (records: Iterable<OutRR>, limit: number) =>
      toMessages(records, {
        id: m.id,
        flags: FLAG_QR | FLAG_AA | (m.flags & FLAG_RD),
        question: raw.subarray(12, m.questionEnd),
        qname: m.qname,
        limit,
        ednsPayload: m.ednsPayload !== null ? this.o.ednsPayload : null,
        reserve,
      });
    const maxMessage = Math.min(this.o.maxMessage ?? 16384, TCP_LIMIT);

    if (m.qtype === TYPE.AXFR) {
      this.stats.axfr++;
      const out = sign([...messages(axfrRecords(zone), maxMessage)]);
      this.o.logger?.info({ remote, zone: zone.domain, serial: zone.serial, messages: out.length }, 'AXFR');
      return out;
    }

    // IXFR: the requester's serial is the SOA in the authority section (RFC 1995 3).
    const theirs = m.authority.length === 1 ? soaSerial(raw, m.authority[0]) : null;
    if (theirs === null) return sign([errorMessage(raw, RCODE.FORMERR, m)]);
    this.stats.ixfr++;
    const current = [soaAt(zone, zone.serial)];
    if (!serialLess(theirs, zone.serial)) {
      // Up to date (or newer): the current SOA alone.
      return sign([...messages(current, TCP_LIMIT)]);
    }
    const diff = ixfrRecords(zone, theirs, this.o.journal.journalSince(zone.id, theirs), this.o.nameservers);
    if (!tcp) {
      // RFC 1995 2: the differences if they fit in one datagram, else the current SOA (the client then uses TCP).
      const limit = m.ednsPayload !== null ? Math.min(m.ednsPayload, this.o.ednsPayload) : 512;
      const udp = diff ? [...messages(diff, limit)] : [];
      return sign(udp.length === 1 && udp[0].length + reserve <= limit ? udp : [...messages(current, limit)]);
    }
    const out = sign([...messages(diff ?? axfrRecords(zone), maxMessage)]);
    this.o.logger?.info(
      {
        remote,
        zone: zone.domain,
        from: theirs,
        serial: zone.serial,
        incremental: diff !== null,
        messages: out.length,
      },
      'IXFR',
    );
    return out;
  }
}

/** A reply without records: the question echoed, our rcode, the request's opcode and RD. */
function errorMessage(raw: Buffer, rcode: number, m: Message | null, aa = false): Buffer {
  const questionEnd = m ? m.questionEnd : 12;
  const out = Buffer.alloc(questionEnd);
  raw.copy(out, 0, 0, questionEnd);
  const flags = raw.readUInt16BE(2);
  out.writeUInt16BE(FLAG_QR | (flags & 0x7800) | (flags & FLAG_RD) | (aa ? FLAG_AA : 0) | rcode, 2);
  out.writeUInt16BE(questionEnd > 12 ? 1 : 0, 4);
  out.fill(0, 6, 12);
  return out;
}
