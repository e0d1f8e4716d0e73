// The answer cache: precompiled response bytes keyed by (lower-case question name, type, EDNS mode).
// A fixed-size four-way set-associative table: a key hashes to a set of four slots; a new entry takes
// the empty or least recently used slot of its set. (Two ways were too few: three hot names sharing a
// pair, which 1000 random names in 16 384 pairs already produce, evicted each other on every query.) Memory is bounded by the slot count and by a byte cap
// (exceeding it drops everything, which only huge answers can cause), so a flood of distinct names only
// overwrites slots. A lookup allocates nothing: the key is the hash of the name bytes (computed while
// the question is parsed), then the bytes themselves are compared. Each entry remembers its zone's
// state object and epoch; an entry whose zone changed since is stale, ignored and overwritten.
// Refusals are never cached, so creating a zone takes effect at once.
import type { Answer } from './resolve.js';

/** A zone's version as the cache sees it: `epoch` changes with every change to the zone (-1: removed). */
export interface ZoneEpoch {
  epoch: number;
}

export interface CacheEntry {
  hash: number;
  /** Lower-cased wire form of the question name. */
  name: Buffer;
  qtype: number;
  /** 0: no EDNS, 1: EDNS, 3: EDNS with DO. */
  mode: number;
  zone: ZoneEpoch;
  epoch: number;
  rcode: number;
  /** Kept to encode truncated forms; null when `full` fits every UDP limit (512 bytes) and none is needed. */
  answer: Answer | null;
  /** The whole response (TCP size limit), for the query that filled the entry. */
  full: Buffer;
  /** Truncated forms for UDP size limits the full response exceeds. */
  truncated: Map<number, Buffer> | null;
  /** Clock of the last use, to choose the victim in a set. */
  used: number;
}

const ENTRY_OVERHEAD = 160;
const WAYS = 4;

/** FNV-1a step over one byte. The fast parser and `hashKey` must agree. */
export function hashStep(h: number, b: number): number {
  return Math.imul(h ^ b, 16777619);
}

export const HASH_SEED = 2166136261 | 0;

export function hashFinish(h: number, qtype: number, mode: number): number {
  return hashStep(hashStep(hashStep(h, qtype >> 8), qtype & 0xff), mode) >>> 0;
}

/** The hash of a lower-cased wire name given as a latin1 string. */
export function hashKey(nameKey: string, qtype: number, mode: number): number {
  let h = HASH_SEED;
  for (let i = 0; i < nameKey.length; i++) h = hashStep(h, nameKey.charCodeAt(i));
  return hashFinish(h, qtype, mode);
}

export class AnswerCache {
  private slots: Array<CacheEntry | undefined>;
  private readonly mask: number;
  private readonly maxBytes: number;
  private bytes = 0;
  private count = 0;
  private clock = 0;

  constructor(maxEntries = 32768, maxBytes = 32 * 1024 * 1024) {
    // The largest power of two that is at most maxEntries (at least one set).
    let n = WAYS;
    while (n * 2 <= maxEntries) n *= 2;
    this.slots = new Array(n).fill(undefined);
    this.mask = (n - 1) & ~(WAYS - 1);
    this.maxBytes = maxBytes;
  }

  /** Entries held (stale ones included until overwritten). */
  get size(): number {
    return this.count;
  }

  /** The entry for this key, or undefined. `name` holds the lower-cased wire name in its first `nameLength` bytes. */
  get(hash: number, name: Buffer, nameLength: number, qtype: number, mode: number): CacheEntry | undefined {
    const base = hash & this.mask;
    for (let i = base; i < base + WAYS; i++) {
      const e = this.slots[i];
      if (e !== undefined && matches(e, hash, name, nameLength, qtype, mode)) {
        e.used = ++this.clock;
        return e;
      }
    }
    return undefined;
  }

  set(e: CacheEntry): void {
    const size = e.full.length + e.name.length + ENTRY_OVERHEAD;
    if (size > this.maxBytes / 4) return;
    const base = e.hash & this.mask;
    // The slot of the same key, else an empty one, else the least recently used of the set.
    let at = base;
    for (let i = base; i < base + WAYS; i++) {
      const s = this.slots[i];
      if (s === undefined || matches(s, e.hash, e.name, e.name.length, e.qtype, e.mode)) {
        at = i;
        break;
      }
      if (s.used < this.slots[at]!.used) at = i;
    }
    const old = this.slots[at];
    if (old) {
      this.bytes -= entrySize(old);
      this.count--;
    }
    if (this.bytes + size > this.maxBytes) this.clear();
    e.used = ++this.clock;
    this.slots[at] = e;
    this.bytes += size;
    this.count++;
  }

  /** Account for a truncated form added to an entry. */
  grew(n: number): void {
    this.bytes += n;
    if (this.bytes > this.maxBytes) this.clear();
  }

  clear(): void {
    this.slots.fill(undefined);
    this.bytes = 0;
    this.count = 0;
  }
}

function entrySize(e: CacheEntry): number {
  let n = e.full.length + e.name.length + ENTRY_OVERHEAD;
  if (e.truncated) for (const b of e.truncated.values()) n += b.length;
  return n;
}

function matches(e: CacheEntry, hash: number, name: Buffer, nameLength: number, qtype: number, mode: number): boolean {
  if (e.hash !== hash || e.qtype !== qtype || e.mode !== mode) return false;
  const k = e.name;
  if (k.length !== nameLength) return false;
  for (let i = 0; i < nameLength; i++) if (k[i] !== name[i]) return false;
  return true;
}

/**
 * Admission to the answer cache: an answer is cached the second time its key is asked, not the first, so
 * a flood of random names (each asked once) does not evict the answers real clients keep asking for.
 * A Bloom filter of two bits per key (2^21 bits, 256 KiB), emptied after every 2^18 keys: at most ~22%
 * of its bits set, so a key asked once is taken for a repeat about 2% of the time on average.
 */
export class Doorkeeper {
  private readonly bits = new Uint32Array(1 << 16);
  private added = 0;

  /** True when `hash` was (probably) offered since the last reset; else remembers it and says false. */
  offer(hash: number): boolean {
    const a = hash & 0x1fffff;
    const b = Math.imul(hash, 0x9e3779b1) >>> 11;
    const bits = this.bits;
    const seen = (bits[a >>> 5] & (1 << (a & 31))) !== 0 && (bits[b >>> 5] & (1 << (b & 31))) !== 0;
    if (seen) return true;
    bits[a >>> 5] |= 1 << (a & 31);
    bits[b >>> 5] |= 1 << (b & 31);
    if (++this.added >= 1 << 18) {
      bits.fill(0);
      this.added = 0;
    }
    return false;
  }
}
