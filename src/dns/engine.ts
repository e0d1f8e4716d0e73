// From query bytes to response bytes, independent of the transport. The hot path (parseFast + a
// cache hit) reads the header and question in place into module-level scratch, hashes the lower-cased
// name while reading it, and answers with a copy of precompiled bytes patched with the query's id, RD/CD
// bits and letter case: no object is allocated but the response. Everything else (errors, EDNS
// versions, NOTIFY, cache misses) takes the full parser, the resolver and the encoder. Holds the zone
// table; loadZone / applyChange / removeZone change one zone at once, synchronously.
import type { ZoneChange, ZoneChangeRecords } from '../store/store.js';
import {
  AnswerCache,
  type CacheEntry,
  Doorkeeper,
  HASH_SEED,
  hashFinish,
  hashKey,
  hashStep,
  type ZoneEpoch,
} from './cache.js';
import {
  encodeAnswer,
  encodeError,
  encodeNegative,
  type NegativeTemplate,
  negativeTemplate,
  type ResponseEdns,
} from './encode.js';
import { type Answer, resolve } from './resolve.js';
import { CLASS_IN, HEADER_SIZE, nameKeyLabels, OPCODE_NOTIFY, parseQuery, type Query, RCODE, TYPE } from './wire.js';
import { type ZoneDefaults, ZoneIndex, type ZoneSource, ZoneTable } from './zone-index.js';

export interface EngineOptions extends ZoneDefaults {
  /** UDP payload size advertised in OPT and the most this server sends over UDP (RFC 6891). */
  ednsPayload: number;
  cacheEntries?: number;
  cacheBytes?: number;
}

const TCP_LIMIT = 65535;
/** The smallest UDP size limit a query can have (no EDNS, or EDNS asking for less: RFC 6891 6.2.5). */
const MIN_UDP_LIMIT = 512;
const MAX_TRUNCATED_FORMS = 8;

/**
 * Per-engine (so per worker process) counters for metrics: plain integers, a few increments per query.
 * The primary sums them over IPC for /metrics.
 */
export interface DnsCounters {
  queries: number;
  tcp: number;
  cacheHits: number;
  cacheMisses: number;
  /** UDP answers that had to be cut (TC set or additional left out). */
  truncated: number;
  /** Packets given no answer (shorter than a header, or responses). */
  dropped: number;
  /** Responses by rcode (index = rcode, 0..23). */
  rcodes: number[];
  /** Queries by type (index: QTYPE_SLOTS, the last slot for every other type and unparsed packets). */
  qtypes: number[];
  /** Sampled query latency (1 query in LATENCY_SAMPLE): counts per LATENCY_BOUNDS bucket (+Inf last), sum in s. */
  latency: number[];
  latencySum: number;
  /** TCP connections accepted, and open now. */
  tcpConnections: number;
  tcpOpen: number;
  /** UDP responses held back by response rate limiting, dropped or sent truncated (slip). */
  rrlDropped: number;
  rrlSlipped: number;
}

/** Query types counted by name; anything else is `other`. */
export const QTYPE_SLOTS = [
  'A',
  'NS',
  'CNAME',
  'SOA',
  'MX',
  'TXT',
  'AAAA',
  'SRV',
  'CAA',
  'ANY',
  'AXFR',
  'IXFR',
  'other',
];
const QTYPE_SLOT = new Map<number, number>(
  [1, 2, 5, 6, 15, 16, 28, 33, 257, 255, 252, 251].map((code, slot) => [code, slot]),
);
export const LATENCY_BOUNDS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01];
export const LATENCY_SAMPLE = 64;

export function newCounters(): DnsCounters {
  return {
    queries: 0,
    tcp: 0,
    cacheHits: 0,
    cacheMisses: 0,
    truncated: 0,
    dropped: 0,
    rcodes: new Array(24).fill(0),
    qtypes: new Array(QTYPE_SLOTS.length).fill(0),
    latency: new Array(LATENCY_BOUNDS.length + 1).fill(0),
    latencySum: 0,
    tcpConnections: 0,
    tcpOpen: 0,
    rrlDropped: 0,
    rrlSlipped: 0,
  };
}

