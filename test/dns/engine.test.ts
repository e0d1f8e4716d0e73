// Query bytes in, response bytes out: header flags, letter case, compression, RDATA wire formats,
// EDNS0, truncation, error rcodes, malformed packets, the cache, and read-your-writes driven by a
// real Store's "zone changed" events.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DnsEngine } from '../../src/dns/engine.js';
import { validateRecord } from '../../src/model/record.js';
import {
  buildQuery,
  DEFAULTS,
  type Decoded,
  decode,
  fixtureStore,
  flagsOf,
  optOf,
  type QueryOptions,
  type TempStore,
} from './helpers.js';

let tmp: TempStore;
let engine: DnsEngine;

function wire(store: TempStore, e: DnsEngine): void {
  for (const z of store.store.allZones()) e.loadZone(store.store.snapshot(z.id)!);
  store.store.events.on('zoneChanged', (c) => {
    e.follow(c, (id) => store.store.snapshot(id));
  });
}

beforeEach(() => {
  tmp = fixtureStore();
  engine = new DnsEngine(DEFAULTS);
  wire(tmp, engine);
});
afterEach(() => tmp.cleanup());

function raw(name: string, type: string, opts: QueryOptions = {}, tcp = false): Buffer {
  return engine.handle(buildQuery(name, type, opts), tcp)!;
}

function ask(name: string, type: string, opts: QueryOptions = {}, tcp = false): Decoded {
  return decode(raw(name, type, opts, tcp));
}

/** A header with the given fields, then `rest`. */
function header(fields: { id?: number; flags?: number; qd?: number; an?: number; ns?: number; ar?: number }): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(fields.id ?? 99, 0);
  h.writeUInt16BE(fields.flags ?? 0x0100, 2);
  h.writeUInt16BE(fields.qd ?? 1, 4);
  h.writeUInt16BE(fields.an ?? 0, 6);
  h.writeUInt16BE(fields.ns ?? 0, 8);
  h.writeUInt16BE(fields.ar ?? 0, 10);
  return h;
}

const WWW_A = Buffer.from([3, 0x77, 0x77, 0x77, 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 1, 0, 1]);

function rcodeOf(buf: Buffer | null): number {
  return buf ? buf.readUInt16BE(2) & 0xf : -1;
}

describe('header and question', () => {
  test('AA set, RD copied, RA never, id echoed, question in the query letter case', () => {
    const p = ask('WwW.ExAmPlE.cOm', 'A', { id: 31337 });
    expect(p.id).toBe(31337);
    expect(p.type).toBe('response');
    expect(flagsOf(p)).toEqual({ aa: true, tc: false, rd: true, ra: false });
    expect(p.questions![0].name).toBe('WwW.ExAmPlE.cOm');
    expect(flagsOf(ask('www.example.com', 'A', { rd: false })).rd).toBe(false);
  });

  test('a cached answer is patched for the next query: id, RD, CD and letter case', () => {
    ask('www.example.com', 'A', { id: 1 });
    const q = buildQuery('WWW.EXAMPLE.COM', 'A', { id: 2, rd: false });
    q.writeUInt16BE(q.readUInt16BE(2) | 0x0010, 2); // CD
    const out = engine.handle(q, false)!;
    const p = decode(out);
    expect(p.id).toBe(2);
    expect(flagsOf(p).rd).toBe(false);
    expect(out.readUInt16BE(2) & 0x0010).toBe(0x0010);
    expect(p.questions![0].name).toBe('WWW.EXAMPLE.COM');
    expect(p.answers!.map((a) => a.name)).toEqual(['WWW.EXAMPLE.COM', 'WWW.EXAMPLE.COM']);
  });

  test('names are compressed: answer owners point at the question', () => {
    const out = raw('www.example.com', 'A');
    const answerStart = 12 + WWW_A.length;
    expect(out.readUInt16BE(answerStart)).toBe(0xc00c);
    // Two A records: header + question + 2 * (2 + 10 + 4).
    expect(out.length).toBe(12 + WWW_A.length + 2 * 16);
  });
});

