// `vpsdns serve`: opens the store, starts the API (and the consumers of "zone changed"),
// binds the listeners, and stops them all gracefully.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { buildApp } from './api/app.js';
import { type Config, databasePath } from './config.js';
import { DnsCluster } from './dns/cluster.js';
import { loadAllZones } from './dns/loader.js';
import { DnsServer } from './dns/server.js';
import { registerDnsMetrics } from './metrics/dns.js';
import { counterFromStats, Registry } from './metrics/registry.js';
import { listenError } from './model/errors.js';
import { ALL_PERMISSIONS } from './store/auth.js';
import { Store } from './store/store.js';
import { startTransfers, type Transfers, transferSettings } from './xfr/index.js';
import { zoneFileWriterFromConfig } from './zonefile/deploy.js';

export interface RunningServer {
  store: Store;
  apiPort: number;
  dnsPort: number;
  close(): Promise<void>;
}

/** Listen on every address on one port (the first bind picks it when port is 0). IPv6 sockets are v6-only. */
async function listenAll(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  addresses: string[],
  port: number,
  logger: Logger,
): Promise<{ servers: Server[]; port: number }> {
  const servers: Server[] = [];
  let boundPort = port;
  for (const address of addresses) {
    const server = createServer(handler);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: address, port: boundPort, ipv6Only: isIPv6(address) }, () => resolve());
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      // A host without IPv6 still serves IPv4 when both were asked for (the default).
      if (isIPv6(address) && (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL') && addresses.length > 1) {
        logger.warn({ address }, 'IPv6 is not available on this host; API not listening there');
        continue;
      }
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      throw listenError(e, 'the API', address, boundPort, '--api-port');
    }
    const addr = server.address();
    if (addr && typeof addr === 'object') boundPort = addr.port;
    servers.push(server);
  }
  return { servers, port: boundPort };
}

/** On the first start, an admin account and a dns:* token, so a new user can call the API at once. */
function bootstrapAdmin(store: Store): string | null {
  if (store.auth.accountCount() > 0) return null;
  const admin = store.auth.createAccount('admin');
  return store.auth.createToken(admin.id, [ALL_PERMISSIONS], 'initial admin token').token;
}

