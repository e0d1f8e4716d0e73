// AXFR and IXFR over real sockets against an in-process DnsServer: message splitting, SOA framing,
// IXFR differences (applied to the old zone they give the new one), AXFR fallback, UDP rules,
// access lists, NOTIFY received, and journal pruning.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validateRecord } from '../../src/model/record.js';
import { Acl, type AclEntry, parseAclEntry, parseNotifyTarget } from '../../src/xfr/config.js';
import { pruneJournal } from '../../src/xfr/journal.js';
import { decode } from '../dns/helpers.js';
import { rcodeOf, tcpExchange, transferRecords, udpExchange, type XfrFixture, xfrQuery, xfrServer } from './helpers.js';

const serialOf = (rr: string) => Number(rr.split(' ')[3]);
const isSoa = (rr: string) => rr.split(' ')[2] === 'SOA';

/** Apply an IXFR sequence (RFC 1995 format) to a set of RRs (SOA excluded). */
function applyIxfr(base: Set<string>, seq: string[]): Set<string> {
  const out = new Set(base);
  const current = serialOf(seq[0]);
  expect(isSoa(seq[0]) && seq[seq.length - 1] === seq[0]).toBe(true);
  let i = 1;
  while (i < seq.length - 1) {
    expect(isSoa(seq[i])).toBe(true); // old SOA
    i++;
    while (!isSoa(seq[i])) out.delete(seq[i++]);
    const to = serialOf(seq[i++]); // new SOA
    while (i < seq.length - 1 && !isSoa(seq[i])) out.add(seq[i++]);
    if (i === seq.length - 1) expect(to).toBe(current);
  }
  return out;
}

const withoutSoa = (rrs: string[]) => new Set(rrs.filter((r) => !isSoa(r)));

