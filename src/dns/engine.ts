// From query bytes to response bytes, independent of the transport: classify the packet, answer
// errors, look the answer up in the cache (hit: copy and patch id, RD/CD and the name's letter case),
// or resolve on the zone index and encode (miss). Holds the zone table; loadZone/removeZone swap
// one zone at once, synchronously.
import type { ZoneSnapshot } from '../store/store.js';
import { AnswerCache, type CacheEntry } from './cache.js';
import { encodeAnswer, encodeError, type ResponseEdns } from './encode.js';
import { resolve } from './resolve.js';
import {
  CLASS_IN,
  FLAG_CD,
  FLAG_RD,
  HEADER_SIZE,
  nameKeyLabels,
  OPCODE_NOTIFY,
  parseQuery,
  type Query,
  RCODE,
  TYPE,
} from './wire.js';
import { type ZoneDefaults, ZoneIndex, ZoneTable } from './zone-index.js';

export interface EngineOptions extends ZoneDefaults {
  /** UDP payload size advertised in OPT and the most this server sends over UDP (RFC 6891). */
  ednsPayload: number;
  cacheEntries?: number;
  cacheBytes?: number;
}

const TCP_LIMIT = 65535;
const MAX_TRUNCATED_FORMS = 8;

export class DnsEngine {
  readonly zones = new ZoneTable();
  readonly cache: AnswerCache;
  private readonly defaults: ZoneDefaults;
  private readonly ednsPayload: number;

  constructor(opts: EngineOptions) {
    this.defaults = {
      nameservers: opts.nameservers,
      hostmaster: opts.hostmaster,
      soaTtl: opts.soaTtl,
      soaRefresh: opts.soaRefresh,
      soaRetry: opts.soaRetry,
      soaExpire: opts.soaExpire,
      soaMinimum: opts.soaMinimum,
    };
    if (this.defaults.nameservers.length === 0) throw new Error('at least one nameserver is needed for the SOA');
    this.ednsPayload = opts.ednsPayload;
    this.cache = new AnswerCache(opts.cacheEntries, opts.cacheBytes);
  }

  loadZone(snapshot: ZoneSnapshot): void {
    this.zones.set(new ZoneIndex(snapshot, this.defaults));
  }

  removeZone(zoneId: number): void {
    this.zones.remove(zoneId);
  }

  /** The response to one DNS message, or null when it gets none. Never throws on bad input. */
  handle(packet: Buffer, tcp: boolean): Buffer | null {
    const parsed = parseQuery(packet);
    if (parsed.kind === 'drop') return null;
    if (parsed.kind === 'error') {
      return encodeError(packet, parsed.id, parsed.flags, parsed.rcode, parsed.questionEnd, null);
    }
    const q = parsed.query;
    const questionEnd = q.qnameEnd + 4;
    const edns: ResponseEdns | null = q.edns ? { payload: this.ednsPayload, dnssecOk: q.edns.dnssecOk } : null;
    if (q.edns && q.edns.version > 0) {
      // RFC 6891 6.1.3: BADVERS, with our own version (0) in the OPT.
      return encodeError(packet, q.id, q.flags, RCODE.BADVERS & 0xf, questionEnd, {
        ...edns!,
        extendedRcode: RCODE.BADVERS >> 4,
      });
    }
    // NOTIFY is for secondaries; this server is the primary of every zone it has (zone transfers: later).
    if (q.opcode === OPCODE_NOTIFY) return encodeError(packet, q.id, q.flags, RCODE.REFUSED, questionEnd, edns);
    if (q.qtype === TYPE.OPT) return encodeError(packet, q.id, q.flags, RCODE.FORMERR, questionEnd, edns);
    // Class IN only (CHAOS version.bind/id.server are refused); no zone transfers yet.
    if (q.qclass !== CLASS_IN || q.qtype === TYPE.AXFR || q.qtype === TYPE.IXFR) {
      return encodeError(packet, q.id, q.flags, RCODE.REFUSED, questionEnd, edns);
    }
    const limit = tcp ? TCP_LIMIT : q.edns ? Math.min(q.edns.payload, this.ednsPayload) : 512;
    const mode = (q.edns ? 1 : 0) | (q.edns?.dnssecOk ? 2 : 0);
    const key = q.nameKey + String.fromCharCode(q.qtype, mode);

    let entry = this.cache.get(key);
    // An entry of a zone changed (or removed, or with a zone created inside it) since is stale.
    if (entry && this.zones.epochOf(entry.zoneId) !== entry.epoch) entry = undefined;
    if (!entry) {
      const labels = nameKeyLabels(q.nameKey);
      const zone = this.zones.find(labels);
      if (!zone) return encodeError(packet, q.id, q.flags, RCODE.REFUSED, questionEnd, edns);
      // ANY is minimal on TCP too, as NSD does (RFC 8482 4.1).
      const answer = resolve(zone, labels, q.qtype, false);
      entry = {
        zoneId: zone.id,
        epoch: this.zones.epochOf(zone.id)!,
        answer,
        full: encodeAnswer(packet, q, answer, TCP_LIMIT, edns),
        truncated: null,
      };
      this.cache.set(key, entry);
    }
    return patch(this.pick(entry, packet, q, limit, edns), packet, q);
  }

  /** The cached bytes that fit `limit`, truncating (and remembering the truncated form) when needed. */
  private pick(entry: CacheEntry, packet: Buffer, q: Query, limit: number, edns: ResponseEdns | null): Buffer {
    if (entry.full.length <= limit) return entry.full;
    let bytes = entry.truncated?.get(limit);
    if (!bytes) {
      bytes = encodeAnswer(packet, q, entry.answer, limit, edns);
      entry.truncated ??= new Map();
      if (entry.truncated.size < MAX_TRUNCATED_FORMS) {
        entry.truncated.set(limit, bytes);
        this.cache.grew(bytes.length);
      }
    }
    return bytes;
  }
}

/** A copy of cached response bytes made to answer this query: its id, RD and CD bits, and its name's case. */
function patch(cached: Buffer, packet: Buffer, q: Query): Buffer {
  const out = Buffer.allocUnsafe(cached.length);
  cached.copy(out);
  out.writeUInt16BE(q.id, 0);
  const keep = FLAG_RD | FLAG_CD;
  out.writeUInt16BE((out.readUInt16BE(2) & ~keep) | (q.flags & keep), 2);
  packet.copy(out, HEADER_SIZE, HEADER_SIZE, q.qnameEnd);
  return out;
}
