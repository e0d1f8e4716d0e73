// Entry point of a DNS worker process (forked by cluster.ts).
import { runWorker } from './worker.js';

runWorker();
