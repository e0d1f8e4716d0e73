// WAL checkpoints off the request path. SQLite's automatic checkpoint runs inside whichever commit takes
// the WAL past 1000 pages: one API write in about a hundred copied the WAL back into the database and
// fsynced both (milliseconds; about 0.1 ms per write on average). The server turns that off on its own
// connection and a worker thread (checkpoint-worker.ts) checkpoints instead, shortly after writes.
// Durability does not change: a commit is durable once it is in the WAL, checkpointed or not.

import type { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { startModuleWorker } from '../worker-thread.js';

/** Slots of the shared state: commits since the last checkpoint; non-zero when the thread must exit. */
export const COMMITS = 0;
export const STOP = 1;
/** A checkpoint after this many commits (SQLite's own comes every 1000 WAL pages, about 110 API writes)… */
export const CHECKPOINT_AFTER_COMMITS = 100;
/** …or this long after the first commit since the last one. */
export const CHECKPOINT_WITHIN_MS = 1000;
const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;

export class Checkpointer {
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  private stopped = false;
  private readonly exited: Promise<void>;
  private readonly worker: Worker;

  constructor(db: Database.Database, logger?: Pick<Logger, 'error'>) {
    const worker = startModuleWorker(new URL('./checkpoint-worker.js', import.meta.url), {
      dbPath: db.name,
      state: this.state,
    });
    db.pragma('wal_autocheckpoint = 0');
    // Without the thread, the connection checkpoints for itself again.
    const fallBack = (err?: Error) => {
      if (this.stopped || !db.open) return;
      this.stopped = true;
      logger?.error({ err }, 'WAL checkpoint thread stopped; checkpointing in the request path again');
      db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`);
    };
    worker.on('error', fallBack);
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('exit', () => fallBack());
    worker.unref();
    this.worker = worker;
  }

  /** After a commit: count it; wake the thread on the first and on the one that makes a batch. */
  wrote(): void {
    const before = Atomics.add(this.state, COMMITS, 1);
    if (before === 0 || before === CHECKPOINT_AFTER_COMMITS - 1) Atomics.notify(this.state, COMMITS);
  }

  /** Let the thread finish its checkpoint, if one is running, and exit; resolves once it has closed its connection. */
  stop(): Promise<void> {
    this.stopped = true;
    Atomics.store(this.state, STOP, 1);
    Atomics.notify(this.state, COMMITS);
    // Unreferenced, the thread would not keep the process alive while we wait for it to exit.
    this.worker.ref();
    return this.exited;
  }
}
