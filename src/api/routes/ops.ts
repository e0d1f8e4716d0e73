// Operations endpoints: liveness, readiness and Prometheus metrics. None needs a token,
// except /metrics when --metrics-auth is on (then any valid token will do).
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';

export function opsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const readiness = ctx.readiness();
    reply.code(readiness.ready ? 200 : 503);
    return { status: readiness.ready ? 'ready' : 'not ready', checks: readiness.checks };
  });

  app.get(
    '/metrics',
    { config: { permission: ctx.config.metricsAuth ? 'any' : undefined } },
    async (_request, reply) => {
      reply.type('text/plain; version=0.0.4; charset=utf-8');
      return ctx.metrics.render();
    },
  );
}
