// The JSON of big zones (GET /api/v1/dns-zones/:uuid/): built by SQLite in runs of consecutive record
// ids, sent as it is built, and kept per zone as UTF-8 bytes run by run. A change made through this
// process marks the runs it touched (and new records, the tail); the next GET rebuilds just those, so
// after a one-record change to a 100 000-record zone it re-reads 5 000 records, not 100 000. A change
// this process cannot follow (another process's, a zone replaced, a GET's snapshot overtaken) drops the
// zone's bytes: the next GET builds them all again.
import { Readable } from 'node:stream';
import type { RecordsJsonRun, Store, ZoneChange, ZoneJsonReader, ZoneRow } from '../store/store.js';
import { zoneObject } from './present.js';

/** Zones with at least this many records are streamed and cached; smaller ones are built in one go. */
export const STREAM_FROM_RECORDS = 10_000;
/** Records per run. */
const RUN_RECORDS = 5000;
/** A change touching more records than this drops the zone's bytes (rebuilding it all costs as much). */
const MAX_FOLLOWED_RECORDS = 2 * RUN_RECORDS;

interface Run {
  firstId: number;
  lastId: number;
  bytes: Buffer;
}

interface Entry {
  /** The zone's serial these runs (once the dirty ones are rebuilt) stand for. */
  serial: number;
  runs: Run[];
  recordCount: number;
  bytes: number;
  /** Runs with a deleted or changed record. */
  dirty: Set<number>;
  /** Records were added (their ids are after every run's). */
  tail: boolean;
}

const COMMA = Buffer.from(',');
const TAIL = Buffer.from(']}');

/** `{…zone fields…,"records":[` as bytes. */
function zoneHead(zone: ZoneRow, count: number): Buffer {
  const head = JSON.stringify(zoneObject(zone, count));
  return Buffer.from(`${head.slice(0, -1)},"records":[`);
}

function toRun(r: RecordsJsonRun): Run {
  return { firstId: r.firstId, lastId: r.lastId, bytes: Buffer.from(r.json) };
}

export class ZoneJsonCache {
  private readonly entries = new Map<number, Entry>();
  private bytes = 0;

  constructor(
    private readonly store: Store,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {
    store.events.on('zoneChanged', (change) => this.follow(change));
  }

  /**
   * The body of a GET of `zone` (as just read) when its bytes are cached, rebuilding the runs changes
   * touched; null when they are not (or the zone moved on in another process meanwhile).
   */
  cachedBody(zone: ZoneRow): { body: Readable; length: number } | null {
    let e: Entry | null | undefined = this.entries.get(zone.id);
    if (!e || e.serial !== zone.serial) return null;
    if (e.dirty.size > 0 || e.tail) e = this.refresh(zone.id, e);
    if (!e) return null;
    const parts: Buffer[] = [zoneHead(zone, e.recordCount)];
    for (let i = 0; i < e.runs.length; i++) {
      if (i > 0) parts.push(COMMA);
      parts.push(e.runs[i].bytes);
    }
    parts.push(TAIL);
    return { body: Readable.from(parts, { objectMode: false }), length: parts.reduce((n, p) => n + p.length, 0) };
  }

  /**
   * The body of a big zone built from its own snapshot run by run as the socket takes it (building and
   * sending overlap); once the last run is out, its bytes are kept for the snapshot's serial.
   */
  streamedBody(reader: ZoneJsonReader): Readable {
    const runs: Run[] = [];
    const { zone, recordCount } = reader;
    const done = () =>
      this.put(zone.id, { serial: zone.serial, runs, recordCount, bytes: 0, dirty: new Set(), tail: false });
    return new Readable({
      construct(callback) {
        this.push(zoneHead(zone, recordCount));
        callback();
      },
      read() {
        try {
          const next = reader.next();
          if (next === null) {
            reader.close();
            this.push(TAIL);
            this.push(null);
            done();
            return;
          }
          const run = toRun(next);
          if (runs.length > 0) this.push(COMMA);
          this.push(run.bytes);
          runs.push(run);
        } catch (err) {
          this.destroy(err as Error);
        }
      },
      destroy(err, callback) {
        reader.close();
        callback(err);
      },
    });
  }

  /** Mark what a committed change touched, or drop the zone's bytes when it cannot be followed. */
  private follow(change: ZoneChange): void {
    const e = this.entries.get(change.zoneId);
    if (!e) return;
    const r = change.records;
    if (
      change.deleted ||
      !r ||
      change.fromSerial !== e.serial ||
      r.deleted.length + r.added.length > MAX_FOLLOWED_RECORDS
    ) {
      this.drop(change.zoneId);
      return;
    }
    for (const rec of [...r.deleted, ...r.added]) {
      const i = this.runOf(e, rec.id);
      if (i === 'tail') e.tail = true;
      else if (i === null) {
        // An id between runs: not in the snapshot the runs were built from. Start again.
        this.drop(change.zoneId);
        return;
      } else e.dirty.add(i);
    }
    e.serial = change.serial;
  }

  /** The run holding `id`, 'tail' for an id after every run, null for one between runs. */
  private runOf(e: Entry, id: number): number | 'tail' | null {
    const runs = e.runs;
    if (runs.length === 0 || id > runs[runs.length - 1].lastId) return 'tail';
    let lo = 0;
    let hi = runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (runs[mid].firstId <= id) lo = mid;
      else hi = mid - 1;
    }
    return runs[lo].firstId <= id && id <= runs[lo].lastId ? lo : null;
  }

  /** The entry with its dirty runs and tail rebuilt from the database; null (and dropped) when it moved on. */
  private refresh(zoneId: number, e: Entry): Entry | null {
    const last = e.runs.length - 1;
    // New records go after the last run: rebuild from its start, in runs, together with them.
    const tailFrom = e.tail || e.dirty.has(last) ? last : null;
    const ranges = [...e.dirty].filter((i) => i !== tailFrom).sort((a, b) => a - b);
    const fresh = this.store.zoneJsonRefresh(
      zoneId,
      e.serial,
      ranges.map((i) => e.runs[i]),
      tailFrom === null ? null : tailFrom >= 0 ? e.runs[tailFrom].firstId - 1 : 0,
      RUN_RECORDS,
    );
    if (!fresh) {
      this.drop(zoneId);
      return null;
    }
    const replaced = new Map<number, Run | null>();
    ranges.forEach((i, k) => {
      const r = fresh.ranges[k];
      replaced.set(i, r ? toRun(r) : null);
    });
    const runs: Run[] = [];
    const kept = tailFrom === null ? e.runs.length : tailFrom;
    for (let i = 0; i < kept; i++) {
      const r = replaced.has(i) ? replaced.get(i) : e.runs[i];
      if (r) runs.push(r);
    }
    for (const r of fresh.tail) runs.push(toRun(r));
    const refreshed = { ...e, runs, recordCount: fresh.recordCount, dirty: new Set<number>(), tail: false };
    this.put(zoneId, refreshed);
    return refreshed;
  }

  private put(zoneId: number, e: Entry): void {
    this.drop(zoneId);
    e.bytes = e.runs.reduce((n, r) => n + r.bytes.length, 0);
    if (e.bytes > this.maxBytes) return;
    while (this.bytes + e.bytes > this.maxBytes) this.drop(this.entries.keys().next().value as number);
    this.entries.set(zoneId, e);
    this.bytes += e.bytes;
  }

  private drop(zoneId: number): void {
    const e = this.entries.get(zoneId);
    if (!e) return;
    this.bytes -= e.bytes;
    this.entries.delete(zoneId);
  }
}
