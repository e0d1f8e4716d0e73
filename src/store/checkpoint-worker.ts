// Runs in a worker thread (see checkpointer.ts): its own connection runs PASSIVE WAL checkpoints after the
// server's commits, so no API request waits for one. PASSIVE never blocks a writer or a reader.
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CHECKPOINT_AFTER_COMMITS, CHECKPOINT_WITHIN_MS, COMMITS, STOP } from './checkpointer.js';

const { dbPath, state } = workerData as { dbPath: string; state: Int32Array };
const db = new Database(dbPath, { fileMustExist: true });
// This thread does nothing else, so it may block: wait for a first commit (or a while: commits nobody
// counts, like token last-use times), then for enough of them or the deadline.
while (Atomics.load(state, STOP) === 0) {
  Atomics.wait(state, COMMITS, 0, CHECKPOINT_WITHIN_MS);
  const deadline = performance.now() + CHECKPOINT_WITHIN_MS;
  for (let n = Atomics.load(state, COMMITS); n < CHECKPOINT_AFTER_COMMITS; n = Atomics.load(state, COMMITS)) {
    const left = deadline - performance.now();
    if (left <= 0 || Atomics.load(state, STOP) !== 0) break;
    Atomics.wait(state, COMMITS, n, left);
  }
  const n = Atomics.load(state, COMMITS);
  db.pragma('wal_checkpoint(PASSIVE)');
  Atomics.sub(state, COMMITS, n);
}
db.close();