describe('AXFR and IXFR', () => {
  let fx: XfrFixture;
  const zoneRRs = async () => transferRecords(await tcpExchange(fx.port, xfrQuery({ type: 'AXFR' })));

  beforeAll(async () => {
    fx = await xfrServer(['--xfr-allow', '127.0.0.1']);
  });
  afterAll(async () => fx?.close());

  test('AXFR: SOA first and last, every record once, glue and occluded names included', async () => {
    const rrs = await zoneRRs();
    expect(isSoa(rrs[0])).toBe(true);
    expect(rrs[rrs.length - 1]).toBe(rrs[0]);
    expect(rrs.filter(isSoa)).toHaveLength(2);
    expect(new Set(rrs.slice(1, -1)).size).toBe(rrs.length - 2);
    const owners = new Set(rrs.map((r) => r.split(' ')[0]));
    for (const n of ['example.com', 'ns1.sub.example.com', 'www.sub.example.com', '*.wild.example.com']) {
      expect(owners.has(n)).toBe(true);
    }
    // Apex NS: the two implicit ones and the fixture's ns3 (its ns1.vps.org record is the implicit one).
    expect(rrs.filter((r) => r.startsWith('example.com 3600 NS'))).toHaveLength(3);
  });

  test('AXFR of a zone larger than 64 KiB: several messages, each within the limit, question in the first only', async () => {
    const zone = fx.store.createZone(fx.account, 'big.test');
    const records = Array.from({ length: 3000 }, (_, i) =>
      validateRecord(
        { name: `host${i}`, record_type: 'TXT', value: `record ${i} ${'x'.repeat(100)}`, ttl: 600 },
        'big.test',
        60,
      ),
    );
    fx.store.importRecords(zone, records, false);
    const messages = await tcpExchange(fx.port, xfrQuery({ type: 'AXFR', name: 'big.test', edns: true }));
    expect(messages.length).toBeGreaterThan(5);
    for (const m of messages) expect(m.length).toBeLessThanOrEqual(16384);
    const decoded = messages.map(decode);
    expect(decoded[0].questions).toHaveLength(1);
    for (const d of decoded.slice(1)) expect(d.questions ?? []).toHaveLength(0);
    for (const d of decoded) {
      expect(d.id).toBe(1234);
      expect(d.flags! & 0x0400).toBe(0x0400); // AA
      expect((d.additionals ?? []).filter((a) => a.type === 'OPT')).toHaveLength(1);
    }
    const rrs = transferRecords(messages);
    expect(rrs).toHaveLength(3000 + 2 + 2);
    expect(isSoa(rrs[0]) && rrs[rrs.length - 1] === rrs[0]).toBe(true);
    expect(new Set(rrs.filter((r) => r.includes(' TXT '))).size).toBe(3000);
  });

  test('IXFR differences applied to the old zone give the new zone, from every older serial', async () => {
    const zone = fx.zone;
    const versions: Array<{ serial: number; rrs: Set<string> }> = [];
    const remember = async () => {
      const rrs = await zoneRRs();
      versions.push({ serial: serialOf(rrs[0]), rrs: withoutSoa(rrs) });
    };
    await remember();
    const rec = fx.store.createRecord(
      zone,
      validateRecord({ name: 'new', record_type: 'A', value: '192.0.2.77', ttl: 300 }, 'example.com', 60),
    );
    await remember();
    fx.store.updateRecord(
      fx.account,
      rec.uuid,
      validateRecord({ name: 'new', record_type: 'A', value: '192.0.2.78', ttl: 600 }, 'example.com', 60),
    );
    await remember();
    const mail = fx.store.zoneRecords(zone.id).find((r) => r.name === 'mail' && r.type === 'AAAA')!;
    fx.store.deleteRecord(fx.account, mail.uuid);
    await remember();
    fx.store.createRecord(
      zone,
      validateRecord({ name: '@', record_type: 'TXT', value: 'second txt', ttl: 300 }, 'example.com', 60),
    );
    await remember();
    const latest = versions[versions.length - 1];
    for (const v of versions.slice(0, -1)) {
      const seq = transferRecords(await tcpExchange(fx.port, xfrQuery({ type: 'IXFR', serial: v.serial })));
      expect(serialOf(seq[0])).toBe(latest.serial);
      // Incremental, not the whole zone: the second RR is the old SOA.
      expect(isSoa(seq[1]) && serialOf(seq[1])).toBe(v.serial);
      expect([...applyIxfr(v.rrs, seq)].sort()).toEqual([...latest.rrs].sort());
    }
    // The update step carries the RR-level change: old A deleted, new A added.
    const one = transferRecords(await tcpExchange(fx.port, xfrQuery({ type: 'IXFR', serial: versions[1].serial })));
    expect(one.slice(0, 5)).toEqual([
      expect.stringMatching(/ SOA /),
      expect.stringMatching(/ SOA /),
      'new.example.com 300 A "192.0.2.77"',
      expect.stringMatching(/ SOA /),
      'new.example.com 600 A "192.0.2.78"',
    ]);
  });

  test('IXFR when up to date: the current SOA alone, over TCP and UDP', async () => {
    const rrs = await zoneRRs();
    const current = serialOf(rrs[0]);
    for (const serial of [current, current + 5]) {
      const tcp = transferRecords(await tcpExchange(fx.port, xfrQuery({ type: 'IXFR', serial })));
      expect(tcp).toEqual([rrs[0]]);
      const udp = transferRecords([await udpExchange(fx.port, xfrQuery({ type: 'IXFR', serial }))]);
      expect(udp).toEqual([rrs[0]]);
    }
  });

  test('IXFR from a serial the journal does not reach: the whole zone (AXFR form)', async () => {
    const axfr = await zoneRRs();
    const ixfr = transferRecords(await tcpExchange(fx.port, xfrQuery({ type: 'IXFR', serial: 1 })));
    expect(ixfr).toEqual(axfr);
  });

  test('IXFR over UDP: the differences when they fit, else the current SOA (the client retries over TCP)', async () => {
    const rrs = await zoneRRs();
    const current = serialOf(rrs[0]);
    fx.store.createRecord(
      fx.zone,
      validateRecord({ name: 'udp', record_type: 'A', value: '192.0.2.90', ttl: 300 }, 'example.com', 60),
    );
    const small = transferRecords([await udpExchange(fx.port, xfrQuery({ type: 'IXFR', serial: current }))]);
    expect(small).toHaveLength(5);
    expect(small[4]).toBe(small[0]);
    expect(small).toContain('udp.example.com 300 A "192.0.2.90"');
    // From serial 1 the answer would be the whole zone, far larger than 512 bytes: the current SOA alone.
    const whole = transferRecords([await udpExchange(fx.port, xfrQuery({ type: 'IXFR', serial: 1 }))]);
    expect(whole).toEqual([small[0]]);
  });

  test('AXFR over UDP is refused (RFC 5936 4.2)', async () => {
    const r = await udpExchange(fx.port, xfrQuery({ type: 'AXFR' }));
    expect(rcodeOf(r)).toBe('REFUSED');
  });

  test('a zone not hosted here: NOTAUTH', async () => {
    const [r] = await tcpExchange(fx.port, xfrQuery({ type: 'AXFR', name: 'example.org' }));
    expect(rcodeOf(r)).toBe('NOTAUTH');
    const [sub] = await tcpExchange(fx.port, xfrQuery({ type: 'AXFR', name: 'www.example.com' }));
    expect(rcodeOf(sub)).toBe('NOTAUTH');
  });

  test('ordinary queries still reach the engine', async () => {
    const r = decode(await udpExchange(fx.port, xfrQuery({ type: 'SOA' })));
    expect(r.rcode).toBe('NOERROR');
    expect(r.answers?.[0].type).toBe('SOA');
  });

  test('NOTIFY from someone not in --notify-allow: REFUSED', async () => {
    const r = await udpExchange(fx.port, xfrQuery({ type: 'SOA', opcode: 'NOTIFY' }));
    expect(rcodeOf(r)).toBe('REFUSED');
    expect((decode(r) as { opcode?: string }).opcode).toBe('NOTIFY');
  });
});

