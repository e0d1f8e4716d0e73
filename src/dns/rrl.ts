// Response rate limiting over UDP, in the manner of BIND, NSD and Knot RRL: identical responses
// (same kind, same name or zone) to one client network (/24 for IPv4, /56 for IPv6) are allowed
// `ratePerSecond` per second; past that they are dropped, except every `slip`th one, which goes out
// truncated (TC set, no records) so a real client retries over TCP, where no limit applies.
// Memory is bounded: at most `maxBuckets` buckets, the idle ones swept first.
import { TokenBuckets } from '../limits/token-buckets.js';
import { readQuestion } from './wire.js';

export type RrlDecision = 'send' | 'drop' | 'slip';

export interface RrlOptions {
  /** Responses per second per (client network, response); 0 turns RRL off. */
  ratePerSecond: number;
  /** Every Nth limited response is sent truncated instead of dropped; 0 = drop all, 1 = truncate all. */
  slip: number;
  /** Bucket table size. */
  maxBuckets?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

/** The client network an address belongs to: /24 for IPv4, /56 for IPv6 (the first 7 bytes). */
export function clientNetwork(address: string): string {
  // Called per response: a colon tells IPv6 from IPv4 (addresses come from the socket, already valid).
  if (!address.includes(':')) {
    const last = address.lastIndexOf('.');
    return last < 0 ? address : address.slice(0, last);
  }
  if (address.startsWith('::ffff:') && address.includes('.')) return clientNetwork(address.slice(7));
  // Expand just enough to take the first three and a half groups (56 bits).
  const [head, tail] = address.includes('::') ? address.split('::') : [address, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => g.padStart(4, '0'));
  return `${groups.slice(0, 3).join(':')}:${groups[3].slice(0, 2)}`;
}

export class ResponseRateLimiter {
  /** A second's worth of responses per bucket, as BIND's window. */
  private readonly buckets: TokenBuckets;
  /** Counters for metrics. */
  readonly stats = { dropped: 0, slipped: 0 };

  constructor(private readonly opts: RrlOptions) {
    this.buckets = new TokenBuckets(opts.ratePerSecond, Math.max(1, opts.ratePerSecond), opts.maxBuckets, opts.now);
  }

  get enabled(): boolean {
    return this.opts.ratePerSecond > 0;
  }

  /**
   * Decide for one UDP response. `responseKey` names the response the way RRL groups them:
   * e.g. `A www.example.com` for answers, `NX example.com` for NXDOMAIN under a zone, `ERR` for errors.
   */
  decide(clientAddress: string, responseKey: string): RrlDecision {
    if (!this.enabled) return 'send';
    const key = `${clientNetwork(clientAddress)}|${responseKey}`;
    if (this.buckets.take(key) === 0) return 'send';
    if (this.opts.slip > 0 && this.buckets.refusals(key) % this.opts.slip === 0) {
      this.stats.slipped++;
      return 'slip';
    }
    this.stats.dropped++;
    return 'drop';
  }

  get size(): number {
    return this.buckets.size;
  }
}

/**
 * A truncated copy of a response for slipping: the header (TC set, counts zeroed but the question)
 * and the question section, which ends at `questionEnd`.
 */
export function truncatedResponse(response: Buffer, questionEnd: number): Buffer {
  const out = Buffer.from(response.subarray(0, questionEnd));
  out[2] |= 0x02; // TC
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}

const RCODE_NXDOMAIN = 3;

/**
 * How RRL groups a response: answers by name and type, NXDOMAIN by zone (so random names under one zone
 * share a budget), referrals and NODATA by name, errors by rcode. Null when the response has no question.
 * Runs for every UDP response while RRL is on, so the common case keys on the question's raw bytes
 * (name, type and class, lower-cased) without decoding it; only NXDOMAIN decodes labels to find the zone.
 */
export function responseKey(
  response: Buffer,
  zoneOf: (labels: string[]) => string | null,
): { key: string; questionEnd: number } | null {
  if (response.length < 12 || response.readUInt16BE(4) !== 1) return null;
  let at = 12;
  while (at < response.length && response[at] !== 0) {
    if (response[at] > 63) return null;
    at += response[at] + 1;
  }
  const questionEnd = at + 5;
  if (questionEnd > response.length) return null;
  const rcode = response[3] & 0x0f;
  let key: string;
  if (rcode === RCODE_NXDOMAIN) {
    const q = readQuestion(response);
    key = `nx ${(q && zoneOf(q.labels)) ?? response.toString('latin1', 12, questionEnd - 4).toLowerCase()}`;
  } else if (rcode !== 0) key = `err ${rcode}`;
  else {
    const kind = response.readUInt16BE(6) > 0 ? 'ans' : response[2] & 0x04 ? 'nodata' : 'referral';
    key = `${kind} ${response.toString('latin1', 12, questionEnd).toLowerCase()}`;
  }
  return { key, questionEnd };
}
