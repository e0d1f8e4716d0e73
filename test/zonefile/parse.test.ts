// Parsing and importing zone files: syntax, errors with line numbers, conflicts, round trip.
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/model/errors.js';
import { exportZone, importZoneText } from '../../src/zonefile/import-export.js';
import { parseZoneText, ZoneFileError } from '../../src/zonefile/parse.js';
import { fixture, SOA, type TempStore, tempStore } from './helpers.js';

const parse = (text: string, zone = 'example.com') => parseZoneText(text, zone, { minTtl: 60 });
const plain = (text: string, zone = 'example.com') =>
  parse(text, zone).records.map(({ type, name, value, ttl, priority }) => ({ type, name, value, ttl, priority }));

describe('parseZoneText', () => {
  it('resolves relative, absolute and @ names against $ORIGIN', () => {
    const recs = plain(
      [
        '$TTL 600',
        '@ IN A 192.0.2.1',
        'www A 192.0.2.2',
        'abs.example.com. A 192.0.2.3',
        '$ORIGIN sub.example.com.',
        'host CNAME other',
        '@ MX 10 @',
        '$ORIGIN deeper',
        'x A 192.0.2.4',
      ].join('\n'),
    );
    expect(recs).toEqual([
      { type: 'A', name: '@', value: '192.0.2.1', ttl: 600, priority: null },
      { type: 'A', name: 'www', value: '192.0.2.2', ttl: 600, priority: null },
      { type: 'A', name: 'abs', value: '192.0.2.3', ttl: 600, priority: null },
      { type: 'CNAME', name: 'host.sub', value: 'other.sub.example.com', ttl: 600, priority: null },
      { type: 'MX', name: 'sub', value: 'sub.example.com', ttl: 600, priority: 10 },
      { type: 'A', name: 'x.deeper.sub', value: '192.0.2.4', ttl: 600, priority: null },
    ]);
  });

  it('handles omitted owner/TTL/class in any order, TTL units, parentheses and comments', () => {
    const recs = plain(
      [
        'www 1h IN A 192.0.2.1 ; comment',
        '    IN 2d AAAA 2001:db8::1',
        '    TXT ( "one" ; comment inside',
        '          "two" )',
        'mx1 1w2d3h4m5s MX ( 10',
        '   mail.example.net. )',
        'noTTL A 192.0.2.9',
      ].join('\n'),
    );
    expect(recs).toEqual([
      { type: 'A', name: 'www', value: '192.0.2.1', ttl: 3600, priority: null },
      { type: 'AAAA', name: 'www', value: '2001:db8::1', ttl: 172800, priority: null },
      // Without $TTL the last explicit TTL carries over (RFC 1035).
      { type: 'TXT', name: 'www', value: 'onetwo', ttl: 172800, priority: null },
      { type: 'MX', name: 'mx1', value: 'mail.example.net', ttl: 788645, priority: 10 },
      { type: 'A', name: 'nottl', value: '192.0.2.9', ttl: 788645, priority: null },
    ]);
  });

  it('decodes quoted strings with \\" \\\\ and \\DDD escapes (UTF-8 bytes)', () => {
    const recs = plain(
      ['t TXT "a \\"q\\" b\\\\c" "caf\\195\\169" unquoted\\032word', 'c CAA 0 issue "ca.example.net"'].join('\n'),
    );
    expect(recs[0].value).toBe('a "q" b\\ccaféunquoted word');
    expect(recs[1].value).toBe('0 issue "ca.example.net"');
  });

  it('takes the TTL default from the SOA minimum when there is neither $TTL nor an earlier TTL (as BIND)', () => {
    const recs = plain('@ SOA ns. host. 1 2 3 4 900\nwww A 192.0.2.1');
    expect(recs[0].ttl).toBe(900);
  });

  it('skips the SOA and the apex NS records, keeps delegations', () => {
    const res = parse('@ 3600 SOA a.b. c.d. 1 2 3 4 5\n@ NS ns1.x.net.\n  NS ns2.x.net.\nsub NS ns1.x.net.');
    expect(res.ignored).toBe(3);
    expect(res.errors).toEqual([]);
    expect(res.records.map((r) => `${r.name} ${r.type} ${r.value}`)).toEqual(['sub NS ns1.x.net']);
  });

  it('reports every problem with its line number', () => {
    const text = [
      '$TTL 1h', // 1
      '$INCLUDE other.zone', // 2
      'ptr PTR host.example.com.', // 3
      'bad A 300.1.1.1', // 4
      'ok A 192.0.2.1', // 5
      'chaos CH TXT "x"', // 6
      'q TXT "never closed', // 7
      'mx MX ten mail', // 8
      'out.example.org. A 192.0.2.1', // 9
      'short 5 A 192.0.2.1', // 10
      'paren A ( 192.0.2.1', // 11
      'srv SRV 1 2 3', // 12
    ].join('\n');
    const res = parse(text);
    expect(res.errors.map((e) => e.line)).toEqual([2, 3, 4, 6, 7, 8, 9, 10, 11]);
    const byLine = Object.fromEntries(res.errors.map((e) => [e.line, e.detail]));
    expect(byLine[2]).toMatch(/\$INCLUDE is not supported/);
    expect(byLine[3]).toMatch(/record type PTR is not supported/);
    expect(byLine[4]).toMatch(/not a valid IPv4/);
    expect(byLine[6]).toMatch(/class CH/);
    expect(byLine[7]).toMatch(/not closed/);
    expect(byLine[8]).toMatch(/MX preference/);
    expect(byLine[9]).toMatch(/outside the zone/);
    expect(byLine[10]).toMatch(/ttl must be between 60/);
    expect(byLine[11]).toMatch(/never closed/);
  });
});

