// One DNS worker process (a cluster worker started by cluster.ts): opens the SQLite file read-only,
// loads every zone, answers on the DNS ports it shares with the other workers, and follows the changes
// the primary announces, acknowledging each by its sequence number so the API can hold its reply until
// every worker has it (read-your-writes). Counters are pushed to the primary once a second.
import Database from 'better-sqlite3';
import type pino from 'pino';
import { type StdoutLog, stdoutLog } from '../logging.js';
import { ListenError } from '../model/errors.js';
import type { ZoneChange } from '../store/store.js';
import { loadAllZones, zoneSnapshotReader } from './loader.js';
import { DnsServer, type DnsServerOptions } from './server.js';

export type ToWorker =
  | {
      t: 'init';
      options: Omit<DnsServerOptions, 'logger' | 'exclusive'>;
      dbPath: string;
      listen: string[];
      port: number;
      logLevel: string;
      /** For the entry's `setup` (JSON-safe; e.g. the zone-transfer settings). */
      extension: unknown;
    }
  | { t: 'change'; seq: number; change: ZoneChange }
  | { t: 'stop' };

export type FromWorker =
  | { t: 'hello' }
  | { t: 'ready'; port: number; zones: number; records: number; loadMs: number }
  | { t: 'applied'; seq: number }
  | { t: 'counters'; counters: import('./engine.js').DnsCounters; extra: Record<string, number> }
  | { t: 'error'; message: string; listen: boolean };

function send(msg: FromWorker): void {
  process.send?.(msg);
}

/**
 * Wiring the worker's entry adds to its DnsServer (e.g. the zone-transfer hook) before it listens. It may
 * return counters of its own (plain numbers), pushed to the primary with the engine's.
 */
export type WorkerSetup = (
  server: DnsServer,
  extension: unknown,
  context: { dbPath: string; logger: pino.Logger },
) => Record<string, number> | undefined;

export function runWorker(setup?: WorkerSetup): void {
  let server: DnsServer | null = null;
  let db: Database.Database | null = null;
  let snapshotOf: ReturnType<typeof zoneSnapshotReader> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const applyDelayMs = Number(process.env.VPSDNS_TEST_APPLY_DELAY_MS ?? 0);
  let queue = Promise.resolve();
  let log: StdoutLog | null = null;

  const stop = async (code: number) => {
    if (timer) clearInterval(timer);
    await server?.close();
    db?.close();
    if (log) await log.exit(code, 500);
    process.exit(code);
  };

  process.on('message', (msg: ToWorker) => {
    switch (msg.t) {
      case 'init': {
        // Unbuffered, but asynchronous: a log reader that stalls must not stall the answers.
        log = stdoutLog({ level: msg.logLevel, base: { service: 'vpsdns', dnsWorker: process.pid } }, 0);
        const { logger } = log;
        db = new Database(msg.dbPath, { readonly: true, fileMustExist: true });
        db.pragma('busy_timeout = 5000');
        snapshotOf = zoneSnapshotReader(db);
        server = new DnsServer({ ...msg.options, logger, exclusive: false });
        const started = performance.now();
        const loaded = loadAllZones(db, server.engine);
        const loadMs = Math.round(performance.now() - started);
        const extra = setup?.(server, msg.extension, { dbPath: msg.dbPath, logger }) ?? {};
        server.listen(msg.listen, msg.port).then(
          () => {
            send({ t: 'ready', port: server!.ports.udp, ...loaded, loadMs });
            timer = setInterval(() => send({ t: 'counters', counters: server!.engine.counters, extra }), 1000);
            timer.unref();
          },
          (err: Error) => {
            send({ t: 'error', message: err.message, listen: err instanceof ListenError });
            void stop(1);
          },
        );
        return;
      }
      case 'change': {
        // Patched (or reloaded from this worker's own read-only connection) before the ack.
        const apply = () => {
          server!.follow(msg.change, snapshotOf!);
          send({ t: 'applied', seq: msg.seq });
        };
        if (applyDelayMs > 0) {
          // Tests only: a slow worker, to prove the API waits for it. Order is kept.
          queue = queue.then(() => new Promise<void>((r) => setTimeout(r, applyDelayMs))).then(apply);
        } else apply();
        return;
      }
      case 'stop':
        void stop(0);
        return;
    }
  });
  // Ctrl-C reaches the whole process group: the primary stops the workers in order.
  process.on('SIGINT', () => {});
  // The primary going away takes its workers with it.
  process.on('disconnect', () => void stop(0));
  // Messages sent before this process listened would be lost: the primary sends `init` on this.
  send({ t: 'hello' });
}
