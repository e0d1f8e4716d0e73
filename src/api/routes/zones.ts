// /api/v1/dns-zones/: list, create, read (with records), delete; and the nested records list/create.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { NotFoundError, ValidationError } from '../../model/errors.js';
import { normalizeZoneDomain } from '../../model/names.js';
import { validateRecord } from '../../model/record.js';
import type { ZoneJsonReader } from '../../store/store.js';
import type { ApiContext } from '../context.js';
import { bodyObject, readPage, recordObject, setPageHeaders, zoneObject } from '../present.js';

/** Zones with at least this many records are sent as they are read (see zoneJsonStream). */
const STREAM_FROM_RECORDS = 10_000;

/** The records JSON of recently read zones, by zone id, valid while the serial is unchanged. */
class ZoneJsonCache {
  private readonly entries = new Map<number, { serial: number; json: string }>();
  private bytes = 0;
  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  get(zoneId: number, serial: number): string | undefined {
    const hit = this.entries.get(zoneId);
    return hit?.serial === serial ? hit.json : undefined;
  }

  put(zoneId: number, serial: number, json: string): void {
    this.drop(zoneId);
    // Small zones are cheap to build: only big ones are worth the memory.
    if (json.length < 256 * 1024 || json.length > this.maxBytes) return;
    while (this.bytes + json.length > this.maxBytes) this.drop(this.entries.keys().next().value as number);
    this.entries.set(zoneId, { serial, json });
    this.bytes += json.length;
  }

  private drop(zoneId: number): void {
    const e = this.entries.get(zoneId);
    if (!e) return;
    this.bytes -= e.json.length;
    this.entries.delete(zoneId);
  }
}

/**
 * A big zone's body, built run by run as the socket takes it: the client receives the first records
 * while SQLite builds the rest (for 100 000 records, building and sending overlap instead of adding up).
 * `done` gets the whole records array once the last run is out.
 */
function zoneJsonStream(reader: ZoneJsonReader, done: (json: string) => void): Readable {
  const runs: string[] = [];
  return new Readable({
    construct(callback) {
      const head = JSON.stringify(zoneObject(reader.zone, reader.recordCount));
      this.push(`${head.slice(0, -1)},"records":[`);
      callback();
    },
    read() {
      try {
        const run = reader.next();
        if (run === null) {
          reader.close();
          this.push(']}');
          this.push(null);
          // Joined after this turn, so the last bytes are not held up by it.
          setImmediate(() => done(`[${runs.join(',')}]`));
          return;
        }
        this.push(runs.length === 0 ? run : `,${run}`);
        runs.push(run);
      } catch (err) {
        this.destroy(err as Error);
      }
    },
    destroy(err, callback) {
      reader.close();
      callback(err);
    },
  });
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
    reply.type('application/json; charset=utf-8');
    // The records array is JSON text from the store, cached per serial for big zones.
    const cached = zoneJson.get(zone.id, zone.serial);
    const count = store.recordCount(zone.id);
    if (cached === undefined && count >= STREAM_FROM_RECORDS) {
      // Its own snapshot, which a change made by another process since `zone` was read may have moved on.
      const reader = store.zoneJsonReader(zone.id);
      if (!reader) throw new NotFoundError('Zone not found');
      const { serial } = reader.zone;
      reply.header('ETag', `"${serial}"`);
      return zoneJsonStream(reader, (json) => zoneJson.put(zone.id, serial, json));
    }
    const json = cached ?? store.zoneRecordsJson(zone);
    if (cached === undefined) zoneJson.put(zone.id, zone.serial, json);
    const head = JSON.stringify(zoneObject(zone, count));
    return `${head.slice(0, -1)},"records":${json}}`;
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
