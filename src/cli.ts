// Entry point of the `vpsdns` command: serve, account and token management.
// Account and token commands work on the same database while `serve` runs (SQLite WAL + busy timeout);
// the server reads tokens from the database on every request, so changes apply at once.

import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, databasePath, loadConfig, optionsHelp } from './config.js';
import { stdoutLog } from './logging.js';
import { ApiError, ListenError } from './model/errors.js';
import { normalizeZoneDomain } from './model/names.js';
import { startServer } from './server.js';
import { parsePermissions } from './store/auth.js';
import { Store } from './store/store.js';
import { ZoneDirError } from './zonefile/deploy.js';
import { exportZone, importZoneText } from './zonefile/import-export.js';
import { ZoneFileError } from './zonefile/parse.js';

const USAGE = `usage: vpsdns <command> [options]

commands:
  serve [options]                         run the DNS server and the management API
  account create NAME                     create an account
  account list                            list accounts
  token create --account NAME --permissions LIST [--name LABEL]
                                          create an API token; prints it alone on stdout
  token list [--account NAME]             list tokens (never their secrets)
  token revoke ID                         revoke a token at once
  zone import DOMAIN FILE [--account NAME] [--replace]
                                          add a BIND9 zone file's records (creates the zone, for
                                          --account, default admin); --replace replaces all records
  zone export DOMAIN                      print the zone as BIND9 text

every command takes --data DIR (VPSDNS_DATA, default ./data).
permissions: dns:list, dns:create, dns:update, dns:delete, or dns:* for all.

serve options (flag > environment > default):
${optionsHelp()}`;

class UsageError extends Error {}

function dataDir(value: string | undefined): string {
  return value ?? (process.env.VPSDNS_DATA || './data');
}