/** Add `c` into `into`, field by field (numbers and arrays of numbers). */
export function addCounters(into: DnsCounters, c: DnsCounters): void {
  for (const key of Object.keys(into) as Array<keyof DnsCounters>) {
    const a = into[key];
    const b = c[key];
    if (Array.isArray(a) && Array.isArray(b)) for (let i = 0; i < a.length; i++) a[i] += b[i] ?? 0;
    else if (typeof a === 'number' && typeof b === 'number') (into[key] as number) = a + b;
  }
}

/** Record one sampled latency (seconds). */
export function observeLatency(c: DnsCounters, seconds: number): void {
  let i = 0;
  while (i < LATENCY_BOUNDS.length && seconds > LATENCY_BOUNDS[i]) i++;
  c.latency[i]++;
  c.latencySum += seconds;
}

// ---- the fast parser's scratch: one query at a time, nothing allocated ----
const nameBuf = Buffer.alloc(256);
let fNameLength = 0;
let fQnameEnd = 0;
let fQtype = 0;
let fMode = 0;
let fPayload = 0;
let fHash = 0;

/**
 * Read the common query in place: opcode QUERY, one IN question, no answer/authority records, and
 * nothing or one well-formed version-0 OPT in the additional section. False sends the packet to the
 * full parser (which classifies every other case), never a different answer.
 */
function parseFast(buf: Buffer): boolean {
  const len = buf.length;
  if (len < 17) return false;
  // QR clear and opcode 0 (byte 2: QR 0x80, opcode 0x78); QDCOUNT 1; ANCOUNT and NSCOUNT 0; ARCOUNT <= 1.
  if ((buf[2] & 0xf8) !== 0 || buf[4] !== 0 || buf[5] !== 1) return false;
  if ((buf[6] | buf[7] | buf[8] | buf[9] | buf[10]) !== 0 || buf[11] > 1) return false;
  let pos = HEADER_SIZE;
  let out = 0;
  let h = HASH_SEED;
  for (;;) {
    if (pos >= len) return false;
    const l = buf[pos];
    if (l > 63 || out + l + 1 > 255 || pos + 1 + l > len) return false;
    nameBuf[out++] = l;
    h = hashStep(h, l);
    for (let i = pos + 1, end = pos + 1 + l; i < end; i++) {
      let b = buf[i];
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      nameBuf[out++] = b;
      h = hashStep(h, b);
    }
    pos += l + 1;
    if (l === 0) break;
  }
  if (pos + 4 > len || buf[pos + 2] !== 0 || buf[pos + 3] !== CLASS_IN) return false;
  const qtype = (buf[pos] << 8) | buf[pos + 1];
  if (qtype === TYPE.OPT || qtype === TYPE.AXFR || qtype === TYPE.IXFR) return false;
  fQnameEnd = pos;
  fNameLength = out;
  fQtype = qtype;
  pos += 4;
  if (buf[11] === 0) {
    if (pos !== len) return false;
    fMode = 0;
    fPayload = 512;
  } else {
    // OPT: root owner, type 41, class = payload, TTL = ext-rcode, version (0), DO + Z, then RDLENGTH.
    if (pos + 11 > len || buf[pos] !== 0 || buf[pos + 1] !== 0 || buf[pos + 2] !== TYPE.OPT) return false;
    if (buf[pos + 6] !== 0) return false;
    const end = pos + 11 + ((buf[pos + 9] << 8) | buf[pos + 10]);
    if (end !== len) return false;
    for (let o = pos + 11; o < end; ) {
      if (o + 4 > end) return false;
      o += 4 + ((buf[o + 2] << 8) | buf[o + 3]);
      if (o > end) return false;
    }
    const payload = (buf[pos + 3] << 8) | buf[pos + 4];
    fPayload = Math.max(payload, 512);
    fMode = buf[pos + 7] & 0x80 ? 3 : 1;
  }
  fHash = hashFinish(h, qtype, fMode);
  return true;
}

export class DnsEngine {
  readonly zones = new ZoneTable();
  readonly cache: AnswerCache;
  private readonly doorkeeper = new Doorkeeper();
  /** Each zone's precompiled NXDOMAIN, for the epoch it was made in. */
  private readonly negatives = new WeakMap<ZoneEpoch, { epoch: number; template: NegativeTemplate }>();
  readonly counters: DnsCounters = newCounters();
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

