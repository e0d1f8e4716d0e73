// Property tests (fast-check): names, record values, and the zone-file renderer/parser round trip.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/model/errors.js';
import { normalizeOwnerName, normalizeZoneDomain, toFqdn } from '../../src/model/names.js';
import { normalizeValue, type RecordType, splitTxt } from '../../src/model/rdata.js';
import { type RecordData, validateRecord } from '../../src/model/record.js';
import { parseZoneText } from '../../src/zonefile/parse.js';
import { renderZone } from '../../src/zonefile/render.js';
import { SOA_DEFAULTS } from '../helpers/soa.js';

const SOA = SOA_DEFAULTS;

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const ownerLabel = fc.oneof(
  label,
  label.map((l) => `_${l}`),
);
const relativeName = fc.oneof(
  fc.constant('@'),
  fc.array(ownerLabel, { minLength: 1, maxLength: 3 }).map((ls) => ls.join('.')),
);
const hostname = fc.array(label, { minLength: 2, maxLength: 4 }).map((ls) => ls.join('.'));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16)).join(':'));
// Any printable text, quotes and backslashes included (a value wholly in quotes loses them by design).
const txt = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 600 })
  .filter((s) => !/[\x00-\x08\x0a-\x1f\x7f]/.test(s) && !(s.length >= 2 && s.startsWith('"') && s.endsWith('"')));
const caa = fc
  .tuple(fc.constantFrom(0, 128), fc.constantFrom('issue', 'issuewild'), hostname)
  .map(([f, tag, ca]) => `${f} ${tag} "${ca}"`);

/** An API record input of any supported type, valid by construction. */
const recordInput = fc.oneof(
  fc.record({ record_type: fc.constant('A'), name: relativeName, value: ipv4 }),
  fc.record({ record_type: fc.constant('AAAA'), name: relativeName, value: ipv6 }),
  fc.record({ record_type: fc.constant('MX'), name: relativeName, value: hostname, priority: fc.nat(65535) }),
  fc.record({ record_type: fc.constant('TXT'), name: relativeName, value: txt }),
  fc.record({
    record_type: fc.constant('SRV'),
    name: relativeName,
    value: fc.tuple(fc.nat(65535), fc.nat(65535), hostname).map(([w, p, t]) => `${w} ${p} ${t}`),
    priority: fc.nat(65535),
  }),
  fc.record({ record_type: fc.constant('CAA'), name: relativeName, value: caa }),
  fc.record({ record_type: fc.constant('NS'), name: relativeName, value: hostname }),
);

const ZONE = 'prop.example';

describe('names', () => {
  it('owner names: normalising is idempotent and FQDN ↔ relative round-trips', () => {
    fc.assert(
      fc.property(relativeName, fc.boolean(), (name, upper) => {
        const input = upper ? name.toUpperCase() : name;
        const rel = normalizeOwnerName(input, ZONE);
        expect(normalizeOwnerName(rel, ZONE)).toBe(rel);
        expect(normalizeOwnerName(`${toFqdn(rel, ZONE)}.`, ZONE)).toBe(rel);
      }),
    );
  });

  it('zone domains: anything either normalises idempotently or is a clean 400', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          const d = normalizeZoneDomain(s);
          expect(normalizeZoneDomain(d)).toBe(d);
          expect(d.length).toBeLessThanOrEqual(253);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
        }
      }),
    );
  });
});

describe('record values', () => {
  it('normalising a valid value is idempotent', () => {
    fc.assert(
      fc.property(recordInput, (input) => {
        const type = input.record_type as RecordType;
        const once = normalizeValue(type, input.value);
        expect(normalizeValue(type, once)).toBe(once);
      }),
    );
  });

  it('TXT: the 255-byte strings join back to the text', () => {
    fc.assert(
      fc.property(txt, (text) => {
        const chunks = splitTxt(text);
        expect(chunks.every((c) => c.length <= 255)).toBe(true);
        expect(Buffer.concat(chunks).toString('utf8')).toBe(text);
      }),
    );
  });
});

describe('zone files', () => {
  it('render then parse gives back the same records', () => {
    fc.assert(
      fc.property(fc.array(recordInput, { maxLength: 25 }), fc.nat(4), (inputs, ttlPick) => {
        const seen = new Set<string>();
        const records: RecordData[] = [];
        for (const input of inputs) {
          const r = validateRecord({ ...input, ttl: [60, 300, 3600, 86400, 2147483647][ttlPick] }, ZONE, 60);
          const key = `${r.name}|${r.type}|${r.value}`;
          // Apex NS are implicit: an import skips them by design.
          if (r.type === 'NS' && r.name === '@') continue;
          if (!seen.has(key)) {
            seen.add(key);
            records.push(r);
          }
        }
        const text = renderZone({ domain: ZONE, serial: 2026120301, records }, SOA);
        const parsed = parseZoneText(text, ZONE, { minTtl: 60 });
        expect(parsed.errors).toEqual([]);
        const norm = (rs: RecordData[]) =>
          rs.map((r) => `${r.name}|${r.type}|${r.value}|${r.ttl}|${r.priority}`).sort();
        expect(norm(parsed.records.map(({ line: _l, ...r }) => r))).toEqual(norm(records));
      }),
      { numRuns: 200 },
    );
  });
});
