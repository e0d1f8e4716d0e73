// Resolver unit tests: RFC 1034 4.3.2 lookups on the index built from the fixture zone (a real Store
// on a temp SQLite file), checked as sections of RRsets.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_CNAME_CHAIN, resolve } from '../../src/dns/resolve.js';
import { RCODE, TYPE } from '../../src/dns/wire.js';
import { type RRset, rrsetOf, ZoneIndex } from '../../src/dns/zone-index.js';
import type { ZoneSnapshot } from '../../src/store/store.js';
import { DEFAULTS, fixtureStore, type TempStore } from './helpers.js';

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(TYPE).map(([k, v]) => [v, k]));

function show(list: RRset[]): string[] {
  return list.map((r) => `${r.name} ${NAMES[r.type]} ${r.rdata.length}`);
}

let tmp: TempStore;
let zone: ZoneIndex;

function ask(name: string, type: keyof typeof TYPE, index = zone) {
  const a = resolve(index, name.split('.'), TYPE[type]);
  return {
    rcode: a.rcode,
    aa: a.aa,
    answer: show(a.answer),
    authority: show(a.authority),
    additional: show(a.additional),
  };
}

const SOA = ['example.com SOA 1'];

beforeAll(() => {
  tmp = fixtureStore();
  zone = new ZoneIndex(tmp.store.snapshot(tmp.zone.id)!, DEFAULTS);
});
afterAll(() => tmp.cleanup());

describe('index', () => {
  test('implicit SOA and apex NS, user apex NS beside them, deduplicated', () => {
    const apex = zone.nodes.get('example.com')!;
    expect(rrsetOf(apex, TYPE.NS)!.rdata.map((r) => r.names[0])).toEqual([
      'ns1.vps.org',
      'ns2.vps.org',
      'ns3.example.com',
    ]);
    expect(zone.soa.ttl).toBe(3600);
    expect(zone.negativeSoa.ttl).toBe(300);
    expect(zone.soa.rdata[0].names).toEqual(['ns1.vps.org', 'hostmaster.vps.org']);
    expect(Buffer.from(zone.soa.rdata[0].post, 'latin1').readUInt32BE(0)).toBe(tmp.store.snapshot(tmp.zone.id)!.serial);
  });

  test('empty non-terminals exist, zone cuts and occluded names are marked', () => {
    // Present, without RRsets.
    expect(zone.nodes.get('c.example.com')).toBeNull();
    expect(zone.nodes.get('b.c.example.com')).toBeNull();
    expect([...zone.cuts]).toEqual(['sub.example.com']);
    expect(zone.occluded('www.sub.example.com')).toBe(true);
    expect(zone.occluded('sub.example.com')).toBe(true);
    expect(zone.occluded('www.example.com')).toBe(false);
  });

  test('the lowest TTL wins inside an RRset (RFC 2181 5.2)', () => {
    const snap: ZoneSnapshot = {
      id: 9,
      uuid: 'u',
      domain: 'ttl.test',
      serial: 1,
      records: [
        {
          id: 1,
          uuid: 'a',
          zone_id: 9,
          created_at: '',
          type: 'A',
          name: 'x',
          value: '192.0.2.1',
          ttl: 600,
          priority: null,
        },
        {
          id: 2,
          uuid: 'b',
          zone_id: 9,
          created_at: '',
          type: 'A',
          name: 'x',
          value: '192.0.2.2',
          ttl: 120,
          priority: null,
        },
      ],
    };
    const z = new ZoneIndex(snap, DEFAULTS);
    expect(rrsetOf(z.nodes.get('x.ttl.test')!, TYPE.A)!.ttl).toBe(120);
  });
});

describe('answers', () => {
  test('positive answer, authoritative, minimal authority', () => {
    expect(ask('www.example.com', 'A')).toEqual({
      rcode: RCODE.NOERROR,
      aa: true,
      answer: ['www.example.com A 2'],
      authority: [],
      additional: [],
    });
  });

  test('apex SOA and NS, with in-zone NS target addresses in additional', () => {
    expect(ask('example.com', 'SOA').answer).toEqual(SOA);
    expect(ask('example.com', 'NS')).toMatchObject({
      answer: ['example.com NS 3'],
      additional: ['ns3.example.com A 1'],
    });
  });

  test('MX and SRV targets inside the zone get their addresses in additional; outside ones do not', () => {
    expect(ask('example.com', 'MX')).toMatchObject({
      answer: ['example.com MX 2'],
      additional: ['mail.example.com A 1', 'mail.example.com AAAA 1'],
    });
    expect(ask('_sip._tcp.example.com', 'SRV').additional).toEqual(['sipserver.example.com A 1']);
    expect(ask('nullmx.example.com', 'MX')).toMatchObject({ answer: ['nullmx.example.com MX 1'], additional: [] });
  });

  test('NODATA: NOERROR, empty answer, SOA in authority', () => {
    expect(ask('www.example.com', 'MX')).toEqual({
      rcode: RCODE.NOERROR,
      aa: true,
      answer: [],
      authority: SOA,
      additional: [],
    });
  });

  test('empty non-terminals are NODATA, not NXDOMAIN', () => {
    expect(ask('b.c.example.com', 'A')).toMatchObject({ rcode: RCODE.NOERROR, answer: [], authority: SOA });
    expect(ask('c.example.com', 'A')).toMatchObject({ rcode: RCODE.NOERROR, answer: [], authority: SOA });
  });

  test('NXDOMAIN with the SOA in authority', () => {
    expect(ask('nothere.example.com', 'A')).toEqual({
      rcode: RCODE.NXDOMAIN,
      aa: true,
      answer: [],
      authority: SOA,
      additional: [],
    });
    expect(ask('x.a.b.c.example.com', 'A').rcode).toBe(RCODE.NXDOMAIN);
  });
});

