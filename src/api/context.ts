// What every route needs, passed explicitly (no globals).
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Registry } from '../metrics/registry.js';
import type { Store } from '../store/store.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface ApiContext {
  store: Store;
  config: Pick<
    Config,
    | 'minTtl'
    | 'nameservers'
    | 'hostmaster'
    | 'soaTtl'
    | 'soaRefresh'
    | 'soaRetry'
    | 'soaExpire'
    | 'soaMinimum'
    | 'apiRateLimit'
    | 'apiRateBurst'
    | 'authFailLimit'
    | 'metricsAuth'
  >;
  logger: Logger;
  metrics: Registry;
  /** Whether the whole server (store, zones, DNS sockets) is ready to serve. */
  readiness: () => Readiness;
}
