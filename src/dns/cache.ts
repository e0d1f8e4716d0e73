// The answer cache: precompiled response bytes keyed by (lower-case question name, type, EDNS mode).
// Bounded by entry count and by bytes, so a flood of distinct names cannot grow it. Each entry
// remembers its zone's epoch; an entry whose zone changed since is stale, ignored and overwritten.
// Refusals are never cached, so creating a zone takes effect at once.
//
// Two generations instead of a delete-and-reinsert LRU: V8's Map degrades badly under steady
// delete/insert churn at a fixed size (tens of microseconds per operation at 20000 entries), so a hit
// never mutates anything, and eviction drops a whole generation at once. New and recently used entries
// live in `young`; when it is full it becomes `old` and the previous `old` is dropped. A hit in `old`
// copies the entry into `young`.
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

const ENTRY_OVERHEAD = 64;

export class AnswerCache {
  private young = new Map<string, CacheEntry>();
  private old = new Map<string, CacheEntry>();
  private youngBytes = 0;
  private readonly generationEntries: number;
  private readonly generationBytes: number;

  constructor(maxEntries = 20000, maxBytes = 32 * 1024 * 1024) {
    this.generationEntries = Math.max(1, Math.floor(maxEntries / 2));
    this.generationBytes = Math.max(1, Math.floor(maxBytes / 2));
  }

  /** Entries held (an entry copied from old to young counts twice until old is dropped). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: string): CacheEntry | undefined {
    const e = this.young.get(key);
    if (e) return e;
    const o = this.old.get(key);
    if (o) this.set(key, o);
    return o;
  }

  set(key: string, e: CacheEntry): void {
    const size = e.full.length + ENTRY_OVERHEAD;
    if (size > this.generationBytes) return;
    this.young.set(key, e);
    this.youngBytes += size;
    if (this.young.size >= this.generationEntries || this.youngBytes >= this.generationBytes) this.rotate();
  }

  /** Account for a truncated form added to an entry. */
  grew(n: number): void {
    this.youngBytes += n;
    if (this.youngBytes >= this.generationBytes) this.rotate();
  }

  clear(): void {
    this.young = new Map();
    this.old = new Map();
    this.youngBytes = 0;
  }

  private rotate(): void {
    this.old = this.young;
    this.young = new Map();
    this.youngBytes = 0;
  }
}