describe('importZoneText', () => {
  let t: TempStore;
  afterEach(() => t?.cleanup());

  it('imports nothing and throws one 400 listing all errors when any line is bad', () => {
    t = tempStore();
    const zone = t.zone('example.com');
    const text = 'ok A 192.0.2.1\nptr PTR x.example.com.\nok A 192.0.2.1\nok CNAME x.example.net.\nbad AAAA ::g\n';
    let err: unknown;
    try {
      importZoneText(t.store, zone, text, { replace: false, minTtl: 60 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ZoneFileError);
    expect(err).toBeInstanceOf(ApiError);
    const zerr = err as ZoneFileError;
    expect(zerr.status).toBe(400);
    expect(zerr.errorCode).toBe('validation_error');
    expect(zerr.errors.map((e) => e.line)).toEqual([2, 3, 4, 5]);
    expect(zerr.errors[1].detail).toMatch(/duplicate A record for ok \(the same one is on line 1\)/);
    expect(zerr.errors[2].detail).toMatch(/CNAME cannot share the name ok/);
    const body = zerr.toBody();
    expect(body.detail).toMatch(/^The zone file has 4 errors, nothing was imported: line 2: /);
    expect(body.errors).toHaveLength(4);
    expect(t.store.zoneRecords(zone.id)).toEqual([]);
    expect(t.store.snapshot(zone.id)!.serial).toBe(zone.serial);
  });

  it('checks conflicts with the records already in the zone unless replacing', () => {
    t = tempStore();
    const zone = t.zone('example.com');
    importZoneText(t.store, zone, 'www A 192.0.2.1\n', { replace: false, minTtl: 60 });
    expect(() => importZoneText(t.store, zone, '\nwww CNAME x.example.net.\n', { replace: false, minTtl: 60 })).toThrow(
      /line 2: a CNAME cannot share the name www with other records \(A already in the zone\)/,
    );
    const res = importZoneText(t.store, zone, 'www CNAME x.example.net.\n', { replace: true, minTtl: 60 });
    expect(res).toMatchObject({ added: 1, removed: 1, ignored: 0 });
    expect(t.store.zoneRecords(zone.id).map((r) => r.type)).toEqual(['CNAME']);
  });

  it('reports progress and finishes with done = total', () => {
    t = tempStore();
    const zone = t.zone('example.com');
    const lines = Array.from({ length: 12000 }, (_, i) => `h${i} A 192.0.2.${i % 250}`);
    const calls: Array<[number, number]> = [];
    importZoneText(t.store, zone, lines.join('\n'), {
      replace: false,
      minTtl: 60,
      onProgress: (d, n) => calls.push([d, n]),
    });
    expect(calls.length).toBeGreaterThan(2);
    expect(calls.at(-1)).toEqual([12000, 12000]);
    expect(calls.every(([d, n], i) => n === 12000 && (i === 0 || d > calls[i - 1][0]))).toBe(true);
  });

  it('round trip: export, import into a new zone, export again gives the same zone', () => {
    t = tempStore();
    const first = t.zone('edge.example');
    importZoneText(t.store, first, fixture('edge.example.zone'), { replace: false, minTtl: 60 });
    const exported = exportZone(t.store, first.id, SOA);
    const other = tempStore();
    try {
      const second = other.zone('edge.example');
      const res = importZoneText(other.store, second, exported, { replace: false, minTtl: 60 });
      expect(res.ignored).toBe(3); // SOA + the two implicit NS
      const again = exportZone(other.store, second.id, SOA);
      const withoutSerial = (s: string) => s.replace(/\b20\d{8}\b/g, 'SERIAL');
      expect(withoutSerial(again)).toBe(withoutSerial(exported));
      const key = (r: { name: string; type: string; value: string; ttl: number; priority: number | null }) =>
        `${r.name} ${r.ttl} ${r.type} ${r.priority} ${r.value}`;
      expect(other.store.zoneRecords(second.id).map(key).sort()).toEqual(t.store.zoneRecords(first.id).map(key).sort());
    } finally {
      other.cleanup();
    }
  });
});