describe('RDATA wire formats', () => {
  test('TXT longer than 255 bytes goes out as several strings', () => {
    const txt = ask('long.example.com', 'TXT').answers![0] as { data: Buffer[] };
    expect(txt.data.map((b) => b.length)).toEqual([255, 49]);
    expect(Buffer.concat(txt.data).toString()).toBe(`${'L'.repeat(300)}-end`);
  });

  test('MX, SRV, CAA decode as the RFCs say; the SRV target is not compressed', () => {
    expect(ask('example.com', 'MX').answers!.map((a) => (a as { data: unknown }).data)).toEqual([
      { preference: 10, exchange: 'mail.example.com' },
      { preference: 20, exchange: 'mx.other.net' },
    ]);
    expect((ask('nullmx.example.com', 'MX').answers![0] as { data: unknown }).data).toEqual({
      preference: 0,
      exchange: '.',
    });
    expect((ask('example.com', 'CAA').answers![0] as { data: unknown }).data).toMatchObject({
      flags: 0,
      tag: 'issue',
      value: 'letsencrypt.org',
    });
    const out = raw('_sip._tcp.example.com', 'SRV');
    const srv = ask('_sip._tcp.example.com', 'SRV').answers![0] as { data: unknown };
    expect(srv.data).toEqual({ priority: 10, weight: 5, port: 5060, target: 'sipserver.example.com' });
    const target = Buffer.from([
      9,
      ...Buffer.from('sipserver'),
      7,
      ...Buffer.from('example'),
      3,
      ...Buffer.from('com'),
      0,
    ]);
    expect(out.includes(target)).toBe(true);
  });

  test('SOA carries the store serial and the configured timers', () => {
    const soa = ask('example.com', 'SOA').answers![0] as unknown as { ttl: number; data: Record<string, unknown> };
    expect(soa.ttl).toBe(3600);
    expect(soa.data).toEqual({
      mname: 'ns1.vps.org',
      rname: 'hostmaster.vps.org',
      serial: tmp.store.snapshot(tmp.zone.id)!.serial,
      refresh: 10800,
      retry: 3600,
      expire: 1209600,
      minimum: 300,
    });
    const neg = ask('nothere.example.com', 'A').authorities![0] as { ttl: number };
    expect(neg.ttl).toBe(300);
  });
});

describe('EDNS0 and truncation', () => {
  test('OPT echoed with our payload size and the DO bit; none without EDNS', () => {
    const p = ask('www.example.com', 'A', { edns: 4096, dnssecOk: true });
    expect(optOf(p)).toMatchObject({ udpPayloadSize: 1232 });
    expect(optOf(p)!.flags & 0x8000).toBe(0x8000);
    expect(optOf(ask('www.example.com', 'A', { edns: 4096 }))!.flags & 0x8000).toBe(0);
    expect(optOf(ask('www.example.com', 'A'))).toBeUndefined();
  });

  test('the payload size is configurable', () => {
    const e = new DnsEngine({ ...DEFAULTS, ednsPayload: 4000 });
    e.loadZone(tmp.store.snapshot(tmp.zone.id)!);
    const p = decode(e.handle(buildQuery('huge.example.com', 'TXT', { edns: 4096 }), false)!);
    expect(optOf(p)!.udpPayloadSize).toBe(4000);
    expect(flagsOf(p).tc).toBe(false);
    expect(p.answers).toHaveLength(6);
  });

  test('BADVERS for EDNS version > 0', () => {
    const out = raw('www.example.com', 'A', { edns: 1232, ednsVersion: 1 });
    const p = decode(out);
    expect(out.readUInt16BE(2) & 0xf).toBe(0);
    expect(optOf(p)!.extendedRcode).toBe(1);
    expect(p.answers).toHaveLength(0);
  });

  test('unknown EDNS options are ignored', () => {
    const q = buildQuery('www.example.com', 'A', { edns: 1232 });
    // Append an option (code 65001, 3 bytes) to the OPT RDATA.
    const opt = Buffer.from([0xfd, 0xe9, 0, 3, 1, 2, 3]);
    const withOpt = Buffer.concat([q.subarray(0, q.length - 2), Buffer.from([0, opt.length]), opt]);
    const p = decode(engine.handle(withOpt, false)!);
    expect(p.rcode).toBe('NOERROR');
    expect(p.answers).toHaveLength(2);
  });

  test('truncated to 512 without EDNS and to the requested size with it, whole RRsets, TC set', () => {
    const small = raw('big.example.com', 'TXT');
    expect(small.length).toBeLessThanOrEqual(512);
    expect(flagsOf(decode(small)).tc).toBe(true);
    expect(decode(small).answers).toHaveLength(0);
    const fits = ask('big.example.com', 'TXT', { edns: 1232 });
    expect(flagsOf(fits).tc).toBe(false);
    expect(fits.answers).toHaveLength(3);
    const huge = raw('huge.example.com', 'TXT', { edns: 4096 });
    expect(huge.length).toBeLessThanOrEqual(1232);
    expect(flagsOf(decode(huge)).tc).toBe(true);
    expect(optOf(decode(huge))).toBeDefined();
  });

  test('the same query over TCP gets the whole answer', () => {
    const p = ask('huge.example.com', 'TXT', {}, true);
    expect(flagsOf(p).tc).toBe(false);
    expect(p.answers).toHaveLength(6);
  });

  test('additional records that do not fit are left out without TC', () => {
    // An MX answer whose in-zone target addresses cannot all fit in 512 bytes.
    const zone = tmp.zone;
    for (let i = 0; i < 12; i++) {
      tmp.store.createRecord(
        zone,
        validateRecord({ record_type: 'MX', name: 'mx', value: `m${i}.example.com`, priority: i }, 'example.com', 60),
      );
      tmp.store.createRecord(
        zone,
        validateRecord({ record_type: 'AAAA', name: `m${i}`, value: `2001:db8::${i + 1}` }, 'example.com', 60),
      );
    }
    const out = raw('mx.example.com', 'MX');
    const p = decode(out);
    expect(out.length).toBeLessThanOrEqual(512);
    expect(flagsOf(p).tc).toBe(false);
    expect(p.answers).toHaveLength(12);
    expect(p.additionals!.length).toBeGreaterThan(0);
    expect(p.additionals!.length).toBeLessThan(12);
  });
});

