// The IXFR side of the change journal (the store's `changes` table): reading it from any process
// (a read-only connection is enough, so DNS worker processes can answer IXFR), and pruning it by
// size and age in the process that owns the store. Pruning removes whole serial steps, oldest first,
// so what remains always starts at a serial a secondary may hold.
import Database from 'better-sqlite3';
import { isoNow } from '../store/serial.js';
import type { JournalEntry } from '../store/store.js';

/** What the IXFR responder reads: the Store itself, or a JournalReader in another process. */
export interface JournalSource {
  /** Entries after `serial`, oldest first, or null when the journal does not reach back that far. */
  journalSince(zoneId: number, serial: number): JournalEntry[] | null;
}

/** A read-only connection to the store's SQLite file (WAL: it never blocks the writer). */
export class JournalReader implements JournalSource {
  private readonly db: Database.Database;
  private readonly oldest;
  private readonly since;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    this.db.pragma('busy_timeout = 5000');
    this.oldest = this.db.prepare<[number], { s: number | null }>(
      'SELECT min(from_serial) AS s FROM changes WHERE zone_id = ?',
    );
    this.since = this.db.prepare<[number, number], JournalEntry>(
      `SELECT from_serial, serial, op, name, type, value, ttl, priority FROM changes
       WHERE zone_id = ? AND serial > ? ORDER BY id`,
    );
  }

  journalSince(zoneId: number, serial: number): JournalEntry[] | null {
    // One read transaction: a prune or a commit in between cannot tear the answer.
    return this.db.transaction(() => {
      const oldest = this.oldest.get(zoneId)?.s;
      if (oldest === null || oldest === undefined || serial < oldest) return null;
      return this.since.all(zoneId, serial);
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

export interface PruneLimits {
  /** Most journal rows kept per zone (0 = no limit). */
  maxChanges: number;
  /** Seconds a step is kept (0 = forever). */
  maxAgeSeconds: number;
}

/** Prune one zone's journal; returns the rows deleted. Runs in the store's process, on its connection. */
export function pruneJournal(db: Database.Database, zoneId: number, limits: PruneLimits, now = new Date()): number {
  const oldestAllowed = limits.maxAgeSeconds > 0 ? isoNow(new Date(now.getTime() - limits.maxAgeSeconds * 1000)) : '';
  // Most calls find nothing to do: decide that from the count and the oldest row, without grouping.
  const head = db
    .prepare<[number, number], { n: number; oldest: string | null }>(
      `SELECT count(*) AS n, (SELECT at FROM changes WHERE zone_id = ? ORDER BY serial LIMIT 1) AS oldest
       FROM changes WHERE zone_id = ?`,
    )
    .get(zoneId, zoneId);
  const withinCount = limits.maxChanges === 0 || (head?.n ?? 0) <= limits.maxChanges;
  const withinAge = oldestAllowed === '' || head?.oldest === null || (head?.oldest ?? '') >= oldestAllowed;
  if (withinCount && withinAge) return 0;
  return db
    .transaction(() => {
      // Steps newest first: the last row id of each serial step and its size.
      const steps = db
        .prepare<[number], { serial: number; last: number; n: number; at: string }>(
          `SELECT serial, max(id) AS last, count(*) AS n, max(at) AS at FROM changes
           WHERE zone_id = ? GROUP BY serial ORDER BY last DESC`,
        )
        .all(zoneId);
      let kept = 0;
      let cut = -1;
      for (const step of steps) {
        kept += step.n;
        const tooMany = limits.maxChanges > 0 && kept > limits.maxChanges;
        const tooOld = oldestAllowed !== '' && step.at < oldestAllowed;
        if (tooMany || tooOld) {
          cut = step.last;
          break;
        }
      }
      if (cut < 0) return 0;
      return db.prepare('DELETE FROM changes WHERE zone_id = ? AND id <= ?').run(zoneId, cut).changes;
    })
    .immediate();
}

/**
 * Prunes after changes (a zone at most once per `delayMs`) and every `intervalMs` for age.
 * Call `zoneChanged` from the store's zoneChanged event.
 */
export class JournalPruner {
  private readonly pending = new Map<number, NodeJS.Timeout>();
  private readonly timer: NodeJS.Timeout | null;

  constructor(
    private readonly db: Database.Database,
    private readonly limits: PruneLimits,
    private readonly zoneIds: () => number[],
    private readonly onError: (err: unknown) => void = () => {},
    private readonly delayMs = 1000,
    intervalMs = 3600_000,
  ) {
    const active = limits.maxChanges > 0 || limits.maxAgeSeconds > 0;
    this.timer = active ? setInterval(() => this.pruneAll(), intervalMs) : null;
    this.timer?.unref();
  }

  pruneAll(): number {
    let n = 0;
    for (const id of this.zoneIds()) n += this.prune(id);
    return n;
  }

  private prune(zoneId: number): number {
    if (this.limits.maxChanges === 0 && this.limits.maxAgeSeconds === 0) return 0;
    try {
      return pruneJournal(this.db, zoneId, this.limits);
    } catch (err) {
      this.onError(err);
      return 0;
    }
  }

  zoneChanged(zoneId: number, deleted: boolean): void {
    if (deleted || this.pending.has(zoneId) || this.limits.maxChanges === 0) return;
    const t = setTimeout(() => {
      this.pending.delete(zoneId);
      if (this.db.open) this.prune(zoneId);
    }, this.delayMs);
    t.unref();
    this.pending.set(zoneId, t);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }
}
