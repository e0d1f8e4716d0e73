// Zone transfers wired into a running server: the responder the DNS listeners hand AXFR/IXFR/NOTIFY
// to, the NOTIFY sender and the journal pruner that follow the store's changes.
import type pino from 'pino';
import type { Config } from '../config.js';
import type { DnsServer } from '../dns/server.js';
import type { ZoneIndex } from '../dns/zone-index.js';
import type { Store } from '../store/store.js';
import { Acl, keyRing } from './config.js';
import { JournalPruner, type JournalSource } from './journal.js';
import { NotifySender } from './notify.js';
import { type TransferHandler, TransferResponder } from './responder.js';

export { JournalReader } from './journal.js';
export type { TransferHandler } from './responder.js';

/** The zone whose apex is `name`, from a DnsServer's zone table. */
export function zoneFinder(dns: DnsServer): (name: string) => ZoneIndex | null {
  return (name) => {
    const zone = dns.engine.zones.find(name === '' ? [] : name.split('.'));
    return zone && zone.domain === name ? zone : null;
  };
}

/**
 * The responder whose `handler` goes into DnsServer.transfer. In a process without the Store (a DNS
 * worker), pass a `new JournalReader(databasePath(config.data))` as the journal.
 */
export function transferResponder(
  config: Config,
  findZone: (name: string) => ZoneIndex | null,
  journal: JournalSource,
  logger?: pino.Logger,
  now?: () => number,
): TransferResponder {
  return new TransferResponder({
    findZone,
    journal,
    xfrAllow: new Acl(config.xfrAllow),
    notifyAllow: new Acl(config.notifyAllow),
    keys: keyRing(config.tsigKey),
    fudge: config.tsigFudge,
    nameservers: config.nameservers,
    ednsPayload: config.ednsPayload,
    logger: logger?.child({ component: 'xfr' }),
    now,
  });
}

/** The handler alone (see transferResponder). */
export function transferHandler(...args: Parameters<typeof transferResponder>): TransferHandler {
  return transferResponder(...args).handler;
}

export interface Transfers {
  responder: TransferResponder;
  notifier: NotifySender;
  close(): void;
}

/** In the store's process: answer transfers on `dns`, NOTIFY the secondaries and prune the journal on changes. */
export function startTransfers(config: Config, store: Store, dns: DnsServer, logger: pino.Logger): Transfers {
  const log = logger.child({ component: 'xfr' });
  const responder = transferResponder(config, zoneFinder(dns), store, logger);
  dns.transfer = responder.handler;
  const notifier = new NotifySender({
    targets: config.notify,
    keys: keyRing(config.tsigKey),
    fudge: config.tsigFudge,
    retries: config.notifyRetries,
    defaults: config,
    logger: log,
  });
  const pruner = new JournalPruner(
    store.db,
    { maxChanges: config.journalMaxChanges, maxAgeSeconds: config.journalMaxAge },
    () => store.allZones().map((z) => z.id),
    (err) => log.warn({ err }, 'journal pruning failed'),
  );
  pruner.pruneAll();
  const onChange = (c: { zoneId: number; domain: string; serial: number; deleted: boolean }) => {
    pruner.zoneChanged(c.zoneId, c.deleted);
    if (!c.deleted) notifier.zoneChanged(c.domain, c.serial);
  };
  store.events.on('zoneChanged', onChange);
  if (config.notify.length > 0) log.info({ targets: config.notify.map((t) => t.text) }, 'NOTIFY targets');
  return {
    responder,
    notifier,
    close() {
      store.events.off('zoneChanged', onChange);
      pruner.close();
      notifier.close();
      dns.transfer = null;
    },
  };
}
