// /api/v1/dns-records/: the account's records across zones (filters `zone`, `record_type`),
// and one record by uuid: GET, PUT (replace), PATCH (change given fields), DELETE.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { mergePatch, validateRecord } from '../../model/record.js';
import type { ApiContext } from '../context.js';
import { bodyObject, readPage, recordObject, setPageHeaders } from '../present.js';

export function recordRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { store } = ctx;
  const uuidOf = (request: FastifyRequest) => (request.params as { uuid: string }).uuid;

  app.get('/api/v1/dns-records/', { config: { permission: 'dns:list' } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const page = readPage(query);
    const zone = typeof query.zone === 'string' && query.zone !== '' ? query.zone : null;
    const type =
      typeof query.record_type === 'string' && query.record_type !== '' ? query.record_type.toUpperCase() : null;
    const { items, total } = store.listRecords(request.principal.accountId, { zone, type }, page);
    setPageHeaders(request, reply, page, total);
    return items.map((r) => recordObject(r, r.zone_uuid));
  });

  app.get('/api/v1/dns-records/:uuid/', { config: { permission: 'dns:list' } }, async (request) => {
    const record = store.getRecord(request.principal.accountId, uuidOf(request));
    return recordObject(record, store.zoneOfRecord(record).uuid);
  });

  app.put('/api/v1/dns-records/:uuid/', { config: { permission: 'dns:update' } }, async (request) => {
    const old = store.getRecord(request.principal.accountId, uuidOf(request));
    const zone = store.zoneOfRecord(old);
    const data = validateRecord(bodyObject(request.body), zone.domain, ctx.config.minTtl);
    const record = store.updateRecord(request.principal.accountId, old.uuid, data);
    return recordObject(record, zone.uuid);
  });

  app.patch('/api/v1/dns-records/:uuid/', { config: { permission: 'dns:update' } }, async (request) => {
    const old = store.getRecord(request.principal.accountId, uuidOf(request));
    const zone = store.zoneOfRecord(old);
    const data = validateRecord(mergePatch(old, bodyObject(request.body)), zone.domain, ctx.config.minTtl);
    const record = store.updateRecord(request.principal.accountId, old.uuid, data);
    return recordObject(record, zone.uuid);
  });

  app.delete('/api/v1/dns-records/:uuid/', { config: { permission: 'dns:delete' } }, async (request, reply) => {
    store.deleteRecord(request.principal.accountId, uuidOf(request));
    return reply.code(204).send();
  });
}
