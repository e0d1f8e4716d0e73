// The answer cache's table: four entries that share a set all stay; a fifth evicts the least recently
// used; a flood of distinct names never holds more entries than the table has slots.
import { describe, expect, test } from 'vitest';
import { AnswerCache, type CacheEntry } from '../../src/dns/cache.js';
import type { Answer } from '../../src/dns/resolve.js';

const zone = { epoch: 0 };

function entry(name: string, hash: number): CacheEntry {
  return {
    hash,
    name: Buffer.from(name, 'latin1'),
    qtype: 1,
    mode: 0,
    zone,
    epoch: 0,
    rcode: 0,
    answer: {} as Answer,
    full: Buffer.alloc(40),
    truncated: null,
    used: 0,
  };
}

const get = (c: AnswerCache, e: CacheEntry) => c.get(e.hash, e.name, e.name.length, e.qtype, e.mode);

describe('AnswerCache', () => {
  test('four names in one set all stay; a fifth evicts the least recently used', () => {
    const cache = new AnswerCache(64);
    // 64 slots, sets of four: hashes equal modulo 64 (and in the same set) collide.
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((n, i) => entry(n, 8 + i * 64));
    for (const x of [a, b, c, d]) cache.set(x);
    for (const x of [a, b, c, d]) expect(get(cache, x)).toBe(x);
    expect(get(cache, b)).toBe(b); // a is now the least recently used
    cache.set(e);
    expect(get(cache, a)).toBeUndefined();
    for (const x of [b, c, d, e]) expect(get(cache, x)).toBe(x);
  });

  test('the same key replaces its entry; a flood of names stays within the slot count', () => {
    const cache = new AnswerCache(64);
    const first = entry('www', 5);
    cache.set(first);
    const again = entry('www', 5);
    cache.set(again);
    expect(get(cache, first)).toBe(again);
    expect(cache.size).toBe(1);
    for (let i = 0; i < 10_000; i++) cache.set(entry(`n${i}`, Math.imul(i, 2654435761) >>> 0));
    expect(cache.size).toBeLessThanOrEqual(64);
  });
});
