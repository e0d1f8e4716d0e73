// The DNS counters (one engine's, or the sum over the worker processes) as Prometheus metrics.
// Read when scraped; the query path only increments integers.
import { type DnsCounters, LATENCY_BOUNDS, QTYPE_SLOTS } from '../dns/engine.js';
import type { Registry } from './registry.js';

const RCODE_NAMES = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];

export function registerDnsMetrics(metrics: Registry, read: () => DnsCounters): void {
  // One read per scrape, shared by every metric below.
  let snapshot: DnsCounters | null = null;
  const c = () => {
    snapshot ??= read();
    queueMicrotask(() => {
      snapshot = null;
    });
    return snapshot;
  };
  const queries = metrics.counter('vpsdns_dns_queries_total', 'DNS queries by transport');
  queries.collect(() => {
    queries.set(c().queries - c().tcp, { transport: 'udp' });
    queries.set(c().tcp, { transport: 'tcp' });
  });
  const byType = metrics.counter('vpsdns_dns_queries_by_type_total', 'DNS queries by query type');
  byType.collect(() => {
    for (let i = 0; i < QTYPE_SLOTS.length; i++) byType.set(c().qtypes[i], { qtype: QTYPE_SLOTS[i] });
  });
  const responses = metrics.counter('vpsdns_dns_responses_total', 'DNS responses by rcode');
  responses.collect(() =>
    c().rcodes.forEach((n, rcode) => {
      if (n > 0 || rcode < 6) responses.set(n, { rcode: RCODE_NAMES[rcode] ?? String(rcode) });
    }),
  );
  const cache = metrics.counter('vpsdns_dns_cache_total', 'Answer cache lookups by result');
  cache.collect(() => {
    cache.set(c().cacheHits, { result: 'hit' });
    cache.set(c().cacheMisses, { result: 'miss' });
  });
  const truncated = metrics.counter('vpsdns_dns_truncated_total', 'UDP responses cut to the requester size');
  truncated.collect(() => truncated.set(c().truncated));
  const dropped = metrics.counter('vpsdns_dns_dropped_total', 'Packets given no answer (malformed, or responses)');
  dropped.collect(() => dropped.set(c().dropped));
  const rrl = metrics.counter('vpsdns_dns_rrl_total', 'UDP responses held back by response rate limiting');
  rrl.collect(() => {
    rrl.set(c().rrlDropped, { action: 'dropped' });
    rrl.set(c().rrlSlipped, { action: 'slipped' });
  });
  const tcpTotal = metrics.counter('vpsdns_dns_tcp_connections_total', 'DNS TCP connections accepted');
  tcpTotal.collect(() => tcpTotal.set(c().tcpConnections));
  const tcpOpen = metrics.gauge('vpsdns_dns_tcp_connections_open', 'DNS TCP connections open now');
  tcpOpen.collect(() => tcpOpen.set(c().tcpOpen));
  metrics.collectedHistogram(
    'vpsdns_dns_query_duration_seconds',
    'Time to answer a query in the DNS engine (1 query in 64 sampled)',
    LATENCY_BOUNDS,
    () => ({ counts: c().latency, sum: c().latencySum }),
  );
}
