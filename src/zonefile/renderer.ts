// The main-thread side of zone rendering: jobs go to one worker thread (render-worker.ts) and come
// back as promises.
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../worker-thread.js';
import type { SoaSettings } from './render.js';

export interface RenderJob {
  id: number;
  domain: string;
  /** The zone file to write, and its directory. */
  path: string;
  dir: string;
}

export interface RenderResult {
  id: number;
  /** gone: the zone no longer exists (the caller removes the file). */
  status: 'created' | 'updated' | 'unchanged' | 'gone' | 'error';
  serial?: number;
  error?: string;
}

export class ZoneRenderer {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: RenderResult) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly dbPath: string,
    private readonly soa: SoaSettings,
  ) {}

  private start(): Worker {
    const workerData = { dbPath: this.dbPath, soa: this.soa };
    const worker = startModuleWorker(new URL('./render-worker.js', import.meta.url), workerData);
    worker.on('message', (r: RenderResult) => {
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      // An idle worker does not keep the process alive; one with work does.
      if (this.waiting.size === 0) worker.unref();
      if (!w) return;
      if (r.status === 'error') w.reject(new Error(r.error));
      else w.resolve(r);
    });
    // A crashed worker fails what it had and is started again on the next job.
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null;
      this.failAll(new Error('zone render worker exited'));
    });
    worker.unref();
    return worker;
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  render(domain: string, path: string, dir: string): Promise<RenderResult> {
    this.worker ??= this.start();
    this.worker.ref();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker!.postMessage({ id, domain, path, dir } satisfies RenderJob);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
