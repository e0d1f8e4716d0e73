// Zones as BIND9 text: GET /api/v1/dns-zones/{uuid}/export/ and POST /api/v1/dns-zones/{uuid}/import/.
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../model/errors.js';
import { exportZone, importZoneText } from '../../zonefile/import-export.js';
import type { ApiContext } from '../context.js';

/** A 100 000-record zone file is 4–7 MB; leave room. */
const IMPORT_BODY_LIMIT = 32 * 1024 * 1024;

export function zoneFileRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { store } = ctx;

  app.get('/api/v1/dns-zones/:uuid/export/', { config: { permission: 'dns:list' } }, async (request, reply) => {
    const zone = store.getZone(request.principal.accountId, (request.params as { uuid: string }).uuid);
    reply.type('text/dns; charset=utf-8');
    reply.header('Content-Disposition', `attachment; filename="${zone.domain}.zone"`);
    return exportZone(store, zone.id, ctx.config);
  });

  // Zone file bodies are text; this parser is registered in this scope only, the rest of the API stays JSON.
  app.register(async (scope) => {
    scope.addContentTypeParser(
      ['text/dns', 'text/plain', 'application/octet-stream'],
      { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );
    scope.post(
      '/api/v1/dns-zones/:uuid/import/',
      { config: { permission: 'dns:create' }, bodyLimit: IMPORT_BODY_LIMIT },
      async (request) => {
        const zone = store.getZone(request.principal.accountId, (request.params as { uuid: string }).uuid);
        if (typeof request.body !== 'string') {
          throw new ValidationError('Send the zone file as the request body with Content-Type: text/dns', null);
        }
        const replace = (request.query as Record<string, unknown>).replace;
        if (replace !== undefined && replace !== 'true' && replace !== 'false') {
          throw new ValidationError('replace must be true or false', 'replace');
        }
        return importZoneText(store, zone, request.body, { replace: replace === 'true', minTtl: ctx.config.minTtl });
      },
    );
  });
}
