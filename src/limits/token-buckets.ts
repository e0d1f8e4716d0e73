// Token buckets keyed by a string: the API's per-token and failed-login limits, and DNS response rate
// limiting. Memory is bounded: buckets that have refilled completely carry no information and are
// swept, and past `maxKeys` the oldest are dropped.

interface Bucket {
  tokens: number;
  updated: number;
  /** Takes refused so far (RRL's slip counts them). */
  refused: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  /**
   * @param ratePerSecond refill rate (0 = unlimited)
   * @param burst bucket size: how many requests may come at once
   */
  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly maxKeys = 100_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get enabled(): boolean {
    return this.ratePerSecond > 0;
  }

  private bucket(key: string, t: number): Bucket {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.sweep(t, true);
      b = { tokens: this.burst, updated: t, refused: 0 };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.updated) / 1000) * this.ratePerSecond);
      b.updated = t;
    }
    return b;
  }

  /** Take one token; returns 0 when allowed, else the seconds to wait before the next try. */
  take(key: string): number {
    if (!this.enabled) return 0;
    const t = this.now();
    if (t - this.lastSweep > 10_000) this.sweep(t, false);
    const b = this.bucket(key, t);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    b.refused++;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerSecond));
  }

  /** Seconds until `key` may try again without taking a token (0 when it may now). */
  check(key: string): number {
    if (!this.enabled) return 0;
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = Math.min(this.burst, b.tokens + ((this.now() - b.updated) / 1000) * this.ratePerSecond);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.ratePerSecond));
  }

  /** How many takes of `key` were refused so far (0 for an unknown or swept key). */
  refusals(key: string): number {
    return this.buckets.get(key)?.refused ?? 0;
  }

  private sweep(t: number, force: boolean): void {
    this.lastSweep = t;
    const fullAfterMs = (this.burst / this.ratePerSecond) * 1000;
    for (const [key, b] of this.buckets) if (t - b.updated >= fullAfterMs) this.buckets.delete(key);
    if (force && this.buckets.size >= this.maxKeys) {
      // Still full of active keys: drop the oldest tenth (Map keeps insertion order).
      let n = Math.ceil(this.maxKeys / 10);
      for (const key of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
