// What the API shows: zone and record objects in the reference's JSON shape, and the pagination decision
// (bare array body; ?page=N&page_size=M; X-Total-Count and Link headers).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ValidationError } from '../model/errors.js';
import type { Page, StoredRecord, ZoneRow } from '../store/store.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export interface RecordObject {
  uuid: string;
  zone: string;
  record_type: string;
  name: string;
  value: string;
  ttl: number;
  priority: number | null;
  created_at: string;
}

export function recordObject(r: StoredRecord, zoneUuid: string): RecordObject {
  return {
    uuid: r.uuid,
    zone: zoneUuid,
    record_type: r.type,
    name: r.name,
    value: r.value,
    ttl: r.ttl,
    priority: r.priority,
    created_at: r.created_at,
  };
}

export function zoneObject(z: ZoneRow, recordCount: number) {
  return { uuid: z.uuid, domain: z.domain, created_at: z.created_at, record_count: recordCount };
}

function positiveInt(raw: unknown, field: string, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < 1 || n > max) {
    throw new ValidationError(`${field} must be a whole number from 1 to ${max}`, field);
  }
  return n;
}

/** The page a list request asks for. */
export function readPage(query: Record<string, unknown>): Page & { page: number; pageSize: number } {
  const page = positiveInt(query.page, 'page', 1_000_000_000) ?? 1;
  const pageSize = positiveInt(query.page_size, 'page_size', MAX_PAGE_SIZE) ?? DEFAULT_PAGE_SIZE;
  return { page, pageSize, limit: pageSize, offset: (page - 1) * pageSize };
}

/** Set X-Total-Count and a Link header pointing to the neighbouring pages. */
export function setPageHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  page: { page: number; pageSize: number },
  total: number,
): void {
  reply.header('X-Total-Count', String(total));
  const url = new URL(request.url, `http://${request.headers.host ?? 'localhost'}`);
  const link = (n: number, rel: string) => {
    url.searchParams.set('page', String(n));
    url.searchParams.set('page_size', String(page.pageSize));
    return `<${url.pathname}${url.search}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page.page * page.pageSize < total) links.push(link(page.page + 1, 'next'));
  if (page.page > 1) links.push(link(Math.min(page.page - 1, Math.max(1, Math.ceil(total / page.pageSize))), 'prev'));
  if (links.length > 0) reply.header('Link', links.join(', '));
}

/** A JSON body must be an object; anything else is a 400 naming no single field. */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('Request body must be a JSON object', null);
  }
  return body as Record<string, unknown>;
}
