// /api/v1/dns-zones/: list, create, read (with records), delete; and the nested records list/create.
import type { FastifyInstance } from 'fastify';
import { NotFoundError, ValidationError } from '../../model/errors.js';
import { normalizeZoneDomain } from '../../model/names.js';
import { validateRecord } from '../../model/record.js';
import type { ApiContext } from '../context.js';
import { bodyObject, readPage, recordObject, setPageHeaders, zoneObject } from '../present.js';
import { STREAM_FROM_RECORDS, ZoneJsonCache } from '../zone-json.js';

export function zoneRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { store } = ctx;
  const zoneJson = new ZoneJsonCache(store);

  app.get('/api/v1/dns-zones/', { config: { permission: 'dns:list' } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const page = readPage(query);
    const domain = typeof query.domain === 'string' && query.domain !== '' ? safeDomain(query.domain) : null;
    const { items, total } = store.listZones(request.principal.accountId, domain, page);
    setPageHeaders(request, reply, page, total);
    return items.map((z) => zoneObject(z, z.record_count));
  });

  app.post('/api/v1/dns-zones/', { config: { permission: 'dns:create' } }, async (request, reply) => {
    const body = bodyObject(request.body);
    if (body.domain === undefined) throw new ValidationError('domain is required', 'domain');
    const zone = store.createZone(request.principal.accountId, normalizeZoneDomain(body.domain));
    reply.code(201);
    return { ...zoneObject(zone, 0), records: [] };
  });

  app.get('/api/v1/dns-zones/:uuid/', { config: { permission: 'dns:list' } }, async (request, reply) => {
    const zone = store.getZone(request.principal.accountId, (request.params as { uuid: string }).uuid);
    // The zone's serial changes with every change: it is the version of this representation.
    const etag = `"${zone.serial}"`;
    reply.header('ETag', etag);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    reply.type('application/json; charset=utf-8');
    // The records array is JSON built by SQLite; big zones' is kept and follows changes (see zone-json.ts).
    const cached = zoneJson.cachedBody(zone);
    if (cached !== null) {
      reply.header('Content-Length', cached.length);
      return cached.body;
    }
    const count = store.recordCount(zone.id);
    if (count >= STREAM_FROM_RECORDS) {
      // Its own snapshot, which a change made by another process since `zone` was read may have moved on.
      const reader = store.zoneJsonReader(zone.id);
      if (!reader) throw new NotFoundError('Zone not found');
      reply.header('ETag', `"${reader.zone.serial}"`);
      return zoneJson.streamedBody(reader);
    }
    // Small zones are cheap to build: not worth the cache's memory.
    const head = JSON.stringify(zoneObject(zone, count));
    return `${head.slice(0, -1)},"records":${store.zoneRecordsJson(zone)}}`;
  });

  app.delete('/api/v1/dns-zones/:uuid/', { config: { permission: 'dns:delete' } }, async (request, reply) => {
    store.deleteZone(request.principal.accountId, (request.params as { uuid: string }).uuid);
    return reply.code(204).send();
  });

  app.get('/api/v1/dns-zones/:uuid/records/', { config: { permission: 'dns:list' } }, async (request, reply) => {
    const zone = store.getZone(request.principal.accountId, (request.params as { uuid: string }).uuid);
    const query = request.query as Record<string, unknown>;
    const page = readPage(query);
    const type =
      typeof query.record_type === 'string' && query.record_type !== '' ? query.record_type.toUpperCase() : null;
    const { items, total } = store.listRecords(request.principal.accountId, { zone: zone.uuid, type }, page);
    setPageHeaders(request, reply, page, total);
    return items.map((r) => recordObject(r, zone.uuid));
  });

  app.post('/api/v1/dns-zones/:uuid/records/', { config: { permission: 'dns:create' } }, async (request, reply) => {
    const zone = store.getZone(request.principal.accountId, (request.params as { uuid: string }).uuid);
    const data = validateRecord(bodyObject(request.body), zone.domain, ctx.config.minTtl);
    const record = store.createRecord(zone, data);
    reply.code(201);
    return recordObject(record, zone.uuid);
  });
}

/** A `domain` filter that cannot be a valid domain simply matches nothing. */
function safeDomain(text: string): string {
  try {
    return normalizeZoneDomain(text);
  } catch {
    return text.toLowerCase();
  }
}
