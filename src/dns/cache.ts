// The answer cache: precompiled response bytes keyed by (lower-case question name, type, EDNS mode).
// Bounded by entry count and by bytes (least recently used goes first), so a flood of distinct names
// cannot grow it. Each entry remembers its zone's epoch; an entry whose zone changed since is stale and
// is dropped when met. Refusals are never cached, so creating a zone takes effect at once.
import type { Answer } from './resolve.js';

export interface CacheEntry {
  zoneId: number;
  epoch: number;
  answer: Answer;
  /** The whole response (TCP size limit), for the query that filled the entry. */
  full: Buffer;
  /** Truncated forms for UDP size limits the full response exceeds. */
  truncated: Map<number, Buffer> | null;
}

export class AnswerCache {
  private readonly map = new Map<string, CacheEntry>();
  private bytes = 0;

  constructor(
    readonly maxEntries = 20000,
    readonly maxBytes = 32 * 1024 * 1024,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): CacheEntry | undefined {
    const e = this.map.get(key);
    if (e) {
      // Most recently used goes to the end of the insertion order.
      this.map.delete(key);
      this.map.set(key, e);
    }
    return e;
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.bytes -= this.sizeOf(e);
  }

  set(key: string, e: CacheEntry): void {
    this.delete(key);
    const size = this.sizeOf(e);
    if (size > this.maxBytes) return;
    this.map.set(key, e);
    this.bytes += size;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.map.keys().next().value!;
      this.delete(oldest);
    }
  }

  /** Account for a truncated form added to an entry. */
  grew(n: number): void {
    this.bytes += n;
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }

  private sizeOf(e: CacheEntry): number {
    let n = e.full.length + 64;
    if (e.truncated) for (const b of e.truncated.values()) n += b.length;
    return n;
  }
}
