// SQLite schema and its migrations. Each migration runs once, in order, inside a transaction;
// `PRAGMA user_version` remembers how far a database has come.
import type Database from 'better-sqlite3';

const MIGRATIONS: string[] = [
  `
  CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  );
  CREATE TABLE tokens (
    id TEXT PRIMARY KEY,             -- public part of the token, shown by "token list"
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT,
    secret_hash BLOB NOT NULL,       -- sha256 of the secret part; the secret itself is never stored
    permissions TEXT NOT NULL,       -- comma list: dns:list,dns:create,dns:update,dns:delete or dns:*
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
  );
  CREATE TABLE zones (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    domain TEXT NOT NULL UNIQUE,
    serial INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX zones_account ON zones(account_id, id);
  CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    ttl INTEGER NOT NULL,
    priority INTEGER,
    created_at TEXT NOT NULL
  );
  CREATE UNIQUE INDEX records_identity ON records(zone_id, name, type, value);
  CREATE INDEX records_zone_type ON records(zone_id, type);
  CREATE INDEX records_zone ON records(zone_id);  -- a zone's records in id order, without a sort
  -- The change journal: what each serial added and removed (IXFR, audit).
  CREATE TABLE changes (
    id INTEGER PRIMARY KEY,
    zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
    from_serial INTEGER NOT NULL,
    serial INTEGER NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('add', 'del')),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    ttl INTEGER NOT NULL,
    priority INTEGER,
    at TEXT NOT NULL
  );
  CREATE INDEX changes_zone_serial ON changes(zone_id, serial);
  `,
];

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
