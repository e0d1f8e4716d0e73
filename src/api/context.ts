// What every route needs, passed explicitly (no globals).
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';

export interface ApiContext {
  store: Store;
  config: Pick<
    Config,
    'minTtl' | 'nameservers' | 'hostmaster' | 'soaTtl' | 'soaRefresh' | 'soaRetry' | 'soaExpire' | 'soaMinimum'
  >;
  logger: Logger;
}
