import { describe, expect, it } from 'vitest';
import { clientNetwork, ResponseRateLimiter, truncatedResponse } from '../../src/dns/rrl.js';

describe('response rate limiting', () => {
  it('groups clients by /24 and /56', () => {
    expect(clientNetwork('192.0.2.17')).toBe('192.0.2');
    expect(clientNetwork('::ffff:192.0.2.17')).toBe('192.0.2');
    expect(clientNetwork('2001:db8:1:2345::1')).toBe(clientNetwork('2001:db8:1:23ff:ffff::9'));
    expect(clientNetwork('2001:db8:1:2345::1')).not.toBe(clientNetwork('2001:db8:1:2445::1'));
  });

  it('allows the rate, then drops with every slip-th response truncated; refills with time', () => {
    let now = 0;
    const rrl = new ResponseRateLimiter({ ratePerSecond: 5, slip: 2, now: () => now });
    const decisions = Array.from({ length: 11 }, () => rrl.decide('198.51.100.1', 'A www.example.com'));
    expect(decisions.slice(0, 5)).toEqual(['send', 'send', 'send', 'send', 'send']);
    expect(decisions.slice(5)).toEqual(['drop', 'slip', 'drop', 'slip', 'drop', 'slip']);
    expect(rrl.stats).toEqual({ dropped: 3, slipped: 3 });
    // Another response, or another network, has its own budget.
    expect(rrl.decide('198.51.100.1', 'NX example.com')).toBe('send');
    expect(rrl.decide('198.51.101.1', 'A www.example.com')).toBe('send');
    // The same network from another address shares it.
    expect(rrl.decide('198.51.100.200', 'A www.example.com')).not.toBe('send');
    now += 1000;
    expect(rrl.decide('198.51.100.1', 'A www.example.com')).toBe('send');
  });

  it('off at rate 0; bounded memory under a flood of networks', () => {
    const off = new ResponseRateLimiter({ ratePerSecond: 0, slip: 2 });
    for (let i = 0; i < 100; i++) expect(off.decide('192.0.2.1', 'x')).toBe('send');
    const rrl = new ResponseRateLimiter({ ratePerSecond: 10, slip: 2, maxBuckets: 1000 });
    for (let i = 0; i < 20_000; i++) rrl.decide(`10.${(i >> 8) & 255}.${i & 255}.1`, `A n${i}.example`);
    expect(rrl.size).toBeLessThanOrEqual(1000);
  });

  it('a slipped response is the header with TC and the question only', () => {
    const response = Buffer.from(
      'abcd8400000100010000000003777777076578616d706c6503636f6d0000010001c00c000100010000003c0004c0000201',
      'hex',
    );
    const questionEnd = 12 + 17 + 4;
    const slipped = truncatedResponse(response, questionEnd);
    expect(slipped.length).toBe(questionEnd);
    expect(slipped[2] & 0x02).toBe(0x02);
    expect(slipped.readUInt16BE(4)).toBe(1);
    expect(slipped.readUInt16BE(6)).toBe(0);
  });
});
