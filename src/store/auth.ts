// Accounts and API tokens. A token is `vps_<id><secret>`: the id (12 chars) is stored in clear to find
// the row, the secret (32 chars) only as its sha256, compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import { ValidationError } from '../model/errors.js';
import { isoNow } from './serial.js';

export const PERMISSIONS = ['dns:list', 'dns:create', 'dns:update', 'dns:delete'] as const;
export type Permission = (typeof PERMISSIONS)[number];
export const ALL_PERMISSIONS = 'dns:*';

const TOKEN_PREFIX = 'vps_';
const ID_LENGTH = 12;
const SECRET_LENGTH = 32;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** How stale `last_used_at` may get before a request writes it again (keeps reads from becoming writes). */
const LAST_USED_RESOLUTION_MS = 1000;

export interface Account {
  id: number;
  name: string;
  created_at: string;
}

export interface TokenInfo {
  id: string;
  account: string;
  name: string | null;
  permissions: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface Principal {
  tokenId: string;
  accountId: number;
  permissions: ReadonlySet<string>;
}

function randomString(length: number): string {
  // Rejection sampling keeps every character equally likely.
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out += ALPHABET[b % 62];
    }
  }
  return out;
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** Parse `dns:list,dns:create` (or `dns:*`); throws a 400 on `permissions` naming the bad one. */
export function parsePermissions(text: string): string[] {
  const perms = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (perms.length === 0) throw new ValidationError('at least one permission is required', 'permissions');
  for (const p of perms) {
    if (p !== ALL_PERMISSIONS && !(PERMISSIONS as readonly string[]).includes(p)) {
      throw new ValidationError(
        `unknown permission "${p}"; use ${[...PERMISSIONS, ALL_PERMISSIONS].join(', ')}`,
        'permissions',
      );
    }
  }
  return [...new Set(perms)];
}

export class AuthStore {
  private readonly stmts;
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(db: Database.Database) {
    this.stmts = {
      accountByName: db.prepare<[string], Account>('SELECT id, name, created_at FROM accounts WHERE name = ?'),
      insertAccount: db.prepare('INSERT INTO accounts (name, created_at) VALUES (?, ?)'),
      countAccounts: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM accounts'),
      insertToken: db.prepare(
        'INSERT INTO tokens (id, account_id, name, secret_hash, permissions, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      tokenById: db.prepare<
        [string],
        { account_id: number; secret_hash: Buffer; permissions: string; revoked_at: string | null }
      >('SELECT account_id, secret_hash, permissions, revoked_at FROM tokens WHERE id = ?'),
      touchToken: db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?'),
      listTokens: db.prepare(
        `SELECT t.id, a.name AS account, t.name, t.permissions, t.created_at, t.last_used_at, t.revoked_at
         FROM tokens t JOIN accounts a ON a.id = t.account_id
         WHERE (@account IS NULL OR a.name = @account) ORDER BY t.created_at, t.id`,
      ),
      revokeToken: db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      tokenExists: db.prepare<[string], { id: string }>('SELECT id FROM tokens WHERE id = ?'),
    };
  }

  accountCount(): number {
    return this.stmts.countAccounts.get()?.n ?? 0;
  }

  getAccount(name: string): Account | undefined {
    return this.stmts.accountByName.get(name);
  }

  createAccount(name: string): Account {
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name)) {
      throw new ValidationError(
        'account name must be 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
        'name',
      );
    }
    if (this.getAccount(name)) throw new ValidationError(`account "${name}" already exists`, 'name');
    const created_at = isoNow();
    const info = this.stmts.insertAccount.run(name, created_at);
    return { id: Number(info.lastInsertRowid), name, created_at };
  }

  /** Create a token; the returned `token` is the only time the secret exists outside the caller. */
  createToken(accountId: number, permissions: string[], name: string | null = null): { id: string; token: string } {
    const id = randomString(ID_LENGTH);
    const secret = randomString(SECRET_LENGTH);
    this.stmts.insertToken.run(id, accountId, name, hashSecret(secret), permissions.join(','), isoNow());
    return { id, token: `${TOKEN_PREFIX}${id}${secret}` };
  }

  /** The principal behind a bearer token, or null for a malformed, unknown or revoked one. */
  authenticate(token: string): Principal | null {
    if (!token.startsWith(TOKEN_PREFIX) || token.length !== TOKEN_PREFIX.length + ID_LENGTH + SECRET_LENGTH) {
      return null;
    }
    const id = token.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + ID_LENGTH);
    const secret = token.slice(TOKEN_PREFIX.length + ID_LENGTH);
    const row = this.stmts.tokenById.get(id);
    const given = hashSecret(secret);
    // Compare even when the row is missing, so timing does not tell which ids exist.
    const stored = row?.secret_hash ?? Buffer.alloc(given.length);
    if (!timingSafeEqual(given, stored) || !row || row.revoked_at !== null) return null;
    const now = Date.now();
    if ((this.lastUsedWritten.get(id) ?? 0) + LAST_USED_RESOLUTION_MS <= now) {
      this.lastUsedWritten.set(id, now);
      this.stmts.touchToken.run(isoNow(new Date(now)), id);
    }
    return { tokenId: id, accountId: row.account_id, permissions: new Set(row.permissions.split(',')) };
  }

  listTokens(account: string | null = null): TokenInfo[] {
    const rows = this.stmts.listTokens.all({ account }) as Array<
      Omit<TokenInfo, 'permissions'> & { permissions: string }
    >;
    return rows.map((r) => ({ ...r, permissions: r.permissions.split(',') }));
  }

  /** Revoke a token by id; false when no such token exists. Revoking twice is harmless. */
  revokeToken(id: string): boolean {
    if (!this.stmts.tokenExists.get(id)) return false;
    this.stmts.revokeToken.run(isoNow(), id);
    return true;
  }
}

export function hasPermission(principal: Principal, needed: Permission): boolean {
  return principal.permissions.has(ALL_PERMISSIONS) || principal.permissions.has(needed);
}