describe('CNAME', () => {
  test('followed inside the zone', () => {
    expect(ask('alias.example.com', 'A')).toMatchObject({
      rcode: RCODE.NOERROR,
      answer: ['alias.example.com CNAME 1', 'www.example.com A 2'],
    });
  });

  test('chains, and NODATA at the end of one', () => {
    expect(ask('chain1.example.com', 'A').answer).toEqual([
      'chain1.example.com CNAME 1',
      'chain2.example.com CNAME 1',
      'www.example.com A 2',
    ]);
    expect(ask('chain1.example.com', 'MX')).toMatchObject({
      answer: ['chain1.example.com CNAME 1', 'chain2.example.com CNAME 1'],
      authority: SOA,
    });
  });

  test('a query for the CNAME type itself is not followed', () => {
    expect(ask('alias.example.com', 'CNAME').answer).toEqual(['alias.example.com CNAME 1']);
  });

  test('a target that does not exist gives NXDOMAIN with the CNAME (RFC 6604)', () => {
    expect(ask('dangling.example.com', 'A')).toMatchObject({
      rcode: RCODE.NXDOMAIN,
      answer: ['dangling.example.com CNAME 1'],
      authority: SOA,
    });
  });

  test('stops where the target leaves the zone', () => {
    expect(ask('ext.example.com', 'A')).toMatchObject({
      rcode: RCODE.NOERROR,
      answer: ['ext.example.com CNAME 1'],
      authority: [],
    });
  });

  test('loops end', () => {
    expect(ask('loop1.example.com', 'A')).toMatchObject({
      rcode: RCODE.NOERROR,
      answer: ['loop1.example.com CNAME 1', 'loop2.example.com CNAME 1'],
    });
    expect(MAX_CNAME_CHAIN).toBeGreaterThan(2);
  });

  test('a target below a zone cut ends in a referral after the CNAME', () => {
    expect(ask('tosub.example.com', 'A')).toMatchObject({
      aa: true,
      answer: ['tosub.example.com CNAME 1'],
      authority: ['sub.example.com NS 2'],
      additional: ['ns1.sub.example.com A 1', 'ns1.sub.example.com AAAA 1'],
    });
  });
});

describe('delegations', () => {
  const referral = {
    rcode: RCODE.NOERROR,
    aa: false,
    answer: [],
    authority: ['sub.example.com NS 2'],
    additional: ['ns1.sub.example.com A 1', 'ns1.sub.example.com AAAA 1'],
  };

  test('at and below the cut: referral with glue, no AA', () => {
    expect(ask('sub.example.com', 'A')).toEqual(referral);
    expect(ask('sub.example.com', 'NS')).toEqual(referral);
    expect(ask('deep.www.sub.example.com', 'MX')).toEqual(referral);
  });

  test('data below the cut is never served as authoritative', () => {
    expect(ask('www.sub.example.com', 'A')).toEqual(referral);
    expect(ask('ns1.sub.example.com', 'A')).toEqual(referral);
  });

  test('DS at the cut is answered by the parent side (NODATA here)', () => {
    expect(ask('sub.example.com', 'DS')).toMatchObject({ rcode: RCODE.NOERROR, aa: true, authority: SOA });
  });
});

describe('wildcards (RFC 4592)', () => {
  test('match a name that does not exist, with the query name as owner', () => {
    expect(ask('x.wild.example.com', 'A').answer).toEqual(['x.wild.example.com A 1']);
    expect(ask('y.x.wild.example.com', 'TXT').answer).toEqual(['y.x.wild.example.com TXT 1']);
  });

  test('NODATA from a wildcard', () => {
    expect(ask('x.wild.example.com', 'MX')).toMatchObject({ rcode: RCODE.NOERROR, answer: [], authority: SOA });
  });

  test('do not match an existing name, nor below one', () => {
    expect(ask('exists.wild.example.com', 'TXT')).toMatchObject({ rcode: RCODE.NOERROR, answer: [] });
    expect(ask('x.exists.wild.example.com', 'A').rcode).toBe(RCODE.NXDOMAIN);
    expect(ask('wild.example.com', 'A')).toMatchObject({ rcode: RCODE.NOERROR, answer: [] });
  });

  test('the wildcard name itself answers', () => {
    expect(ask('*.wild.example.com', 'A').answer).toEqual(['*.wild.example.com A 1']);
  });

  test('CNAME at a wildcard is synthesized and followed', () => {
    expect(ask('foo.cw.example.com', 'A').answer).toEqual(['foo.cw.example.com CNAME 1', 'www.example.com A 2']);
  });
});

describe('ANY (RFC 8482)', () => {
  test('one RRset: the first of the name, the SOA at the apex', () => {
    expect(ask('www.example.com', 'ANY').answer).toEqual(['www.example.com A 2']);
    expect(ask('example.com', 'ANY').answer).toEqual(SOA);
    expect(ask('alias.example.com', 'ANY').answer).toEqual(['alias.example.com CNAME 1']);
  });

  test('every RRset when asked for the full form', () => {
    const a = resolve(zone, 'www.example.com'.split('.'), TYPE.ANY, true);
    expect(show(a.answer)).toEqual(['www.example.com A 2', 'www.example.com AAAA 1']);
  });

  test('NODATA at an empty non-terminal, NXDOMAIN for a missing name', () => {
    expect(ask('c.example.com', 'ANY')).toMatchObject({ rcode: RCODE.NOERROR, answer: [], authority: SOA });
    expect(ask('nothere.example.com', 'ANY').rcode).toBe(RCODE.NXDOMAIN);
  });
});
