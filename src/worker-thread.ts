// Start a worker thread on a module: the compiled JavaScript, or (tests, run from source) the TypeScript
// file through tsx, which a worker thread does not inherit from its parent.
import { Worker } from 'node:worker_threads';

/** `url`: the module's compiled `.js`, beside the caller (`new URL('./x.js', import.meta.url)`). */
export function startModuleWorker(url: URL, workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(url, { workerData });
  const source = JSON.stringify(url.href.replace(/\.js$/, '.ts'));
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${source}); })`, {
    eval: true,
    workerData,
  });
}