  /** Build the zone's index from a snapshot and swap it in (O(zone)). */
  loadZone(snapshot: ZoneSource): void {
    this.zones.set(new ZoneIndex(snapshot, this.defaults));
  }

  /**
   * Patch a committed change into the zone's index (O(change)). False when the zone is not loaded or
   * the change cannot be patched exactly: the caller must then `loadZone` a snapshot (before any query).
   */
  applyChange(zoneId: number, serial: number, change: ZoneChangeRecords): boolean {
    const zone = this.zones.get(zoneId);
    if (!zone || serial <= zone.serial) return false;
    const ok = zone.apply(serial, change.deleted, change.added);
    this.zones.touch(zoneId);
    return ok;
  }

  removeZone(zoneId: number): void {
    this.zones.remove(zoneId);
  }

  /**
   * Follow one committed store change: patch the index when the change lists its records and is
   * smaller than the zone, else rebuild from a snapshot (`snapshotOf` is only called then).
   */
  follow(change: ZoneChange, snapshotOf: (zoneId: number) => ZoneSource | null): 'patched' | 'loaded' | 'removed' {
    if (change.deleted) {
      this.removeZone(change.zoneId);
      return 'removed';
    }
    const r = change.records;
    const zone = this.zones.get(change.zoneId);
    if (r && zone && r.deleted.length + r.added.length <= zone.nodes.size) {
      if (this.applyChange(change.zoneId, change.serial, r)) return 'patched';
    }
    const snapshot = snapshotOf(change.zoneId);
    if (!snapshot) {
      this.removeZone(change.zoneId);
      return 'removed';
    }
    this.loadZone(snapshot);
    return 'loaded';
  }

  /** The response to one DNS message, or null when it gets none. Never throws on bad input. */
  handle(packet: Buffer, tcp: boolean): Buffer | null {
    const c = this.counters;
    c.queries++;
    if (tcp) c.tcp++;
    const fast = parseFast(packet);
    c.qtypes[fast ? (QTYPE_SLOT.get(fQtype) ?? QTYPE_SLOTS.length - 1) : QTYPE_SLOTS.length - 1]++;
    if (fast) {
      const e = this.cache.get(fHash, nameBuf, fNameLength, fQtype, fMode);
      if (e !== undefined && e.zone.epoch === e.epoch) {
        const limit = tcp ? TCP_LIMIT : fMode === 0 ? 512 : Math.min(fPayload, this.ednsPayload);
        if (e.full.length <= limit) {
          c.cacheHits++;
          c.rcodes[e.rcode]++;
          return patch(e.full, packet, fQnameEnd);
        }
      }
    }
    const out = this.slow(packet, tcp);
    if (out === null) c.dropped++;
    else c.rcodes[out[3] & 0xf]++;
    return out;
  }

  /** Every case but a usable cache hit: full parse, errors, resolve and encode on a miss. */
  private slow(packet: Buffer, tcp: boolean): Buffer | null {
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
    // NOTIFY and transfers reach this engine only without the xfr hook (src/xfr answers them before it).
    if (q.opcode === OPCODE_NOTIFY) return encodeError(packet, q.id, q.flags, RCODE.REFUSED, questionEnd, edns);
    if (q.qtype === TYPE.OPT) return encodeError(packet, q.id, q.flags, RCODE.FORMERR, questionEnd, edns);
    // Class IN only (CHAOS version.bind/id.server are refused).
    if (q.qclass !== CLASS_IN || q.qtype === TYPE.AXFR || q.qtype === TYPE.IXFR) {
      return encodeError(packet, q.id, q.flags, RCODE.REFUSED, questionEnd, edns);
    }
    const limit = tcp ? TCP_LIMIT : q.edns ? Math.min(q.edns.payload, this.ednsPayload) : 512;
    const mode = (q.edns ? 1 : 0) | (q.edns?.dnssecOk ? 2 : 0);
    const name = Buffer.from(q.nameKey, 'latin1');
    const hash = hashKey(q.nameKey, q.qtype, mode);

    let entry = this.cache.get(hash, name, name.length, q.qtype, mode);
    // An entry of a zone changed (or removed, or with a zone created inside it) since is stale.
    if (entry && entry.zone.epoch !== entry.epoch) entry = undefined;
    if (!entry) {
      this.counters.cacheMisses++;
      const labels = nameKeyLabels(q.nameKey);
      const zone = this.zones.find(labels);
      if (!zone) return encodeError(packet, q.id, q.flags, RCODE.REFUSED, questionEnd, edns);
      // ANY is minimal on TCP too, as NSD does (RFC 8482 4.1).
      const answer = resolve(zone, labels, q.qtype, false);
      const state = this.zones.stateOf(zone.id)!;
      if (!this.doorkeeper.offer(hash)) return this.uncached(packet, q, zone, state, answer, limit, edns);
      const [ownName, full] = ownBytes(name, encodeAnswer(packet, q, answer, TCP_LIMIT, edns));
      entry = {
        hash,
        name: ownName,
        qtype: q.qtype,
        mode,
        zone: state,
        epoch: state.epoch,
        rcode: answer.rcode,
        answer: full.length <= MIN_UDP_LIMIT ? null : answer,
        full,
        truncated: null,
        used: 0,
      };
      this.cache.set(entry);
    } else this.counters.cacheHits++;
    const bytes = this.pick(entry, packet, q, limit, edns);
    if (bytes !== entry.full) this.counters.truncated++;
    return patch(bytes, packet, q.qnameEnd);
  }