describe('rcodes', () => {
  test('REFUSED for names under no hosted zone, other classes, and zone transfers', () => {
    expect(ask('example.org', 'A').rcode).toBe('REFUSED');
    expect(ask('com', 'A').rcode).toBe('REFUSED');
    expect(ask('version.bind', 'TXT', { qclass: 'CH' }).rcode).toBe('REFUSED');
    expect(ask('www.example.com', 'A', { qclass: 'CH' }).rcode).toBe('REFUSED');
    expect(ask('example.com', 'AXFR', {}, true).rcode).toBe('REFUSED');
    expect(ask('example.com', 'IXFR').rcode).toBe('REFUSED');
    expect(flagsOf(ask('example.org', 'A')).aa).toBe(false);
  });

  test('REFUSED answers echo the question and the OPT', () => {
    const p = ask('Example.ORG', 'A', { edns: 1232 });
    expect(p.questions![0].name).toBe('Example.ORG');
    expect(optOf(p)).toBeDefined();
  });

  test('NOTIMP for opcodes other than QUERY and NOTIFY; NOTIFY is refused', () => {
    for (const opcode of [1, 2, 5, 6, 15]) {
      const q = Buffer.concat([header({ flags: opcode << 11 }), WWW_A]);
      const out = engine.handle(q, false)!;
      expect(rcodeOf(out)).toBe(4);
      expect((out.readUInt16BE(2) >> 11) & 0xf).toBe(opcode);
    }
    const notify = Buffer.concat([header({ flags: (4 << 11) | 0x0400 }), WWW_A]);
    expect(rcodeOf(engine.handle(notify, false))).toBe(5);
  });

  test('FORMERR for QDCOUNT other than 1 and for answer/authority records in a query', () => {
    expect(rcodeOf(engine.handle(header({ qd: 0 }), false))).toBe(1);
    expect(rcodeOf(engine.handle(Buffer.concat([header({ qd: 2 }), WWW_A, WWW_A]), false))).toBe(1);
    expect(rcodeOf(engine.handle(Buffer.concat([header({ an: 1 }), WWW_A]), false))).toBe(1);
  });

  test('a response (QR set) or anything shorter than a header gets nothing', () => {
    expect(engine.handle(Buffer.concat([header({ flags: 0x8000 }), WWW_A]), false)).toBeNull();
    expect(engine.handle(Buffer.alloc(0), false)).toBeNull();
    expect(engine.handle(Buffer.alloc(11), false)).toBeNull();
  });
});

