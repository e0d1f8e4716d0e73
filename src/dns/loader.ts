// Reading zones for the DNS index straight from the SQLite file: every zone in one read transaction,
// records streamed in (zone, id) order so only the index being built is in memory (a 1 000 000-record
// zone never exists as an array of rows). Used at start-up by the in-process server and by each DNS
// worker on its own read-only connection, and for one zone when a change cannot be patched.
import type Database from 'better-sqlite3';
import type { RecordType } from '../model/rdata.js';
import type { DnsEngine } from './engine.js';
import type { IndexRecord, ZoneSource } from './zone-index.js';

interface ZoneHead {
  id: number;
  uuid: string;
  domain: string;
  serial: number;
}

/**
 * Only the columns the index uses, read as arrays (`raw`): better-sqlite3 makes a row array about twice
 * as fast as a row object, and uuid and created_at would be two strings per row thrown away.
 */
const RECORD_COLUMNS = 'zone_id, id, name, type, value, ttl, priority';
type RecordRow = [
  zoneId: number,
  id: number,
  name: string,
  type: RecordType,
  value: string,
  ttl: number,
  priority: number | null,
];

function indexRecord(row: RecordRow): IndexRecord {
  return { id: row[1], name: row[2], type: row[3], value: row[4], ttl: row[5], priority: row[6] };
}

/** Load every zone of the database into the engine; returns the zone and record counts. */
export function loadAllZones(db: Database.Database, engine: DnsEngine): { zones: number; records: number } {
  let records = 0;
  const zones = db
    .transaction(() => {
      const heads = db.prepare<[], ZoneHead>('SELECT id, uuid, domain, serial FROM zones ORDER BY id').all();
      const rows = db
        .prepare<[], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM records ORDER BY zone_id, id`)
        .raw()
        .iterate() as IterableIterator<RecordRow>;
      let pending = rows.next();
      for (const head of heads) {
        // Records of zones that are not in `heads` cannot exist (foreign key), but skip defensively.
        while (!pending.done && pending.value[0] < head.id) pending = rows.next();
        function* zoneRecords(): Generator<IndexRecord> {
          while (!pending.done && pending.value[0] === head.id) {
            records++;
            yield indexRecord(pending.value);
            pending = rows.next();
          }
        }
        engine.loadZone({ ...head, records: zoneRecords() });
      }
      if (!pending.done) rows.return?.();
      return heads.length;
    })
    .deferred();
  return { zones, records };
}

/** One zone's consistent snapshot (records streamed), or null when the zone no longer exists. */
export function zoneSnapshotReader(db: Database.Database): (zoneId: number) => ZoneSource | null {
  const head = db.prepare<[number], ZoneHead>('SELECT id, uuid, domain, serial FROM zones WHERE id = ?');
  const recs = db
    .prepare<[number], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM records WHERE zone_id = ? ORDER BY id`)
    .raw();
  return (zoneId) =>
    db.transaction(() => {
      const z = head.get(zoneId);
      return z ? { ...z, records: (recs.all(zoneId) as RecordRow[]).map(indexRecord) } : null;
    })();
}
