// The management API as a Fastify app: bearer-token auth with per-route permissions, the routes,
// and one error shape {detail, error_code, field} for every 4xx/5xx (also 404, 405, 413, 415).
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { TokenBuckets } from '../limits/token-buckets.js';
import { ApiError } from '../model/errors.js';
import { hasPermission, type Permission, type Principal } from '../store/auth.js';
import type { ApiContext } from './context.js';
import { opsRoutes } from './routes/ops.js';
import { recordRoutes } from './routes/records.js';
import { zoneFileRoutes } from './routes/zonefile.js';
import { zoneRoutes } from './routes/zones.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** The permission a route needs ('any': just a valid token); routes without one need no token. */
    permission?: Permission | 'any';
  }
}

const JSON_BODY_LIMIT = 1024 * 1024;

type KnownPath = { pattern: RegExp; methods: string[] };

/** Collect the pattern of every route, for telling a wrong method (405) from an unknown path (404). */
function rememberRoutes(app: FastifyInstance): KnownPath[] {
  const known: KnownPath[] = [];
  app.addHook('onRoute', (route) => {
    if (route.method === 'HEAD' || route.url.includes('*')) return;
    const source = `^${route.url.replace(/\/$/, '').replace(/:[^/]+/g, '[^/]+')}/?$`;
    let entry = known.find((p) => p.pattern.source === source);
    if (!entry) {
      entry = { pattern: new RegExp(source), methods: [] };
      known.push(entry);
    }
    for (const m of [route.method].flat()) if (!entry.methods.includes(m)) entry.methods.push(m);
  });
  return known;
}

function errorBody(status: number, errorCode: string, detail: string, field: string | null = null) {
  return new ApiError(status, errorCode, detail, field);
}

/** Map any error thrown in a request to our error shape; unknown errors are a logged 500 without details. */
function toApiError(err: FastifyError | Error): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as FastifyError;
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errorBody(413, 'payload_too_large', 'Request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errorBody(415, 'unsupported_media_type', 'Content-Type must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errorBody(400, 'parse_error', 'Request body is empty; send a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errorBody(400, 'parse_error', 'Request body is not valid JSON');
  }
  if (err instanceof SyntaxError || (e.statusCode === 400 && /JSON/i.test(e.message))) {
    return errorBody(400, 'parse_error', 'Request body is not valid JSON');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return errorBody(e.statusCode, 'bad_request', e.message);
  }
  return errorBody(500, 'internal_error', 'Internal server error');
}

export function buildApp(ctx: ApiContext): FastifyInstance {
  const app = Fastify({
    // No Fastify logger: it would make a child logger per request; the hooks below log one line each.
    logger: false,
    bodyLimit: JSON_BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    return503OnClosing: true,
  });
  const knownPaths = rememberRoutes(app);
  // JSON only; routes that take other bodies (zone file import) add their own parser.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('principal', null as unknown as Principal);

  const requests = ctx.metrics.counter('vpsdns_api_requests_total', 'API requests by route, method and status');
  const latency = ctx.metrics.histogram(
    'vpsdns_api_request_duration_seconds',
    'API request latency by route',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );
  const limited = ctx.metrics.counter('vpsdns_api_rate_limited_total', 'API requests refused with 429, by reason');

  // One log line per request; the Authorization header is never logged.
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    latency.observe(reply.elapsedTime / 1000, { route });
    ctx.logger.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? null,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        token: request.principal?.tokenId,
      },
      'api request',
    );
  });

  const perToken = new TokenBuckets(ctx.config.apiRateLimit, ctx.config.apiRateBurst);
  const failedLogins = new TokenBuckets(ctx.config.authFailLimit / 60, Math.max(1, ctx.config.authFailLimit));
  const tooMany = (reply: FastifyReply, retryAfter: number, reason: string, detail: string) => {
    limited.inc({ reason });
    reply.header('Retry-After', String(retryAfter));
    return errorBody(429, 'rate_limited', detail);
  };
  const unauthorized = (request: FastifyRequest, code: string, detail: string) => {
    failedLogins.take(request.ip);
    return errorBody(401, code, detail);
  };

  // Auth runs first (onRequest), so a bad token is a 401 even when the body is broken.
  app.addHook('onRequest', async (request, reply) => {
    const needed = request.routeOptions.config?.permission;
    if (!needed) return;
    const wait = failedLogins.check(request.ip);
    if (wait > 0) {
      ctx.logger.warn({ client: request.ip }, 'too many failed API logins; refusing for now');
      throw tooMany(
        reply,
        wait,
        'failed_logins',
        'Too many failed authentication attempts from this address; retry later',
      );
    }
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? header.match(/^Bearer\s+(\S+)\s*$/i) : null;
    if (!match) {
      throw unauthorized(request, 'not_authenticated', 'Authentication required: send "Authorization: Bearer vps_..."');
    }
    if (!match[1].startsWith('vps_'))
      throw unauthorized(request, 'invalid_token', 'Invalid API token (must start with vps_)');
    const principal = ctx.store.auth.authenticate(match[1]);
    if (!principal) throw unauthorized(request, 'invalid_token', 'Invalid API token');
    request.principal = principal;
    const tokenWait = perToken.take(principal.tokenId);
    if (tokenWait > 0) throw tooMany(reply, tokenWait, 'token', 'Rate limit exceeded for this token; retry later');
    if (needed !== 'any' && !hasPermission(principal, needed)) {
      throw errorBody(403, 'permission_denied', `This token lacks the ${needed} permission`);
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const apiError = toApiError(err as Error);
    if (apiError.status >= 500) ctx.logger.error({ err, url: request.url }, 'request failed');
    if (apiError.status === 401) reply.header('WWW-Authenticate', 'Bearer');
    reply.code(apiError.status).send(apiError.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0].replace(/\/{2,}/g, '/');
    const known = knownPaths.find((p) => p.pattern.test(path));
    if (known) {
      reply.header('Allow', known.methods.join(', '));
      reply
        .code(405)
        .send(errorBody(405, 'method_not_allowed', `Method ${request.method} is not allowed here`).toBody());
      return;
    }
    reply.code(404).send(errorBody(404, 'not_found', `No such endpoint: ${request.method} ${path}`).toBody());
  });

  opsRoutes(app, ctx);
  zoneRoutes(app, ctx);
  recordRoutes(app, ctx);
  zoneFileRoutes(app, ctx);
  return app;
}