/** Open the data directory's database; only `account create` may make a new one (a typo'd --data must not). */
function withStore<T>(dir: string | undefined, fn: (store: Store) => T, opts: { create?: boolean } = {}): T {
  const path = databasePath(dataDir(dir));
  if (!opts.create && !existsSync(path)) {
    throw new UsageError(`no database at ${path}: pass the --data of your server (or run vpsdns serve once)`);
  }
  const store = new Store(path);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

function parse(argv: string[], options: Record<string, { type: 'string' | 'boolean' }>, positionals: number) {
  const { values, positionals: pos } = parseArgs({
    args: argv,
    options: { data: { type: 'string' }, ...options },
    allowPositionals: true,
    strict: true,
  });
  if (pos.length !== positionals) throw new UsageError(`expected ${positionals} argument(s), got ${pos.length}`);
  return { values: values as Record<string, string | boolean | undefined>, pos };
}

async function serve(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig(argv);
  // Buffered: a write per API request costs more than the request; written at least once a second.
  const log = stdoutLog({ level: config.logLevel, base: { service: 'vpsdns' } }, 4096);
  const { logger } = log;
  const server = await startServer(config, logger);
  // The startup line is what scripts wait for: get it out now.
  void log.flush();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // A stuck close must not keep the process alive forever.
    const timer = setTimeout(() => void log.exit(1, 0), 10_000);
    timer.unref();
    server.close().then(
      () => {
        logger.info('stopped');
        void log.exit(0);
      },
      (err) => {
        logger.error({ err }, 'error while stopping');
        void log.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function accountCommand(argv: string[]): void {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { values, pos } = parse(rest, {}, 1);
    withStore(
      values.data as string | undefined,
      (store) => {
        const account = store.auth.createAccount(pos[0]);
        process.stdout.write(`${account.name}\n`);
      },
      { create: true },
    );
  } else if (sub === 'list') {
    const { values } = parse(rest, {}, 0);
    withStore(values.data as string | undefined, (store) => {
      for (const a of store.db.prepare('SELECT name, created_at FROM accounts ORDER BY id').all() as Array<{
        name: string;
        created_at: string;
      }>) {
        process.stdout.write(`${a.name}\t${a.created_at}\n`);
      }
    });
  } else {
    throw new UsageError('account needs a subcommand: create or list');
  }
}

function tokenCommand(argv: string[]): void {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { values } = parse(
      rest,
      { account: { type: 'string' }, permissions: { type: 'string' }, name: { type: 'string' } },
      0,
    );
    if (!values.account) throw new UsageError('token create needs --account NAME');
    if (!values.permissions)
      throw new UsageError('token create needs --permissions LIST (e.g. dns:list,dns:create or dns:*)');
    const permissions = parsePermissions(values.permissions as string);
    withStore(values.data as string | undefined, (store) => {
      const account = store.auth.getAccount(values.account as string);
      if (!account) throw new UsageError(`no account "${values.account}" (create it with: vpsdns account create NAME)`);
      const { token } = store.auth.createToken(account.id, permissions, (values.name as string | undefined) ?? null);
      process.stdout.write(`${token}\n`);
    });
  } else if (sub === 'list') {
    const { values } = parse(rest, { account: { type: 'string' } }, 0);
    withStore(values.data as string | undefined, (store) => {
      const rows = store.auth.listTokens((values.account as string | undefined) ?? null);
      process.stdout.write('ID\tACCOUNT\tNAME\tPERMISSIONS\tCREATED\tLAST USED\tREVOKED\n');
      for (const t of rows) {
        process.stdout.write(
          `${[t.id, t.account, t.name ?? '-', t.permissions.join(','), t.created_at, t.last_used_at ?? '-', t.revoked_at ?? '-'].join('\t')}\n`,
        );
      }
    });
  } else if (sub === 'revoke') {
    const { values, pos } = parse(rest, {}, 1);
    withStore(values.data as string | undefined, (store) => {
      if (!store.auth.revokeToken(pos[0])) throw new UsageError(`no token with id ${pos[0]} (see: vpsdns token list)`);
      process.stdout.write(`revoked ${pos[0]}\n`);
    });
  } else {
    throw new UsageError('token needs a subcommand: create, list or revoke');
  }
}

/** zone import/export take the serve options too (--data, --nameservers, --min-ttl …), so the text matches. */
function zoneCommand(argv: string[]): void {
  const [sub, ...rest] = argv;
  const positionals: string[] = [];
  const flags: string[] = [];
  let account = 'admin';
  let replace = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--replace') replace = true;
    else if (arg === '--account') account = rest[++i] ?? '';
    else if (arg.startsWith('--account=')) account = arg.slice('--account='.length);
    else if (arg.startsWith('--')) {
      flags.push(arg);
      if (!arg.includes('=')) flags.push(rest[++i] ?? '');
    } else positionals.push(arg);
  }
  const config = loadConfig(flags);
  if (sub === 'export') {
    if (positionals.length !== 1) throw new UsageError('usage: vpsdns zone export DOMAIN');
    const domain = normalizeZoneDomain(positionals[0]);
    withStore(config.data, (store) => {
      const zone = store.getZoneByDomain(domain);
      if (!zone) throw new UsageError(`no zone ${domain}`);
      process.stdout.write(exportZone(store, zone.id, config));
    });
  } else if (sub === 'import') {
    if (positionals.length !== 2)
      throw new UsageError('usage: vpsdns zone import DOMAIN FILE [--account NAME] [--replace]');
    const domain = normalizeZoneDomain(positionals[0]);
    const text = readFileSync(positionals[1], 'utf8');
    withStore(config.data, (store) => {
      const owner = store.auth.getAccount(account);
      if (!owner) throw new UsageError(`no account "${account}" (create it with: vpsdns account create NAME)`);
      let zone = store.getZoneByDomain(domain);
      if (zone && zone.account_id !== owner.id) throw new UsageError(`zone ${domain} belongs to another account`);
      const created = !zone;
      zone ??= store.createZone(owner.id, domain);
      let lastShown = 0;
      const progress = (done: number, total: number) => {
        const now = Date.now();
        if (done < total && now - lastShown < 200) return;
        lastShown = now;
        process.stderr.write(
          `\rchecking records: ${done}/${total} (${Math.floor((done * 100) / Math.max(1, total))}%)`,
        );
      };
      try {
        const result = importZoneText(store, zone, text, { replace, minTtl: config.minTtl, onProgress: progress });
        process.stderr.write('\n');
        process.stdout.write(
          `${domain}: ${created ? 'created, ' : ''}${result.added} records imported` +
            `${replace ? `, ${result.removed} replaced` : ''}, ${result.ignored} SOA/apex NS skipped, serial ${result.serial}\n`,
        );
      } catch (err) {
        process.stderr.write('\n');
        // A zone this command created for a file that failed is removed again: nothing imported.
        if (created) store.deleteZone(owner.id, zone.uuid);
        throw err;
      }
    });
  } else {
    throw new UsageError('zone needs a subcommand: import or export');
  }
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        await serve(rest);
        return;
      case 'account':
        accountCommand(rest);
        return;
      case 'token':
        tokenCommand(rest);
        return;
      case 'zone':
        zoneCommand(rest);
        return;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        if (command === undefined) process.exitCode = 2;
        return;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (
      err instanceof ConfigError ||
      err instanceof UsageError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`vpsdns: ${(err as Error).message}\n`);
      if (err instanceof UsageError) process.stderr.write('run "vpsdns help" for usage\n');
      process.exitCode = 2;
    } else if (err instanceof ZoneFileError) {
      process.stderr.write(`vpsdns: the zone file has ${err.total} error(s); nothing was imported\n`);
      for (const e of err.errors) process.stderr.write(`  line ${e.line}: ${e.detail}\n`);
      process.exitCode = 2;
    } else if (err instanceof ApiError) {
      process.stderr.write(`vpsdns: ${err.detail}\n`);
      process.exitCode = 2;
    } else if (err instanceof ZoneDirError) {
      process.stderr.write(`vpsdns: ${err.message}\n`);
      process.exitCode = 1;
    } else if (err instanceof ListenError) {
      process.stderr.write(`vpsdns: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      throw err;
    }
  }
}
