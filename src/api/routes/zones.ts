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

/**
 * The records of recently read big zones, by zone id, valid while the serial is unchanged: the records
 * array's members as UTF-8 chunks (comma-joined on the wire), so a repeated GET writes bytes made once
 * instead of building and encoding 20 MB of text again.
 */
interface CachedZone {
  chunks: Buffer[];
  recordCount: number;
}

class ZoneJsonCache {
  private readonly entries = new Map<number, CachedZone & { serial: number; bytes: number }>();
  private bytes = 0;
  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  get(zoneId: number, serial: number): CachedZone | undefined {
    const hit = this.entries.get(zoneId);
    return hit?.serial === serial ? hit : undefined;
  }

  put(zoneId: number, serial: number, zone: CachedZone): void {
    this.drop(zoneId);
    const bytes = zone.chunks.reduce((n, c) => n + c.length, 0);
    if (bytes > this.maxBytes) return;
    while (this.bytes + bytes > this.maxBytes) this.drop(this.entries.keys().next().value as number);
    this.entries.set(zoneId, { ...zone, serial, bytes });
    this.bytes += bytes;
  }

  private drop(zoneId: number): void {
    const e = this.entries.get(zoneId);
    if (!e) return;
    this.bytes -= e.bytes;
    this.entries.delete(zoneId);
  }
}

const COMMA = Buffer.from(',');
const TAIL = Buffer.from(']}');

/** `{…zone fields…,"records":[` as bytes. */
function zoneHead(zone: Parameters<typeof zoneObject>[0], count: number): Buffer {
  const head = JSON.stringify(zoneObject(zone, count));
  return Buffer.from(`${head.slice(0, -1)},"records":[`);
}

/** The whole body from cached chunks: no copy of the records, and the length known up front. */
function cachedZoneBody(head: Buffer, chunks: Buffer[]): { body: Readable; length: number } {
  const parts: Buffer[] = [head];
  for (let i = 0; i < chunks.length; i++) {
    if (i > 0) parts.push(COMMA);
    parts.push(chunks[i]);
  }
  parts.push(TAIL);
  return { body: Readable.from(parts, { objectMode: false }), length: parts.reduce((n, p) => n + p.length, 0) };
}

/**
 * A big zone's body, built run by run as the socket takes it: the client receives the first records
 * while SQLite builds the rest (for 100 000 records, building and sending overlap instead of adding up).
 * `done` gets the runs' bytes once the last run is out, for the cache.
 */
function zoneJsonStream(reader: ZoneJsonReader, done: (chunks: Buffer[]) => void): Readable {
  const runs: Buffer[] = [];
  return new Readable({
    construct(callback) {
      this.push(zoneHead(reader.zone, reader.recordCount));
      callback();
    },
    read() {
      try {
        const text = reader.next();
        if (text === null) {
          reader.close();
          this.push(TAIL);
          this.push(null);
          done(runs);
          return;
        }
        const run = Buffer.from(text);
        if (runs.length > 0) this.push(COMMA);
        this.push(run);
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
    // The records array is JSON built by SQLite; big zones' is cached per serial.
    const cached = zoneJson.get(zone.id, zone.serial);
    if (cached !== undefined) {
      const { body, length } = cachedZoneBody(zoneHead(zone, cached.recordCount), cached.chunks);
      reply.header('Content-Length', length);
      return body;
    }
    const count = store.recordCount(zone.id);
    if (count >= STREAM_FROM_RECORDS) {
      // Its own snapshot, which a change made by another process since `zone` was read may have moved on.
      const reader = store.zoneJsonReader(zone.id);
      if (!reader) throw new NotFoundError('Zone not found');
      const { serial } = reader.zone;
      reply.header('ETag', `"${serial}"`);
      const { recordCount } = reader;
      return zoneJsonStream(reader, (chunks) => zoneJson.put(zone.id, serial, { chunks, recordCount }));
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
