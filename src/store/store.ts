// The store: zones and records in SQLite. Every change is one transaction that also bumps the
// zone's SOA serial and appends to the change journal; after the commit a "zone changed" event fires.
// Changes committed by another process on the same file (the CLI) are noticed by polling
// PRAGMA data_version and announced with the same event.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { NotFoundError, ValidationError } from '../model/errors.js';
import type { RecordType } from '../model/rdata.js';
import type { RecordData } from '../model/record.js';
import { AuthStore } from './auth.js';
import { Checkpointer } from './checkpointer.js';
import { migrate } from './schema.js';
import { isoNow, nextSerial } from './serial.js';

export interface ZoneRow {
  id: number;
  uuid: string;
  account_id: number;
  domain: string;
  serial: number;
  created_at: string;
  updated_at: string;
}

export interface StoredRecord extends RecordData {
  id: number;
  uuid: string;
  zone_id: number;
  created_at: string;
}

export interface ZoneSnapshot {
  id: number;
  uuid: string;
  domain: string;
  serial: number;
  records: StoredRecord[];
}

/** The records a change removed (as they were) and added (as stored, with their ids). */
export interface ZoneChangeRecords {
  deleted: StoredRecord[];
  added: StoredRecord[];
}

/** What a consumer (DNS index, zone files, NOTIFY) hears after a committed change. */
export interface ZoneChange {
  zoneId: number;
  domain: string;
  serial: number;
  deleted: boolean;
  /**
   * Exactly what changed since the previous serial, when this process made the change (absent for
   * zone creation and deletion and for changes noticed from another process: read a snapshot then).
   */
  records?: ZoneChangeRecords;
  /** The serial the change started from; set with `records`. */
  fromSerial?: number;
}

export interface JournalEntry {
  from_serial: number;
  serial: number;
  op: 'add' | 'del';
  name: string;
  type: RecordType;
  value: string;
  ttl: number;
  priority: number | null;
}

export interface Page {
  limit: number;
  offset: number;
}

interface RecordRow {
  id: number;
  uuid: string;
  zone_id: number;
  name: string;
  type: RecordType;
  value: string;
  ttl: number;
  priority: number | null;
  created_at: string;
}

function toStored(r: RecordRow): StoredRecord {
  return {
    id: r.id,
    uuid: r.uuid,
    zone_id: r.zone_id,
    type: r.type,
    name: r.name,
    value: r.value,
    ttl: r.ttl,
    priority: r.priority,
    created_at: r.created_at,
  };
}

// A run of a zone's records (zone uuid, zone id, ids after this one and up to that one, at most this
// many of them or -1 for all) as the API's JSON array, with the first and last id in it. Same keys and
// order as api/present.ts recordObject. Built by SQLite: for a 100 000-record zone several times faster
// than materialising rows in JavaScript.
const RECORDS_JSON = `SELECT json_group_array(json_object('uuid', uuid, 'zone', ?, 'record_type', type, 'name', name,
    'value', value, 'ttl', ttl, 'priority', priority, 'created_at', created_at)), min(id), max(id)
  FROM (SELECT * FROM records WHERE zone_id = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?)`;
const NO_ID_LIMIT = Number.MAX_SAFE_INTEGER;

/** Record objects of consecutive ids, comma-separated without brackets, and the first and last id. */
export interface RecordsJsonRun {
  json: string;
  firstId: number;
  lastId: number;
}

/** A zone and its records as JSON, read in runs from one snapshot (see Store.zoneJsonReader). */
export interface ZoneJsonReader {
  zone: ZoneRow;
  recordCount: number;
  /** The next run; null after the last. */
  next(): RecordsJsonRun | null;
  /** Ends the snapshot; safe to call more than once. */
  close(): void;
}

type RecordsJsonRow = [string, number | null, number | null];

function recordsJsonStatement(db: Database.Database) {
  return db.prepare<[string, number, number, number, number], RecordsJsonRow>(RECORDS_JSON).raw();
}

