// Export and import of whole zones as BIND9 text: the plain functions behind
// GET/POST /api/v1/dns-zones/{uuid}/export/ and /import/ and `vpsdns zone export|import`.
import { NotFoundError } from '../model/errors.js';
import type { Store, ZoneRow } from '../store/store.js';
import { findConflicts, MAX_REPORTED_ERRORS, parseZoneText, ZoneFileError } from './parse.js';
import { renderZone, type SoaSettings } from './render.js';

/** The zone as BIND9 text (the same text the zone file holds). 404 when the zone is gone. */
export function exportZone(store: Store, zoneId: number, soa: SoaSettings): string {
  const snap = store.snapshot(zoneId);
  if (!snap) throw new NotFoundError('Zone not found');
  return renderZone(snap, soa);
}

export interface ImportOptions {
  /** Replace all the zone's records (otherwise the file's records are added to them). */
  replace: boolean;
  /** Smallest TTL accepted, as in the API. */
  minTtl: number;
  /** Progress while checking the file's records (`done` of `total` entries), and once more after the commit. */
  onProgress?: (done: number, total: number) => void;
}

export interface ImportResult {
  added: number;
  removed: number;
  /** SOA and apex NS records of the file, skipped because vpsdns generates them. */
  ignored: number;
  /** The zone's serial after the import. */
  serial: number;
}

/**
 * Import BIND9 zone file text into `zone` in one transaction. Every problem (syntax, unsupported type,
 * invalid value, duplicate, CNAME conflict) is collected with its line number and thrown as one
 * ZoneFileError (400, `errors: [{line, detail}]`); then nothing is imported.
 */
export function importZoneText(store: Store, zone: ZoneRow, text: string, opts: ImportOptions): ImportResult {
  // The parser's last call (done = total) is held back until the records are committed.
  let entries = 0;
  const parsed = parseZoneText(text, zone.domain, {
    minTtl: opts.minTtl,
    onProgress: (done, total) => {
      entries = total;
      if (done < total) opts.onProgress?.(done, total);
    },
  });
  const existing = opts.replace ? [] : store.zoneRecords(zone.id);
  const errors = [...parsed.errors, ...findConflicts(parsed.records, existing)].sort((a, b) => a.line - b.line);
  if (errors.length > 0) throw new ZoneFileError(errors.slice(0, MAX_REPORTED_ERRORS), errors.length);
  const records = parsed.records.map(({ line: _line, ...data }) => data);
  const result = store.importRecords(zone, records, opts.replace);
  opts.onProgress?.(entries, entries);
  return { added: result.added, removed: result.removed, ignored: parsed.ignored, serial: result.serial };
}