describe('malformed packets: FORMERR when a header can be read', () => {
  const cases: Record<string, Buffer> = {
    'label running past the end': Buffer.concat([header({}), Buffer.from([9, 0x61, 0x62])]),
    'no type and class': Buffer.concat([header({}), Buffer.from([3, 0x77, 0x77, 0x77, 0])]),
    'compression pointer in the question': Buffer.concat([header({}), Buffer.from([0xc0, 12, 0, 1, 0, 1])]),
    'reserved label type': Buffer.concat([header({}), Buffer.from([0x41, 0, 0, 1, 0, 1])]),
    'name longer than 255': Buffer.concat([
      header({}),
      ...Array.from({ length: 5 }, () => Buffer.from([63, ...Buffer.alloc(63, 0x61)])),
      Buffer.from([0, 0, 1, 0, 1]),
    ]),
    'trailing garbage': Buffer.concat([header({}), WWW_A, Buffer.from([1, 2, 3])]),
    'additional record past the end': Buffer.concat([header({ ar: 1 }), WWW_A, Buffer.from([0, 0, 41])]),
    'compression loop in the additional section': Buffer.concat([
      header({ ar: 1 }),
      WWW_A,
      Buffer.from([0xc0, 12 + WWW_A.length, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]),
    ]),
    'two OPT records': (() => {
      const q = buildQuery('www.example.com', 'A', { edns: 1232 });
      const opt = q.subarray(q.length - 11);
      const two = Buffer.concat([q, opt]);
      two.writeUInt16BE(2, 10);
      return two;
    })(),
    'OPT option longer than its RDATA': (() => {
      const q = buildQuery('www.example.com', 'A', { edns: 1232 });
      return Buffer.concat([q.subarray(0, q.length - 2), Buffer.from([0, 4, 0, 10, 0, 9])]);
    })(),
  };
  for (const [what, packet] of Object.entries(cases)) {
    test(what, () => {
      const out = engine.handle(packet, false)!;
      expect(out).not.toBeNull();
      expect(out.readUInt16BE(0)).toBe(packet.readUInt16BE(0));
      expect(rcodeOf(out)).toBe(1);
      expect(() => decode(out)).not.toThrow();
    });
  }

  test('random and mutated packets never throw', () => {
    const good = buildQuery('www.example.com', 'A', { edns: 1232 });
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 3000; i++) {
      let p: Buffer;
      if (i % 2 === 0) {
        p = Buffer.from(good);
        for (let k = 0; k < 1 + (rand() % 4); k++) p[rand() % p.length] = rand() & 0xff;
        p = p.subarray(0, rand() % (p.length + 1));
      } else {
        p = Buffer.alloc(rand() % 80);
        for (let k = 0; k < p.length; k++) p[k] = rand() & 0xff;
      }
      expect(() => engine.handle(p, i % 3 === 0)).not.toThrow();
    }
    expect(ask('www.example.com', 'A').answers).toHaveLength(2);
  });
});

