// Runs in a worker thread: reads one zone through its own read-only SQLite connection, renders it and
// replaces the file when its text changed. Rendering a 100 000-record zone takes about a second;
// here it does not stall the API or DNS on the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { Store } from '../store/store.js';
import { readOrNull, writeFileAtomic } from './atomic.js';
import { renderZone, type SoaSettings } from './render.js';
import type { RenderJob, RenderResult } from './renderer.js';

const { dbPath, soa } = workerData as { dbPath: string; soa: SoaSettings };
const store = new Store(dbPath, { readonly: true });

async function run(job: RenderJob): Promise<RenderResult> {
  const row = store.getZoneByDomain(job.domain);
  const snap = row ? store.snapshot(row.id) : null;
  if (!snap) return { id: job.id, status: 'gone' };
  const text = renderZone(snap, soa);
  const old = await readOrNull(job.path);
  if (old === text) return { id: job.id, status: 'unchanged', serial: snap.serial };
  await writeFileAtomic(job.path, text, job.dir);
  return { id: job.id, status: old === null ? 'created' : 'updated', serial: snap.serial };
}

parentPort?.on('message', (job: RenderJob) => {
  run(job).then(
    (result) => parentPort?.postMessage(result),
    (err: Error) => parentPort?.postMessage({ id: job.id, status: 'error', error: err.message } satisfies RenderResult),
  );
});