function runOf(row: RecordsJsonRow | undefined): RecordsJsonRun | null {
  if (!row || row[1] === null || row[2] === null) return null;
  return { json: row[0].slice(1, -1), firstId: row[1], lastId: row[2] };
}

export interface StoreOptions {
  /** Open an existing database for reading only (worker threads and processes): no migrations, no writes. */
  readonly?: boolean;
  /** Records allowed in one zone (0 = no cap). */
  maxRecordsPerZone?: number;
  /** Zones allowed per account (0 = no cap). */
  maxZonesPerAccount?: number;
}

export class Store {
  readonly db: Database.Database;
  readonly auth: AuthStore;
  readonly events = new EventEmitter<{ zoneChanged: [ZoneChange] }>();
  private readonly stmts;
  private readonly opts: Required<Omit<StoreOptions, 'readonly'>>;
  private knownSerials = new Map<number, { domain: string; serial: number }>();
  private lastDataVersion = 0;
  private watchTimer: NodeJS.Timeout | null = null;
  private checkpointer: Checkpointer | null = null;

  constructor(path: string, opts: StoreOptions = {}) {
    if (opts.readonly) {
      this.db = new Database(path, { readonly: true, fileMustExist: true });
    } else {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: a commit survives the process being killed; FULL would also survive power loss.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      // SQLite's default page cache is 2 MiB: with a 100 000-record zone beside it, every write read some of
      // the index pages it changes back from the OS. 64 MiB holds the indexes of a few million records.
      this.db.pragma('cache_size = -65536');
      migrate(this.db);
    }
    // The CLI may write while the server runs: wait for the other writer instead of failing.
    this.db.pragma('busy_timeout = 5000');
    this.opts = { maxRecordsPerZone: opts.maxRecordsPerZone ?? 0, maxZonesPerAccount: opts.maxZonesPerAccount ?? 0 };
    this.auth = new AuthStore(this.db);
    const db = this.db;
    this.stmts = {
      zoneByUuid: db.prepare<[string, number], ZoneRow>('SELECT * FROM zones WHERE uuid = ? AND account_id = ?'),
      zoneById: db.prepare<[number], ZoneRow>('SELECT * FROM zones WHERE id = ?'),
      zoneByDomain: db.prepare<[string], ZoneRow>('SELECT * FROM zones WHERE domain = ?'),
      childZones: db.prepare<[string, number], ZoneRow>(
        "SELECT * FROM zones WHERE domain LIKE '%.' || ? AND account_id != ? LIMIT 1",
      ),
      listZones: db.prepare(
        `SELECT z.*, (SELECT count(*) FROM records r WHERE r.zone_id = z.id) AS record_count
         FROM zones z WHERE z.account_id = @account AND (@domain IS NULL OR z.domain = @domain)
         ORDER BY z.id LIMIT @limit OFFSET @offset`,
      ),
      countZones: db.prepare<{ account: number; domain: string | null }, { n: number }>(
        'SELECT count(*) AS n FROM zones WHERE account_id = @account AND (@domain IS NULL OR domain = @domain)',
      ),
      totals: db.prepare<[], { zones: number; records: number }>(
        'SELECT (SELECT count(*) FROM zones) AS zones, (SELECT count(*) FROM records) AS records',
      ),
      countRecordsInZone: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM records WHERE zone_id = ?'),
      allZones: db.prepare<[], { id: number; domain: string; serial: number }>('SELECT id, domain, serial FROM zones'),
      insertZone: db.prepare(
        'INSERT INTO zones (uuid, account_id, domain, serial, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      deleteZone: db.prepare('DELETE FROM zones WHERE id = ?'),
      deleteZoneRecords: db.prepare('DELETE FROM records WHERE zone_id = ?'),
      deleteZoneChanges: db.prepare('DELETE FROM changes WHERE zone_id = ?'),
      setSerial: db.prepare('UPDATE zones SET serial = ?, updated_at = ? WHERE id = ?'),
      recordsOfZone: db.prepare<[number], RecordRow>('SELECT * FROM records WHERE zone_id = ? ORDER BY id'),
      recordByUuid: db.prepare<[string, number], RecordRow>(
        `SELECT r.* FROM records r JOIN zones z ON z.id = r.zone_id WHERE r.uuid = ? AND z.account_id = ?`,
      ),
      listRecords: db.prepare(
        `SELECT r.*, z.uuid AS zone_uuid FROM records r JOIN zones z ON z.id = r.zone_id
         WHERE z.account_id = @account AND (@zone IS NULL OR z.uuid = @zone) AND (@type IS NULL OR r.type = @type)
         ORDER BY r.id LIMIT @limit OFFSET @offset`,
      ),
      countRecords: db.prepare<{ account: number; zone: string | null; type: string | null }, { n: number }>(
        `SELECT count(*) AS n FROM records r JOIN zones z ON z.id = r.zone_id
         WHERE z.account_id = @account AND (@zone IS NULL OR z.uuid = @zone) AND (@type IS NULL OR r.type = @type)`,
      ),
      recordsJson: recordsJsonStatement(db),
      recordsAtName: db.prepare<[number, string], RecordRow>('SELECT * FROM records WHERE zone_id = ? AND name = ?'),
      insertRecord: db.prepare(
        `INSERT INTO records (uuid, zone_id, name, type, value, ttl, priority, created_at)
         VALUES (@uuid, @zone_id, @name, @type, @value, @ttl, @priority, @created_at)`,
      ),
      updateRecord: db.prepare(
        'UPDATE records SET name = @name, type = @type, value = @value, ttl = @ttl, priority = @priority WHERE id = @id',
      ),
      deleteRecord: db.prepare('DELETE FROM records WHERE id = ?'),
      journal: db.prepare(
        `INSERT INTO changes (zone_id, from_serial, serial, op, name, type, value, ttl, priority, at)
         VALUES (@zone_id, @from_serial, @serial, @op, @name, @type, @value, @ttl, @priority, @at)`,
      ),
      journalSince: db.prepare<[number, number], JournalEntry>(
        `SELECT from_serial, serial, op, name, type, value, ttl, priority FROM changes
         WHERE zone_id = ? AND serial > ? ORDER BY id`,
      ),
      oldestJournalSerial: db.prepare<[number], { s: number | null }>(
        'SELECT min(from_serial) AS s FROM changes WHERE zone_id = ?',
      ),
    };
    for (const z of this.stmts.allZones.all()) this.knownSerials.set(z.id, { domain: z.domain, serial: z.serial });
    this.lastDataVersion = this.dataVersion();
  }

  /** WAL checkpoints in a worker thread instead of inside commits (the server; see checkpointer.ts). */
  checkpointInBackground(logger?: Pick<Logger, 'error'>): void {
    this.checkpointer ??= new Checkpointer(this.db, logger);
  }

  close(): void {
    this.stopWatching();
    void this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }

  /** Close once the checkpoint thread has closed its connection, so no file in the data directory changes after. */
  async closeGracefully(): Promise<void> {
    this.stopWatching();
    await this.checkpointer?.stop();
    this.checkpointer = null; // stopped: close() need not stop it again
    this.close();
  }

  // ---- zones ----

  listZones(
    accountId: number,
    domain: string | null,
    page: Page,
  ): { items: Array<ZoneRow & { record_count: number }>; total: number } {
    const items = this.stmts.listZones.all({ account: accountId, domain, ...page }) as Array<
      ZoneRow & { record_count: number }
    >;
    const total = this.stmts.countZones.get({ account: accountId, domain })?.n ?? 0;
    return { items, total };
  }

  /** A zone of this account, or a 404 (also when it belongs to another account). */
  getZone(accountId: number, uuid: string): ZoneRow {
    const zone = this.stmts.zoneByUuid.get(uuid, accountId);
    if (!zone) throw new NotFoundError('Zone not found');
    return zone;
  }

  getZoneByDomain(domain: string): ZoneRow | undefined {
    return this.stmts.zoneByDomain.get(domain);
  }

  totals(): { zones: number; records: number } {
    return this.stmts.totals.get() ?? { zones: 0, records: 0 };
  }

  recordCount(zoneId: number): number {
    return this.stmts.countRecordsInZone.get(zoneId)?.n ?? 0;
  }

  /** Create a zone for `domain` (already normalised). */
  createZone(accountId: number, domain: string): ZoneRow {
    const zone = this.db
      .transaction(() => {
        if (this.stmts.zoneByDomain.get(domain)) {
          throw new ValidationError(`Zone ${domain} already exists`, 'domain');
        }
        const labels = domain.split('.');
        for (let i = 1; i < labels.length - 1; i++) {
          const parent = this.stmts.zoneByDomain.get(labels.slice(i).join('.'));
          if (parent && parent.account_id !== accountId) {
            throw new ValidationError(`${domain} is inside ${parent.domain}, which another account hosts`, 'domain');
          }
        }
        const child = this.stmts.childZones.get(domain, accountId);
        if (child)
          throw new ValidationError(`${child.domain}, below ${domain}, is hosted by another account`, 'domain');
        if (this.opts.maxZonesPerAccount > 0) {
          const n = this.stmts.countZones.get({ account: accountId, domain: null })?.n ?? 0;
          if (n >= this.opts.maxZonesPerAccount) {
            throw new ValidationError(
              `This account already has the maximum of ${this.opts.maxZonesPerAccount} zones`,
              'domain',
            );
          }
        }
        const now = isoNow();
        const uuid = randomUUID();
        const serial = nextSerial(0);
        const info = this.stmts.insertZone.run(uuid, accountId, domain, serial, now, now);
        return this.stmts.zoneById.get(Number(info.lastInsertRowid)) as ZoneRow;
      })
      .immediate();
    this.announce({ zoneId: zone.id, domain: zone.domain, serial: zone.serial, deleted: false });
    return zone;
  }

  deleteZone(accountId: number, uuid: string): void {
    const zone = this.db
      .transaction(() => {
        const z = this.getZone(accountId, uuid);
        this.stmts.deleteZoneChanges.run(z.id);
        this.stmts.deleteZoneRecords.run(z.id);
        this.stmts.deleteZone.run(z.id);
        return z;
      })
      .immediate();
    this.announce({ zoneId: zone.id, domain: zone.domain, serial: zone.serial, deleted: true });
  }

  // ---- records ----

  listRecords(
    accountId: number,
    filter: { zone: string | null; type: string | null },
    page: Page,
  ): { items: Array<StoredRecord & { zone_uuid: string }>; total: number } {
    const rows = this.stmts.listRecords.all({ account: accountId, ...filter, ...page }) as Array<
      RecordRow & { zone_uuid: string }
    >;
    const total = this.stmts.countRecords.get({ account: accountId, ...filter })?.n ?? 0;
    return { items: rows.map((r) => ({ ...toStored(r), zone_uuid: r.zone_uuid })), total };
  }

  /** All records of a zone as the API's JSON array text. */
  zoneRecordsJson(zone: ZoneRow): string {
    return this.stmts.recordsJson.get(zone.uuid, zone.id, 0, NO_ID_LIMIT, -1)?.[0] ?? '[]';
  }

  /**
   * A zone's records as JSON in runs of `runRecords`, all from one snapshot held by a read-only connection
   * of its own: a caller can send each run as it is built while this connection keeps writing. Null when
   * the zone is gone. The caller must close it.
   */
  zoneJsonReader(zoneId: number, runRecords = 5000): ZoneJsonReader | null {
    const db = new Database(this.db.name, { readonly: true, fileMustExist: true });
    const close = () => {
      if (db.open) db.close(); // also ends the read transaction
    };
    try {
      db.exec('BEGIN');
      const zone = db.prepare<[number], ZoneRow>('SELECT * FROM zones WHERE id = ?').get(zoneId);
      if (!zone) {
        close();
        return null;
      }
      const recordCount =
        db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM records WHERE zone_id = ?').get(zoneId)?.n ?? 0;
      const run = recordsJsonStatement(db);
      let after = 0;
      return {
        zone,
        recordCount,
        next() {
          if (!db.open) return null;
          const got = runOf(run.get(zone.uuid, zone.id, after, NO_ID_LIMIT, runRecords));
          if (got) after = got.lastId;
          return got;
        },
        close,
      };
    } catch (err) {
      close();
      throw err;
    }
  }

  /**
   * Parts of a zone's records as JSON again, all in one read transaction: each id range whole (null when
   * none of its records is left), and every record after `tailAfter` in runs of `runRecords`. Null when
   * the zone is gone or no longer at `serial` (another process changed it since): rebuild it all then.
   */
  zoneJsonRefresh(
    zoneId: number,
    serial: number,
    ranges: Array<{ firstId: number; lastId: number }>,
    tailAfter: number | null,
    runRecords = 5000,
  ): { ranges: Array<RecordsJsonRun | null>; tail: RecordsJsonRun[]; recordCount: number } | null {
    return this.db.transaction(() => {
      const zone = this.stmts.zoneById.get(zoneId);
      if (zone?.serial !== serial) return null;
      const json = this.stmts.recordsJson;
      const rebuilt = ranges.map((r) => runOf(json.get(zone.uuid, zoneId, r.firstId - 1, r.lastId, -1)));
      const tail: RecordsJsonRun[] = [];
      for (let after = tailAfter; after !== null; ) {
        const run = runOf(json.get(zone.uuid, zoneId, after, NO_ID_LIMIT, runRecords));
        if (run) tail.push(run);
        after = run?.lastId ?? null;
      }
      return { ranges: rebuilt, tail, recordCount: this.recordCount(zoneId) };
    })();
  }

  zoneOfRecord(record: StoredRecord): ZoneRow {
    return this.stmts.zoneById.get(record.zone_id) as ZoneRow;
  }

  zoneRecords(zoneId: number): StoredRecord[] {
    return this.stmts.recordsOfZone.all(zoneId).map(toStored);
  }

  getRecord(accountId: number, uuid: string): StoredRecord {
    const row = this.stmts.recordByUuid.get(uuid, accountId);
    if (!row) throw new NotFoundError('Record not found');
    return toStored(row);
  }

  /** Rules that need the rest of the zone: duplicates and CNAME exclusivity (RFC 1034 3.6.2). */
  private checkConflicts(zoneId: number, data: RecordData, ignoreId: number | null): void {
    const others = this.stmts.recordsAtName.all(zoneId, data.name).filter((r) => r.id !== ignoreId);
    if (others.some((r) => r.type === data.type && r.value === data.value)) {
      throw new ValidationError(`An identical ${data.type} record for ${data.name} already exists`, 'value');
    }
    if (data.type === 'CNAME' && others.length > 0) {
      throw new ValidationError(`A CNAME record cannot share the name ${data.name} with other records`, 'name');
    }
    if (data.type !== 'CNAME' && others.some((r) => r.type === 'CNAME')) {
      throw new ValidationError(`${data.name} already has a CNAME record; no other record can share its name`, 'name');
    }
  }

  /** Bump the serial and journal the given deletions/additions; the caller runs inside a transaction. */
  private recordChange(zone: ZoneRow, deleted: RecordData[], added: RecordData[]): number {
    const serial = nextSerial(zone.serial);
    const at = isoNow();
    for (const [op, list] of [
      ['del', deleted],
      ['add', added],
    ] as const) {
      for (const r of list) {
        this.stmts.journal.run({
          zone_id: zone.id,
          from_serial: zone.serial,
          serial,
          op,
          name: r.name,
          type: r.type,
          value: r.value,
          ttl: r.ttl,
          priority: r.priority,
          at,
        });
      }
    }
    this.stmts.setSerial.run(serial, at, zone.id);
    return serial;
  }

  private insert(zone: ZoneRow, data: RecordData, createdAt: string): StoredRecord {
    const row = {
      uuid: randomUUID(),
      zone_id: zone.id,
      name: data.name,
      type: data.type,
      value: data.value,
      ttl: data.ttl,
      priority: data.priority,
      created_at: createdAt,
    };
    const info = this.stmts.insertRecord.run(row);
    return { ...row, id: Number(info.lastInsertRowid) };
  }

  private checkRecordCap(zone: ZoneRow, adding: number): void {
    const cap = this.opts.maxRecordsPerZone;
    if (cap > 0 && this.recordCount(zone.id) + adding > cap) {
      throw new ValidationError(`Zone ${zone.domain} would exceed the maximum of ${cap} records`, null);
    }
  }

  createRecord(zone: ZoneRow, data: RecordData): StoredRecord {
    let change: ZoneChange | null = null;
    const record = this.db
      .transaction(() => {
        const current = this.stmts.zoneById.get(zone.id);
        if (!current) throw new NotFoundError('Zone not found');
        this.checkRecordCap(current, 1);
        this.checkConflicts(current.id, data, null);
        const rec = this.insert(current, data, isoNow());
        const serial = this.recordChange(current, [], [data]);
        change = this.changeFrom(current, serial, { deleted: [], added: [rec] });
        return rec;
      })
      .immediate();
    this.announce(change!);
    return record;
  }

  /** Replace a record's data (PUT, and PATCH after merging). Unchanged data changes nothing. */
  updateRecord(accountId: number, uuid: string, data: RecordData): StoredRecord {
    let change: ZoneChange | null = null;
    const record = this.db
      .transaction(() => {
        const old = this.getRecord(accountId, uuid);
        const zone = this.stmts.zoneById.get(old.zone_id) as ZoneRow;
        const same =
          old.name === data.name &&
          old.type === data.type &&
          old.value === data.value &&
          old.ttl === data.ttl &&
          old.priority === data.priority;
        if (same) return old;
        this.checkConflicts(zone.id, data, old.id);
        this.stmts.updateRecord.run({ ...data, id: old.id });
        const serial = this.recordChange(zone, [old], [data]);
        const updated = { ...old, ...data };
        change = this.changeFrom(zone, serial, { deleted: [old], added: [updated] });
        return updated;
      })
      .immediate();
    if (change) this.announce(change);
    return record;
  }

  deleteRecord(accountId: number, uuid: string): void {
    const change = this.db
      .transaction((): ZoneChange => {
        const old = this.getRecord(accountId, uuid);
        const zone = this.stmts.zoneById.get(old.zone_id) as ZoneRow;
        this.stmts.deleteRecord.run(old.id);
        const serial = this.recordChange(zone, [old], []);
        return this.changeFrom(zone, serial, { deleted: [old], added: [] });
      })
      .immediate();
    this.announce(change);
  }

  /**
   * Add many records in one transaction (zone import). With `replace`, the zone's records are replaced.
   * Every record is checked as the API would; the first conflict aborts everything.
   */
  importRecords(
    zone: ZoneRow,
    records: RecordData[],
    replace: boolean,
  ): { added: number; removed: number; serial: number } {
    const result = this.db
      .transaction(() => {
        const current = this.stmts.zoneById.get(zone.id);
        if (!current) throw new NotFoundError('Zone not found');
        const removed = replace ? this.zoneRecords(zone.id) : [];
        if (replace) this.stmts.deleteZoneRecords.run(zone.id);
        this.checkRecordCap(current, records.length);
        const createdAt = isoNow();
        const inserted: StoredRecord[] = [];
        for (const data of records) {
          this.checkConflicts(zone.id, data, null);
          inserted.push(this.insert(current, data, createdAt));
        }
        const serial = this.recordChange(current, removed, records);
        return {
          added: records.length,
          removed: removed.length,
          serial,
          change: this.changeFrom(current, serial, { deleted: removed, added: inserted }),
        };
      })
      .immediate();
    this.announce(result.change);
    return { added: result.added, removed: result.removed, serial: result.serial };
  }

  // ---- what the DNS side and zone files read ----

  allZones(): Array<{ id: number; domain: string; serial: number }> {
    return this.stmts.allZones.all();
  }

  /** One zone's records and serial, read in one consistent snapshot. */
  snapshot(zoneId: number): ZoneSnapshot | null {
    return this.db.transaction(() => {
      const zone = this.stmts.zoneById.get(zoneId);
      if (!zone) return null;
      return {
        id: zone.id,
        uuid: zone.uuid,
        domain: zone.domain,
        serial: zone.serial,
        records: this.zoneRecords(zone.id),
      };
    })();
  }

  /** Journal entries after `serial`, oldest first, or null when the journal does not reach back that far. */
  journalSince(zoneId: number, serial: number): JournalEntry[] | null {
    const oldest = this.stmts.oldestJournalSerial.get(zoneId)?.s;
    if (oldest === null || oldest === undefined || serial < oldest) return null;
    return this.stmts.journalSince.all(zoneId, serial);
  }

  // ---- change events ----

  /**
   * The announcement of a change this process committed, `zone` as read inside its transaction. It lists
   * its records only when this process had announced the zone at the serial the change started from: a
   * commit by another process in between (the CLI, not yet seen by the watcher, which will then find the
   * serial it already knows) would otherwise be missing from every follower that patches.
   */
  private changeFrom(zone: ZoneRow, serial: number, records: ZoneChangeRecords): ZoneChange {
    const change: ZoneChange = { zoneId: zone.id, domain: zone.domain, serial, deleted: false };
    if (this.knownSerials.get(zone.id)?.serial === zone.serial) {
      change.records = records;
      change.fromSerial = zone.serial;
    }
    return change;
  }

  private announce(change: ZoneChange): void {
    if (change.deleted) this.knownSerials.delete(change.zoneId);
    else this.knownSerials.set(change.zoneId, { domain: change.domain, serial: change.serial });
    this.checkpointer?.wrote();
    // (data_version only moves for other connections' commits, so our own need no re-read.)
    this.events.emit('zoneChanged', change);
  }

  private dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** Notice commits made by other processes (the CLI) and announce the zones they changed. */
  checkExternalChanges(): void {
    const version = this.dataVersion();
    if (version === this.lastDataVersion) return;
    this.lastDataVersion = version;
    const seen = new Set<number>();
    for (const z of this.stmts.allZones.all()) {
      seen.add(z.id);
      const known = this.knownSerials.get(z.id);
      if (!known || known.serial !== z.serial) {
        this.knownSerials.set(z.id, { domain: z.domain, serial: z.serial });
        this.events.emit('zoneChanged', { zoneId: z.id, domain: z.domain, serial: z.serial, deleted: false });
      }
    }
    for (const [id, known] of this.knownSerials) {
      if (!seen.has(id)) {
        this.knownSerials.delete(id);
        this.events.emit('zoneChanged', { zoneId: id, domain: known.domain, serial: known.serial, deleted: true });
      }
    }
  }

  watchExternalChanges(intervalMs = 250): void {
    this.stopWatching();
    this.watchTimer = setInterval(() => {
      try {
        this.checkExternalChanges();
      } catch {
        // A busy database is retried on the next tick.
      }
    }, intervalMs);
    this.watchTimer.unref();
  }

  stopWatching(): void {
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = null;
  }
}
