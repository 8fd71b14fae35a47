import { createRoute, z } from '@hono/zod-openapi';
import type { App } from '../http/app-env.ts';
import type { HealthService } from '../services/health.service.ts';

const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    db: z.object({ ok: z.boolean(), dialect: z.enum(['sqlite', 'postgres']) }),
    bus: z.object({ transport: z.enum(['nats', 'memory']), connected: z.boolean() }),
  })
  .openapi('Health');

const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  tags: ['system'],
  summary: 'Liveness and readiness: database and bus state (no auth)',
  responses: {
    200: { description: 'The database answers', content: { 'application/json': { schema: HealthSchema } } },
    503: {
      description: 'The database does not answer',
      content: { 'application/json': { schema: HealthSchema } },
    },
  },
});

export function registerHealthRoutes(app: App, deps: { health: HealthService }): void {
  app.openapi(healthRoute, async (c) => {
    const report = await deps.health.check();
    c.header('Cache-Control', 'no-store');
    return report.db.ok ? c.json(report, 200) : c.json(report, 503);
  });
}