  /**
   * The answer to a key asked for the first time (see Doorkeeper): encoded for this query alone and not
   * cached. A plain NXDOMAIN (what a random-name flood gets) is a copy of the zone's precompiled one.
   */
  private uncached(
    packet: Buffer,
    q: Query,
    zone: ZoneIndex,
    state: ZoneEpoch,
    answer: Answer,
    limit: number,
    edns: ResponseEdns | null,
  ): Buffer {
    if (answer.rcode === RCODE.NXDOMAIN && answer.answer.length === 0) {
      let negative = this.negatives.get(state);
      if (negative?.epoch !== state.epoch) {
        negative = { epoch: state.epoch, template: negativeTemplate(zone.domain, answer.authority) };
        this.negatives.set(state, negative);
      }
      const out = encodeNegative(packet, q, negative.template, limit, edns);
      if (out) return out;
    }
    const full = encodeAnswer(packet, q, answer, TCP_LIMIT, edns);
    if (full.length <= limit) return full;
    this.counters.truncated++;
    return encodeAnswer(packet, q, answer, limit, edns);
  }

  /** The cached bytes that fit `limit`, truncating (and remembering the truncated form) when needed. */
  private pick(entry: CacheEntry, packet: Buffer, q: Query, limit: number, edns: ResponseEdns | null): Buffer {
    if (entry.full.length <= limit) return entry.full;
    let bytes = entry.truncated?.get(limit);
    if (!bytes) {
      // (limit < full.length, so full is over 512 bytes and the entry kept its answer.)
      bytes = encodeAnswer(packet, q, entry.answer!, limit, edns);
      entry.truncated ??= new Map();
      if (entry.truncated.size < MAX_TRUNCATED_FORMS) {
        entry.truncated.set(limit, bytes);
        this.cache.grew(bytes.length);
      }
    }
    return bytes;
  }
}

/**
 * The name and response of a cache entry copied into one allocation of their own. Small Buffers are
 * slices of Node's shared 8 KiB pools, and one long-lived slice keeps its whole pool alive: 32 768
 * cached NXDOMAINs from a random-name flood pinned ~2 KiB each that way, instead of ~0.2 KiB.
 */
function ownBytes(name: Buffer, full: Buffer): [Buffer, Buffer] {
  const own = Buffer.allocUnsafeSlow(name.length + full.length);
  own.set(name, 0);
  own.set(full, name.length);
  return [own.subarray(0, name.length), own.subarray(name.length)];
}

/**
 * A copy of cached response bytes made to answer this query: its id, RD and CD bits, and its name's
 * letter case (answer owners compressed against the question follow it).
 */
function patch(cached: Buffer, packet: Buffer, qnameEnd: number): Buffer {
  const out = Buffer.allocUnsafe(cached.length);
  out.set(cached);
  out[0] = packet[0];
  out[1] = packet[1];
  out[2] = (cached[2] & 0xfe) | (packet[2] & 0x01); // RD
  out[3] = (cached[3] & 0xef) | (packet[3] & 0x10); // CD
  for (let i = HEADER_SIZE; i < qnameEnd; i++) out[i] = packet[i];
  return out;
}
