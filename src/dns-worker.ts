// Entry point of a DNS worker process (forked by dns/cluster.ts): the DNS server, plus the zone-transfer
// responder (AXFR/IXFR/NOTIFY arriving at this worker), which reads the journal read-only itself.
import { runWorker } from './dns/worker.js';
import { JournalReader, type TransferSettings, transferResponderFromSettings, zoneFinder } from './xfr/index.js';

runWorker((server, extension, { dbPath, logger }) => {
  const settings = extension as TransferSettings | null;
  if (!settings) return undefined;
  const responder = transferResponderFromSettings(settings, zoneFinder(server), new JournalReader(dbPath), logger);
  server.transfer = responder.handler;
  // The transfer counters go to the primary with the DNS counters (summed there for /metrics).
  return responder.stats;
});
