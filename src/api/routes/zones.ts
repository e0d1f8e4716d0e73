// /api/v1/dns-zones/: list, create, read (with records), delete; and the nested records list/create.
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../model/errors.js';
import { normalizeZoneDomain } from '../../model/names.js';
import { validateRecord } from '../../model/record.js';
import type { ApiContext } from '../context.js';
import { bodyObject, readPage, recordObject, setPageHeaders, zoneObject } from '../present.js';

/** The records JSON of recently read zones, by zone id, valid while the serial is unchanged. */
class ZoneJsonCache {
  private readonly entries = new Map<number, { serial: number; json: string }>();
  private bytes = 0;
  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  get(zoneId: number, serial: number, build: () => string): string {
    const hit = this.entries.get(zoneId);
    if (hit && hit.serial === serial) return hit.json;
    if (hit) this.drop(zoneId);
    const json = build();
    // Small zones are cheap to build: only big ones are worth the memory.
    if (json.length >= 256 * 1024 && json.length <= this.maxBytes) {
      while (this.bytes + json.length > this.maxBytes) this.drop(this.entries.keys().next().value as number);
      this.entries.set(zoneId, { serial, json });
      this.bytes += json.length;
    }
    return json;
  }

  private drop(zoneId: number): void {
    const e = this.entries.get(zoneId);
    if (!e) return;
    this.bytes -= e.json.length;
    this.entries.delete(zoneId);
  }
}

export function zoneRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { store } = ctx;
  const zoneJson = new ZoneJsonCache();

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
    // The records array comes as JSON text from the store (fast for big zones) and is cached per serial.
    const head = JSON.stringify(zoneObject(zone, store.recordCount(zone.id)));
    reply.type('application/json; charset=utf-8');
    return `${head.slice(0, -1)},"records":${zoneJson.get(zone.id, zone.serial, () => store.zoneRecordsJson(zone))}}`;
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
