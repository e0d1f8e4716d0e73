// SOA serials: date-based YYYYMMDDnn, and always greater than the last one
// (past 99 changes a day the serial simply runs ahead of the date, as BIND's does).

export function dateSerialBase(now: Date): number {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth() + 1;
  const d = now.getUTCDate();
  return (y * 10000 + m * 100 + d) * 100;
}

export function nextSerial(previous: number, now: Date = new Date()): number {
  return Math.max(previous + 1, dateSerialBase(now));
}

/** ISO 8601 UTC with Z and whole seconds, as the API shows timestamps. */
export function isoNow(now: Date = new Date()): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}