describe('access control', () => {
  test('default: nobody may transfer (REFUSED), NOTIFY refused', async () => {
    const fx = await xfrServer([]);
    try {
      const [axfr] = await tcpExchange(fx.port, xfrQuery({ type: 'AXFR' }));
      expect(rcodeOf(axfr)).toBe('REFUSED');
      const [ixfr] = await tcpExchange(fx.port, xfrQuery({ type: 'IXFR', serial: 1 }));
      expect(rcodeOf(ixfr)).toBe('REFUSED');
      expect(rcodeOf(await udpExchange(fx.port, xfrQuery({ type: 'IXFR', serial: 1 })))).toBe('REFUSED');
    } finally {
      await fx.close();
    }
  });

  test('an address outside the allowed networks is refused; NOTIFY from an allowed primary is answered', async () => {
    const fx = await xfrServer(['--xfr-allow', '10.0.0.0/8,::1', '--notify-allow', '127.0.0.0/8']);
    try {
      const [axfr] = await tcpExchange(fx.port, xfrQuery({ type: 'AXFR' }));
      expect(rcodeOf(axfr)).toBe('REFUSED');
      const notify = decode(await udpExchange(fx.port, xfrQuery({ type: 'SOA', opcode: 'NOTIFY', id: 99 })));
      expect(notify).toMatchObject({ id: 99, rcode: 'NOERROR', opcode: 'NOTIFY', type: 'response' });
      expect(notify.flags! & 0x0400).toBe(0x0400);
      const other = decode(
        await udpExchange(fx.port, xfrQuery({ type: 'SOA', opcode: 'NOTIFY', name: 'example.org' })),
      );
      expect(other.rcode).toBe('NOTAUTH');
    } finally {
      await fx.close();
    }
  });

  test('ACL entries: addresses, CIDRs, key names, key@CIDR', () => {
    const acl = new Acl(['192.0.2.0/24', '2001:db8::/32', 'k1', 'k2@127.0.0.1'].map(parseAclEntry));
    expect(acl.allows('192.0.2.9', null)).toBe(true);
    expect(acl.allows('::ffff:192.0.2.9', null)).toBe(true);
    expect(acl.allows('198.51.100.1', null)).toBe(false);
    expect(acl.allows('2001:db8::5', null)).toBe(true);
    expect(acl.allows('198.51.100.1', 'k1')).toBe(true);
    expect(acl.allows('198.51.100.1', 'k2')).toBe(false);
    expect(acl.allows('127.0.0.1', 'k2')).toBe(true);
    expect(acl.allows('127.0.0.1', null)).toBe(false);
    expect(new Acl([]).allows('127.0.0.1', null)).toBe(false);
    expect(() => parseAclEntry('10.0.0.0/33')).toThrow(/prefix/);
    expect(() => parseAclEntry('bad name!')).toThrow();
    expect((parseAclEntry('key:K1') as AclEntry).key).toBe('k1');
    expect(parseNotifyTarget('192.0.2.1')).toMatchObject({ address: '192.0.2.1', port: 53, key: null });
    expect(parseNotifyTarget('[2001:db8::1]:5300@k1')).toMatchObject({ address: '2001:db8::1', port: 5300, key: 'k1' });
    expect(parseNotifyTarget('2001:db8::1')).toMatchObject({ address: '2001:db8::1', port: 53 });
    expect(() => parseNotifyTarget('ns.example:53')).toThrow(/not an IP address/);
  });
});

