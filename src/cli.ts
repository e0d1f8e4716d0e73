// Entry point of the `vpsdns` command: serve, account and token management.
// Account and token commands work on the same database while `serve` runs (SQLite WAL + busy timeout);
// the server reads tokens from the database on every request, so changes apply at once.
import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError, databasePath, loadConfig, optionsHelp } from './config.js';
import { ApiError } from './model/errors.js';
import { ListenError, startServer } from './server.js';
import { parsePermissions } from './store/auth.js';
import { Store } from './store/store.js';

const USAGE = `usage: vpsdns <command> [options]

commands:
  serve [options]                         run the DNS server and the management API
  account create NAME                     create an account
  account list                            list accounts
  token create --account NAME --permissions LIST [--name LABEL]
                                          create an API token; prints it alone on stdout
  token list [--account NAME]             list tokens (never their secrets)
  token revoke ID                         revoke a token at once

every command takes --data DIR (VPSDNS_DATA, default ./data).
permissions: dns:list, dns:create, dns:update, dns:delete, or dns:* for all.

serve options (flag > environment > default):
${optionsHelp()}`;

class UsageError extends Error {}

function dataDir(value: string | undefined): string {
  return value ?? (process.env.VPSDNS_DATA || './data');
}

function openStore(dir: string): Store {
  return new Store(databasePath(dir));
}

function withStore<T>(dir: string | undefined, fn: (store: Store) => T): T {
  const store = openStore(dataDir(dir));
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
  // Buffered, asynchronous log writes: a synchronous write per API request costs more than the request.
  const logDestination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const logger = pino({ level: config.logLevel, base: { service: 'vpsdns' } }, logDestination);
  // The startup line is what scripts wait for: get it out now.
  const flushLogs = () => {
    try {
      logDestination.flushSync();
    } catch {
      // Nothing buffered, or stdout is gone.
    }
  };
  const server = await startServer(config, logger);
  flushLogs();
  const flushTimer = setInterval(flushLogs, 1000);
  flushTimer.unref();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // A stuck close must not keep the process alive forever.
    const timer = setTimeout(() => process.exit(1), 10_000);
    timer.unref();
    server.close().then(
      () => {
        logger.info('stopped');
        flushLogs();
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, 'error while stopping');
        flushLogs();
        process.exit(1);
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
    withStore(values.data as string | undefined, (store) => {
      const account = store.auth.createAccount(pos[0]);
      process.stdout.write(`${account.name}\n`);
    });
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
    } else if (err instanceof ApiError) {
      process.stderr.write(`vpsdns: ${err.detail}\n`);
      process.exitCode = 2;
    } else if (err instanceof ListenError) {
      process.stderr.write(`vpsdns: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      throw err;
    }
  }
}
