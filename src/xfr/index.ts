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

/** What answering transfers needs from the configuration. */
export type TransferConfig = Pick<
  Config,
  'xfrAllow' | 'notifyAllow' | 'tsigKey' | 'tsigFudge' | 'nameservers' | 'ednsPayload'
>;

/** TransferConfig in a JSON-safe form, for a DNS worker process's init message (secrets as base64). */
export type TransferSettings = Omit<TransferConfig, 'tsigKey'> & {
  tsigKey: Array<{ name: string; algorithm: string; secret: string }>;
};

export function transferSettings(config: TransferConfig): TransferSettings {
  return {
    xfrAllow: config.xfrAllow,
    notifyAllow: config.notifyAllow,
    tsigFudge: config.tsigFudge,
    nameservers: config.nameservers,
    ednsPayload: config.ednsPayload,
    tsigKey: config.tsigKey.map((k) => ({ name: k.name, algorithm: k.algorithm, secret: k.secret.toString('base64') })),
  };
}

/** In a DNS worker process: the responder from the settings the primary sent. */
export function transferResponderFromSettings(
  settings: TransferSettings,
  findZone: (name: string) => ZoneIndex | null,
  journal: JournalSource,
  logger?: pino.Logger,
): TransferResponder {
  const tsigKey = settings.tsigKey.map((k) => ({ ...k, secret: Buffer.from(k.secret, 'base64') })) as Config['tsigKey'];
  return transferResponder({ ...settings, tsigKey }, findZone, journal, logger);
}

/**
 * The responder whose `handler` goes into DnsServer.transfer. In a process without the Store (a DNS
 * worker), pass a `new JournalReader(databasePath(config.data))` as the journal.
 */
export function transferResponder(
  config: TransferConfig,
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
  /** Null when DNS runs in worker processes. */
  responder: TransferResponder | null;
  notifier: NotifySender;
  close(): void;
}

/**
 * In the store's process: NOTIFY the secondaries and prune the journal on changes, and answer transfers
 * on `dns` when DNS runs in this process (with worker processes, each answers them; see dns-worker.ts).
 */
export function startTransfers(config: Config, store: Store, dns: DnsServer | null, logger: pino.Logger): Transfers {
  const log = logger.child({ component: 'xfr' });
  const responder = dns ? transferResponder(config, zoneFinder(dns), store, logger) : null;
  if (dns && responder) dns.transfer = responder.handler;
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
      if (dns) dns.transfer = null;
    },
  };
}