function printFirstToken(token: string, apiPort: number): void {
  process.stdout.write(
    `\nFirst start: created account "admin" with an API token (shown once, keep it):\n\n  ${token}\n\n` +
      `Try: curl -H "Authorization: Bearer ${token}" http://127.0.0.1:${apiPort}/api/v1/dns-zones/\n\n`,
  );
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  // Everything started so far, stopped in reverse order on close or on a failed start.
  const stops: Array<() => unknown> = [];
  const stopAll = async () => {
    while (stops.length > 0) await stops.pop()!();
  };
  try {
    const store = new Store(databasePath(config.data), {
      maxRecordsPerZone: config.maxRecordsPerZone,
      maxZonesPerAccount: config.maxZonesPerAccount,
    });
    stops.push(() => store.closeGracefully());
    store.checkpointInBackground(logger);
    const firstToken = bootstrapAdmin(store);

    const metrics = new Registry();
    const zonesGauge = metrics.gauge('vpsdns_zones', 'Hosted zones');
    const recordsGauge = metrics.gauge('vpsdns_records', 'Records in all zones (the implicit SOA and NS not counted)');
    zonesGauge.collect(() => zonesGauge.set(store.totals().zones));
    recordsGauge.collect(() => recordsGauge.set(store.totals().records));
    const ready = { zonesLoaded: false, dnsListening: false, apiListening: false };
    const readiness = () => {
      const checks = { store: store.db.open, ...ready };
      return { ready: Object.values(checks).every(Boolean), checks };
    };

    // Zone files first: a start with an unwritable zone directory fails before anything listens. The files
    // themselves are regenerated in the background.
    const zoneFiles = zoneFileWriterFromConfig(store, config, logger);
    await zoneFiles.start({ background: true });
    stops.push(() => zoneFiles.close());
    counterFromStats(
      metrics,
      'vpsdns_zonefile_events_total',
      'Zone file writes, skips, removals, failures and hook runs',
      'event',
      zoneFiles.stats,
    );

    // DNS: in this process (--workers 0) or in worker processes sharing the ports. Either way the index
    // follows every committed change before the API answers (read-your-writes).
    const dnsOptions = {
      nameservers: config.nameservers,
      hostmaster: config.hostmaster,
      soaTtl: config.soaTtl,
      soaRefresh: config.soaRefresh,
      soaRetry: config.soaRetry,
      soaExpire: config.soaExpire,
      soaMinimum: config.soaMinimum,
      ednsPayload: config.ednsPayload,
      tcpIdleTimeout: config.tcpIdleTimeout,
      tcpMaxConnections: config.tcpMaxConnections,
      tcpSessionTimeout: config.tcpSessionTimeout,
      rrlRate: config.rrlRate,
      rrlSlip: config.rrlSlip,
      queryLogSample: config.queryLogSample,
      cacheEntries: config.dnsCacheEntries,
      dnsUdpBuffer: config.dnsUdpBuffer,
      udpIo: config.dnsUdpIo,
    };
    const loadStarted = performance.now();
    // Zone transfers (src/xfr): NOTIFY and journal pruning here; AXFR/IXFR answered where DNS runs.
    let transfers: Transfers | undefined;
    stops.push(() => transfers?.close());
    let dnsPort: number;
    let dnsCluster: DnsCluster | null = null;
    if (config.workers === 0) {
      const dns = new DnsServer({ ...dnsOptions, logger });
      loadAllZones(store.db, dns.engine);
      store.events.on('zoneChanged', (change) => {
        dns.follow(change, (id) => store.snapshot(id));
      });
      ready.zonesLoaded = true;
      transfers = startTransfers(config, store, dns, logger);
      registerDnsMetrics(metrics, () => dns.engine.counters);
      await dns.listen(config.listen, config.dnsPort);
      stops.push(() => dns.close());
      dnsPort = dns.ports.udp;
    } else {
      const c = new DnsCluster({
        workers: config.workers,
        dbPath: databasePath(config.data),
        listen: config.listen,
        port: config.dnsPort,
        dns: dnsOptions,
        logLevel: config.logLevel,
        logger,
        entry: fileURLToPath(new URL('./dns-worker', import.meta.url)),
        extension: transferSettings(config),
      });
      dnsCluster = c;
      transfers = startTransfers(config, store, null, logger);
      registerDnsMetrics(metrics, () => c.counters());
      store.events.on('zoneChanged', (change) => c.announce(change));
      stops.push(() => c.close());
      await c.start();
      ready.zonesLoaded = true;
      dnsPort = c.port;
    }
    const loadMs = Math.round(performance.now() - loadStarted);
    // Transfer requests are counted where DNS runs: here, or in each worker (summed by the cluster).
    const xfrCounter = metrics.counter(
      'vpsdns_xfr_requests_total',
      'Zone transfer requests, refusals and NOTIFYs received',
    );
    const notifier = transfers!.notifier;
    const responder = transfers!.responder;
    const xfrStats = () => (dnsCluster ? dnsCluster.extraCounters() : (responder?.stats ?? {}));
    xfrCounter.collect(() => {
      for (const [kind, n] of Object.entries(xfrStats())) xfrCounter.set(n, { kind });
    });
    counterFromStats(
      metrics,
      'vpsdns_notify_sent_total',
      'NOTIFY messages sent and their outcomes',
      'outcome',
      notifier.stats,
    );
    ready.dnsListening = true;

    const app = buildApp({ store, config, logger, metrics, readiness });
    if (dnsCluster) {
      // A reply (to a write, and to anything after it) leaves only once every DNS worker has applied
      // every change announced so far.
      const c = dnsCluster;
      app.addHook('onSend', (_request, _reply, payload, done) => c.whenSynced(() => done(null, payload)));
    }
    await app.ready();
    stops.push(() => app.close());
    const api = await listenAll((req, res) => app.routing(req, res), config.listen, config.apiPort, logger);
    stops.push(() => Promise.all(api.servers.map((s) => new Promise((r) => s.close(r)))));
    ready.apiListening = true;

    if (firstToken) printFirstToken(firstToken, api.port);
    // Commits made by the CLI on the same database reach the consumers too.
    store.watchExternalChanges();
    logger.info(
      {
        listen: config.listen,
        apiPort: api.port,
        dnsPort,
        dnsWorkers: config.workers,
        ...store.totals(),
        zoneLoadMs: loadMs,
        data: config.data,
      },
      'vpsdns started',
    );
    return { store, apiPort: api.port, dnsPort, close: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
