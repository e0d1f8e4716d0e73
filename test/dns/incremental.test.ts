// Incremental index updates: a long random sequence of API-level changes (create, update, delete,
// import; CNAMEs, delegations with glue, wildcards, empty non-terminals appearing and vanishing) is
// patched into one engine, and after every change each answer is compared byte for byte with an engine
// that rebuilt the zone from a fresh snapshot.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DnsEngine } from '../../src/dns/engine.js';
import { validateRecord } from '../../src/model/record.js';
import { Store, type StoredRecord } from '../../src/store/store.js';
import { buildQuery, DEFAULTS, fixtureStore, type TempStore } from './helpers.js';

let tmp: TempStore;

beforeEach(() => {
  tmp = fixtureStore();
});
afterEach(() => tmp.cleanup());

const NAMES = ['a', 'b', 'x.a', 'y.x.a', '*', '*.w', 'w', 'sub', 'ns.sub', 'deep.sub', 'mail', '@', 'c.b', 'd.c.b'];
const TYPES = ['A', 'AAAA', 'TXT', 'MX', 'CNAME', 'NS', 'SRV', 'CAA'];

function randomRecord(rand: () => number): Record<string, unknown> {
  const name = NAMES[rand() % NAMES.length];
  const type = TYPES[rand() % TYPES.length];
  const n = rand() % 4;
  const target = ['mail.example.com', 'ns.sub.example.com', 'a.example.com', 'elsewhere.net'][n];
  const value: Record<string, string> = {
    A: `192.0.2.${n + 1}`,
    AAAA: `2001:db8::${n + 1}`,
    TXT: `text ${n}`,
    MX: target,
    CNAME: target,
    NS: target,
    SRV: `1 ${n} ${target}`,
    CAA: `0 issue "ca${n}.example"`,
  };
  return {
    name,
    record_type: type,
    value: value[type],
    ttl: 60 + (rand() % 3) * 60,
    priority: type === 'MX' || type === 'SRV' ? n : undefined,
  };
}

function queries(): Buffer[] {
  const out: Buffer[] = [];
  for (const name of [
    ...NAMES.map((n) => (n === '@' ? 'example.com' : `${n}.example.com`)),
    'zz.w.example.com',
    'q.y.x.a.example.com',
    'nope.example.com',
    'www.sub.example.com',
  ]) {
    for (const type of [...TYPES, 'SOA', 'ANY', 'DS'])
      out.push(buildQuery(name.replace('*', 'star'), type, { edns: 1232 }), buildQuery(name, type));
  }
  return out;
}

describe('incremental index updates', () => {
  test('a patched index answers exactly as a rebuilt one, after every change', () => {
    let seed = 12345;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    const patched = new DnsEngine(DEFAULTS);
    patched.loadZone(tmp.store.snapshot(tmp.zone.id)!);
    const outcomes: Record<string, number> = {};
    tmp.store.events.on('zoneChanged', (c) => {
      const how = patched.follow(c, (id) => tmp.store.snapshot(id));
      outcomes[how] = (outcomes[how] ?? 0) + 1;
    });
    const qs = queries();
    const live: StoredRecord[] = [];
    for (let step = 0; step < 200; step++) {
      const op = rand() % 10;
      try {
        if (op < 5 || live.length === 0) {
          live.push(tmp.store.createRecord(tmp.zone, validateRecord(randomRecord(rand), 'example.com', 60)));
        } else if (op < 7) {
          const r = live[rand() % live.length];
          const updated = tmp.store.updateRecord(
            tmp.account,
            r.uuid,
            validateRecord(randomRecord(rand), 'example.com', 60),
          );
          live[live.indexOf(r)] = updated;
        } else if (op < 9) {
          const r = live.splice(rand() % live.length, 1)[0];
          tmp.store.deleteRecord(tmp.account, r.uuid);
        } else {
          tmp.store.importRecords(
            tmp.zone,
            [
              validateRecord(randomRecord(rand), 'example.com', 60),
              validateRecord(randomRecord(rand), 'example.com', 60),
            ],
            false,
          );
        }
      } catch {
        // Conflicts (CNAME exclusivity, duplicates) are refused by the store: no change, nothing to compare.
        continue;
      }
      const rebuilt = new DnsEngine(DEFAULTS);
      rebuilt.loadZone(tmp.store.snapshot(tmp.zone.id)!);
      for (const q of qs) {
        const a = patched.handle(q, true)!;
        const b = rebuilt.handle(q, true)!;
        if (!a.equals(b))
          expect({ step, q: q.toString('hex'), a: a.toString('hex') }).toEqual({
            step,
            q: q.toString('hex'),
            a: b.toString('hex'),
          });
      }
    }
    expect(outcomes.patched).toBeGreaterThan(100);
  });

  test('a change patches the index without rebuilding it', () => {
    const e = new DnsEngine(DEFAULTS);
    e.loadZone(tmp.store.snapshot(tmp.zone.id)!);
    const before = e.zones.get(tmp.zone.id);
    let how = '';
    tmp.store.events.on('zoneChanged', (c) => {
      how = e.follow(c, () => {
        throw new Error('no snapshot should be needed');
      });
    });
    tmp.store.createRecord(
      tmp.zone,
      validateRecord({ name: 'fresh', record_type: 'A', value: '192.0.2.77' }, 'example.com', 60),
    );
    expect(how).toBe('patched');
    expect(e.zones.get(tmp.zone.id)).toBe(before);
    const out = e.handle(buildQuery('FRESH.example.com', 'A'), false)!;
    expect(out.subarray(-4)).toEqual(Buffer.from([192, 0, 2, 77]));
  });
});

describe('a change made by another process just before one of ours', () => {
  test('is not lost: our change is announced without its records, so followers read a snapshot', () => {
    const e = new DnsEngine(DEFAULTS);
    e.loadZone(tmp.store.snapshot(tmp.zone.id)!);
    tmp.store.events.on('zoneChanged', (c) => e.follow(c, (id) => tmp.store.snapshot(id)));
    // The CLI's connection writes; this process's watcher has not polled yet when the API writes.
    const cli = new Store(tmp.store.db.name);
    try {
      cli.createRecord(
        cli.getZone(tmp.account, tmp.zone.uuid),
        validateRecord({ name: 'from-cli', record_type: 'A', value: '192.0.2.81' }, 'example.com', 60),
      );
    } finally {
      cli.close();
    }
    tmp.store.createRecord(
      tmp.store.getZone(tmp.account, tmp.zone.uuid),
      validateRecord({ name: 'from-api', record_type: 'A', value: '192.0.2.82' }, 'example.com', 60),
    );
    tmp.store.checkExternalChanges(); // the watcher's next poll
    for (const [name, last] of [
      ['from-cli', 81],
      ['from-api', 82],
    ] as const) {
      const out = e.handle(buildQuery(`${name}.example.com`, 'A'), false)!;
      expect(out[3] & 0xf, name).toBe(0);
      expect(out.subarray(-4), name).toEqual(Buffer.from([192, 0, 2, last]));
    }
  });
});