describe('cache and read-your-writes', () => {
  const rec = (input: Record<string, unknown>) => validateRecord(input, 'example.com', 60);

  test('a created, changed and deleted record is seen by the next query', () => {
    expect(ask('new.example.com', 'A').rcode).toBe('NXDOMAIN');
    const r = tmp.store.createRecord(tmp.zone, rec({ record_type: 'A', name: 'new', value: '192.0.2.99' }));
    expect((ask('new.example.com', 'A').answers![0] as { data: string }).data).toBe('192.0.2.99');
    tmp.store.updateRecord(tmp.account, r.uuid, rec({ record_type: 'A', name: 'new', value: '192.0.2.98' }));
    expect((ask('new.example.com', 'A').answers![0] as { data: string }).data).toBe('192.0.2.98');
    tmp.store.deleteRecord(tmp.account, r.uuid);
    expect(ask('new.example.com', 'A').rcode).toBe('NXDOMAIN');
  });

  test('the SOA serial follows the store', () => {
    const before = (ask('example.com', 'SOA').answers![0] as { data: { serial: number } }).data.serial;
    tmp.store.createRecord(tmp.zone, rec({ record_type: 'TXT', name: 'x', value: 'y' }));
    const after = (ask('example.com', 'SOA').answers![0] as { data: { serial: number } }).data.serial;
    expect(after).toBeGreaterThan(before);
  });

  test('a deleted zone is REFUSED at once; a zone created after a refusal answers at once', () => {
    expect(ask('www.example.com', 'A').rcode).toBe('NOERROR');
    tmp.store.deleteZone(tmp.account, tmp.zone.uuid);
    expect(ask('www.example.com', 'A').rcode).toBe('REFUSED');
    expect(ask('example.net', 'SOA').rcode).toBe('REFUSED');
    tmp.store.createZone(tmp.account, 'example.net');
    expect(ask('example.net', 'SOA').rcode).toBe('NOERROR');
  });

  test('a zone created inside another takes over its names at once, and gives them back when deleted', () => {
    expect(ask('www.inner.example.com', 'A').rcode).toBe('NXDOMAIN');
    const inner = tmp.store.createZone(tmp.account, 'inner.example.com');
    tmp.store.createRecord(
      inner,
      validateRecord({ record_type: 'A', name: 'www', value: '192.0.2.7' }, inner.domain, 60),
    );
    const p = ask('www.inner.example.com', 'A');
    expect(p.rcode).toBe('NOERROR');
    expect((p.answers![0] as { data: string }).data).toBe('192.0.2.7');
    tmp.store.deleteZone(tmp.account, inner.uuid);
    expect(ask('www.inner.example.com', 'A').rcode).toBe('NXDOMAIN');
  });

  test('the cache is bounded', () => {
    const e = new DnsEngine({ ...DEFAULTS, cacheEntries: 50 });
    e.loadZone(tmp.store.snapshot(tmp.zone.id)!);
    for (let i = 0; i < 500; i++) e.handle(buildQuery(`r${i}.example.com`, 'A'), false);
    expect(e.cache.size).toBeLessThanOrEqual(50);
    for (let i = 0; i < 500; i++) e.handle(buildQuery(`r${i}.example.org`, 'A'), false);
    expect(e.cache.size).toBeLessThanOrEqual(50);
  });

  test('answers differ by EDNS mode and are cached apart', () => {
    expect(optOf(ask('www.example.com', 'A'))).toBeUndefined();
    expect(optOf(ask('www.example.com', 'A', { edns: 1232 }))).toBeDefined();
    expect(optOf(ask('www.example.com', 'A'))).toBeUndefined();
  });

  test('a flood of names asked once does not evict the answers clients keep asking for', () => {
    const small = new DnsEngine({ ...DEFAULTS, cacheEntries: 256 });
    wire(tmp, small);
    const q = buildQuery('www.example.com', 'A');
    small.handle(q, false);
    small.handle(q, false); // the second time a key is asked it is cached
    for (let i = 0; i < 5000; i++) small.handle(buildQuery(`flood${i}.example.com`, 'A'), false);
    const hits = small.counters.cacheHits;
    small.handle(q, false);
    expect(small.counters.cacheHits).toBe(hits + 1);
    // Each flood name was asked once: (almost) none of them took a slot.
    expect(small.cache.size).toBeLessThan(50);
  });

  test('a precompiled NXDOMAIN is byte for byte the encoded one, for any name length, case and EDNS', () => {
    const cases: Array<[string, QueryOptions]> = [
      ['x.example.com', {}],
      ['A-Much.Longer.Name.Below.Nothing.EXAMPLE.com', { edns: 1232 }],
      ['no.such.name.example.com', { edns: 4096, dnssecOk: true }],
      ['nx.sub2.example.com', { id: 7, rd: false }],
    ];
    for (const round of [0, 1]) {
      for (const [name, opts] of cases) {
        const first = raw(name, 'A', opts); // first time: the zone's template, not cached
        const second = raw(name, 'A', opts); // second time: encoded in full and cached
        expect(first.equals(second), `${name} ${JSON.stringify(opts)}`).toBe(true);
        expect(decode(first).rcode).toBe('NXDOMAIN');
      }
      // A change gives the zone a new serial: the template follows.
      const before = (ask('gone.example.com', 'A').authorities![0] as { data: { serial: number } }).data.serial;
      tmp.store.createRecord(tmp.zone, rec({ record_type: 'TXT', name: `t${round}`, value: 'y' }));
      const after = (ask('gone2.example.com', 'A').authorities![0] as { data: { serial: number } }).data.serial;
      expect(after).toBeGreaterThan(before);
      cases.forEach((c) => {
        c[0] = `r${round}.${c[0]}`;
      });
    }
  });
});
