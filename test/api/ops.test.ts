import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/api-server.js';

describe('health, readiness and metrics', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer();
  });
  afterAll(() => srv.close());

  it('/healthz and /readyz answer without a token', async () => {
    expect(await srv.request('GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await srv.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.checks.store).toBe(true);
  });

  it('/metrics in Prometheus text format: API requests by route and status, zone and record counts', async () => {
    const token = srv.token();
    const zone = (await srv.request('POST', '/api/v1/dns-zones/', { token, body: { domain: 'metrics.example' } })).body;
    await srv.request('POST', `/api/v1/dns-zones/${zone.uuid}/records/`, {
      token,
      body: { record_type: 'A', name: 'a', value: '192.0.2.1' },
    });
    await srv.request('GET', '/api/v1/dns-zones/', { token: 'vps_wrong' });
    const res = await fetch(`${srv.base}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('# TYPE vpsdns_api_requests_total counter');
    expect(text).toMatch(/vpsdns_api_requests_total\{method="POST",route="\/api\/v1\/dns-zones\/",status="201"\} 1/);
    expect(text).toMatch(/vpsdns_api_requests_total\{method="GET",route="\/api\/v1\/dns-zones\/",status="401"\} 1/);
    expect(text).toMatch(/vpsdns_api_request_duration_seconds_bucket\{route="\/api\/v1\/dns-zones\/",le="\+Inf"\} 2/);
    expect(text).toContain('vpsdns_zones 1');
    expect(text).toContain('vpsdns_records 1');
    // Zone files and transfers count too: the zone file gets written; an AXFR from us is refused.
    await new Promise<void>((resolve) => {
      const s = connect(srv.dnsPort, '127.0.0.1', () =>
        s.write(
          dnsPacket.streamEncode({ type: 'query', id: 9, questions: [{ name: 'metrics.example', type: 'AXFR' }] }),
        ),
      );
      s.once('data', () => {
        s.destroy();
        resolve();
      });
    });
    let after = '';
    for (let i = 0; i < 40 && !after.includes('vpsdns_zonefile_events_total{event="written"} 1'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await (await fetch(`${srv.base}/metrics`)).text();
    }
    expect(after).toContain('vpsdns_zonefile_events_total{event="written"} 1');
    expect(after).toContain('vpsdns_xfr_requests_total{kind="refused"} 1');
    // DNS counters (the query path; transfers count in vpsdns_xfr_*): one SOA query over TCP.
    await new Promise<void>((resolve) => {
      const s = connect(srv.dnsPort, '127.0.0.1', () =>
        s.write(
          dnsPacket.streamEncode({ type: 'query', id: 10, questions: [{ name: 'metrics.example', type: 'SOA' }] }),
        ),
      );
      s.once('data', () => {
        s.destroy();
        resolve();
      });
    });
    after = await (await fetch(`${srv.base}/metrics`)).text();
    expect(after).toContain('vpsdns_dns_queries_total{transport="tcp"} 1');
    expect(after).toContain('vpsdns_dns_queries_by_type_total{qtype="SOA"} 1');
    expect(after).toContain('vpsdns_dns_responses_total{rcode="NOERROR"} 1');
    expect(after).toContain('vpsdns_dns_tcp_connections_total 2');
    expect(after).toContain('# TYPE vpsdns_dns_query_duration_seconds histogram');
    // No unbounded labels: no uuids or names in the series.
    expect(text).not.toContain(zone.uuid);
    expect(text).not.toContain('metrics.example');
  });
});

describe('rate limits', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer([
      '--api-rate-limit',
      '5',
      '--api-rate-burst',
      '5',
      '--auth-fail-limit',
      '3',
      '--metrics-auth',
      'true',
    ]);
  });
  afterAll(() => srv.close());

  it('per token: 429 with Retry-After and the error shape past the burst; other tokens unaffected', async () => {
    const token = srv.token(['dns:list']);
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<TestServer['request']>> | null = null;
    for (let i = 0; i < 8; i++) {
      const res = await srv.request('GET', '/api/v1/dns-zones/', { token });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses).toContain(429);
    expect(limited!.body).toMatchObject({ error_code: 'rate_limited', field: null });
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await srv.request('GET', '/api/v1/dns-zones/', { token: srv.token(['dns:list']) })).status).toBe(200);
  });

  it('failed logins per address: after the limit even a good token waits', async () => {
    const good = srv.token(['dns:list']);
    for (let i = 0; i < 3; i++)
      expect((await srv.request('GET', '/api/v1/dns-zones/', { token: 'vps_bad' })).status).toBe(401);
    const blocked = await srv.request('GET', '/api/v1/dns-zones/', { token: good });
    expect(blocked.status).toBe(429);
    expect(blocked.body.detail).toContain('failed authentication');
    expect(blocked.headers.get('retry-after')).toBeTruthy();
  });

  it('--metrics-auth true: /metrics needs a token', async () => {
    // This address is still blocked by the previous test's failures, so check the refusal only.
    const res = await fetch(`${srv.base}/metrics`);
    expect([401, 429]).toContain(res.status);
  });
});

describe('caps on zones per account and records per zone', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(['--max-zones-per-account', '2', '--max-records-per-zone', '3']);
  });
  afterAll(() => srv.close());

  it('refuses the zone and the record past the cap with a 400 and a clear detail', async () => {
    const token = srv.token();
    const z1 = await srv.request('POST', '/api/v1/dns-zones/', { token, body: { domain: 'cap1.example' } });
    await srv.request('POST', '/api/v1/dns-zones/', { token, body: { domain: 'cap2.example' } });
    const third = await srv.request('POST', '/api/v1/dns-zones/', { token, body: { domain: 'cap3.example' } });
    expect(third.status).toBe(400);
    expect(third.body.detail).toContain('maximum of 2 zones');
    for (let i = 0; i < 3; i++) {
      const ok = await srv.request('POST', `/api/v1/dns-zones/${z1.body.uuid}/records/`, {
        token,
        body: { record_type: 'A', name: `r${i}`, value: '192.0.2.1' },
      });
      expect(ok.status).toBe(201);
    }
    const over = await srv.request('POST', `/api/v1/dns-zones/${z1.body.uuid}/records/`, {
      token,
      body: { record_type: 'A', name: 'r3', value: '192.0.2.1' },
    });
    expect(over.status).toBe(400);
    expect(over.body).toMatchObject({ error_code: 'validation_error', field: null });
    expect(over.body.detail).toContain('maximum of 3 records');
    const imported = await srv.request('POST', `/api/v1/dns-zones/${z1.body.uuid}/import/`, {
      token,
      body: 'x A 192.0.2.9\n',
      headers: { 'content-type': 'text/dns' },
    });
    expect(imported.status).toBe(400);
  });
});
