import { describe, expect, it } from 'vitest';
import { normalizeHostname, normalizeOwnerName, normalizeZoneDomain } from '../../src/model/names.js';
import { canonicalIPv6, splitTxt, toPacketData, toZoneText } from '../../src/model/rdata.js';
import { dateSerialBase, nextSerial } from '../../src/store/serial.js';

describe('serials', () => {
  it('start at YYYYMMDD00 and always increase, also past 99 changes a day', () => {
    const day = new Date('2026-12-03T12:00:00Z');
    expect(dateSerialBase(day)).toBe(2026120300);
    expect(nextSerial(0, day)).toBe(2026120300);
    expect(nextSerial(2026120300, day)).toBe(2026120301);
    expect(nextSerial(2026120399, day)).toBe(2026120400);
    expect(nextSerial(2026110105, day)).toBe(2026120300);
    expect(nextSerial(2026120500, day)).toBe(2026120501);
  });
});

describe('names', () => {
  it('zone domains', () => {
    expect(normalizeZoneDomain('WWW.Example.COM.')).toBe('www.example.com');
    expect(normalizeZoneDomain('münchen.de')).toBe('xn--mnchen-3ya.de');
    expect(() => normalizeZoneDomain('de')).toThrow(/top-level/);
  });
  it('owner names relative to the zone', () => {
    expect(normalizeOwnerName('@', 'example.com')).toBe('@');
    expect(normalizeOwnerName('', 'example.com')).toBe('@');
    expect(normalizeOwnerName('example.com.', 'example.com')).toBe('@');
    expect(normalizeOwnerName('WWW', 'example.com')).toBe('www');
    expect(normalizeOwnerName('_sip._TCP.example.com', 'example.com')).toBe('_sip._tcp');
    expect(normalizeOwnerName('*', 'example.com')).toBe('*');
    expect(normalizeOwnerName('*.dyn', 'example.com')).toBe('*.dyn');
    expect(() => normalizeOwnerName('x.example.org.', 'example.com')).toThrow(/outside/);
    expect(() => normalizeOwnerName('a.*.b', 'example.com')).toThrow(/leftmost/);
  });
  it('hostnames', () => {
    expect(normalizeHostname('Mail.Example.com.', 'value')).toBe('mail.example.com');
    expect(normalizeHostname('.', 'value', { allowRoot: true })).toBe('.');
    expect(() => normalizeHostname('.', 'value')).toThrow();
    expect(() => normalizeHostname('s1._domainkey.example.com', 'value')).toThrow();
    expect(normalizeHostname('s1._domainkey.example.com', 'value', { allowUnderscore: true })).toBe(
      's1._domainkey.example.com',
    );
  });
});

describe('rdata', () => {
  it('canonical IPv6 (RFC 5952)', () => {
    expect(canonicalIPv6('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIPv6('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIPv6('::')).toBe('::');
    expect(canonicalIPv6('::1')).toBe('::1');
    expect(canonicalIPv6('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canonicalIPv6('::ffff:192.0.2.1')).toBe('::ffff:c000:201');
  });
  it('TXT splits into 255-byte strings, by bytes', () => {
    const chunks = splitTxt('é'.repeat(200));
    expect(chunks.map((c) => c.length)).toEqual([255, 145]);
    expect(Buffer.concat(chunks).toString('utf8')).toBe('é'.repeat(200));
  });
  it('zone text and packet data per type', () => {
    expect(toZoneText('MX', 'mail.example.com', 10)).toBe('10 mail.example.com.');
    expect(toZoneText('MX', '.', 0)).toBe('0 .');
    expect(toZoneText('SRV', '5 5060 sip.example.com', 10)).toBe('10 5 5060 sip.example.com.');
    expect(toZoneText('TXT', 'say "hi" \\ ü', null)).toBe('"say \\"hi\\" \\\\ \\195\\188"');
    expect(toPacketData('SRV', '5 5060 sip.example.com', 10)).toEqual({
      priority: 10,
      weight: 5,
      port: 5060,
      target: 'sip.example.com',
    });
    expect(toPacketData('CAA', '128 issue "ca.example"', null)).toEqual({
      flags: 128,
      tag: 'issue',
      value: 'ca.example',
      issuerCritical: true,
    });
  });
});
