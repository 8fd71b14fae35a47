import { createRoute, z } from '@hono/zod-openapi';
import type { Registry } from 'prom-client';
import type { App } from '../http/app-env.ts';

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['system'],
  summary: 'Prometheus metrics in the text exposition format (no auth)',
  responses: {
    200: { description: 'Prometheus text', content: { 'text/plain': { schema: z.string() } } },
  },
});

export function registerMetricsRoutes(app: App, deps: { registry: Registry }): void {
  app.openapi(metricsRoute, async (c) => {
    const text = await deps.registry.metrics();
    return c.text(text, 200, { 'Content-Type': deps.registry.contentType, 'Cache-Control': 'no-store' });
  });
}
