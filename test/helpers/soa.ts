import type { SoaSettings } from '../../src/model/soa.js';

/** The serve defaults for the implicit SOA and NS, for tests and benchmarks that build zones directly. */
export const SOA_DEFAULTS: SoaSettings = {
  nameservers: ['ns1.vps.org', 'ns2.vps.org'],
  hostmaster: 'hostmaster.vps.org',
  soaTtl: 3600,
  soaRefresh: 10800,
  soaRetry: 3600,
  soaExpire: 1209600,
  soaMinimum: 300,
};