describe('journal pruning', () => {
  test('by size and by age, whole serial steps, oldest first; IXFR then falls back to AXFR', async () => {
    const fx = await xfrServer(['--xfr-allow', '127.0.0.1']);
    try {
      const db = fx.store.db;
      const count = () =>
        (db.prepare('SELECT count(*) AS n FROM changes WHERE zone_id = ?').get(fx.zone.id) as { n: number }).n;
      const steps = () =>
        (
          db.prepare('SELECT count(DISTINCT serial) AS n FROM changes WHERE zone_id = ?').get(fx.zone.id) as {
            n: number;
          }
        ).n;
      const before = count();
      const serials: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = fx.store.createRecord(
          fx.zone,
          validateRecord({ name: `p${i}`, record_type: 'A', value: `192.0.2.${i}`, ttl: 300 }, 'example.com', 60),
        );
        serials.push(fx.store.snapshot(fx.zone.id)!.serial);
        expect(r).toBeTruthy();
      }
      expect(count()).toBe(before + 5);
      // Keep at most 3 rows: the three newest one-row steps stay.
      expect(pruneJournal(db, fx.zone.id, { maxChanges: 3, maxAgeSeconds: 0 })).toBe(before + 2);
      expect(count()).toBe(3);
      expect(steps()).toBe(3);
      expect(fx.store.journalSince(fx.zone.id, serials[1])).toHaveLength(3);
      expect(fx.store.journalSince(fx.zone.id, serials[0])).toBeNull();
      const axfr = transferRecords(await tcpExchange(fx.port, xfrQuery({ type: 'AXFR' })));
      const fallback = transferRecords(await tcpExchange(fx.port, xfrQuery({ type: 'IXFR', serial: serials[0] })));
      expect(fallback).toEqual(axfr);
      const inc = transferRecords(await tcpExchange(fx.port, xfrQuery({ type: 'IXFR', serial: serials[2] })));
      expect(inc).toHaveLength(1 + 2 * 3 + 1);
      // By age: everything is younger than an hour; a day later all of it is too old.
      expect(pruneJournal(db, fx.zone.id, { maxChanges: 0, maxAgeSeconds: 3600 })).toBe(0);
      expect(
        pruneJournal(db, fx.zone.id, { maxChanges: 0, maxAgeSeconds: 3600 }, new Date(Date.now() + 86400_000)),
      ).toBe(3);
      expect(count()).toBe(0);
    } finally {
      await fx.close();
    }
  });
});
