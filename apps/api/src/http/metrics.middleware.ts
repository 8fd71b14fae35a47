import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { AppEnv } from './app-env.ts';

/** Route label for requests that matched no route (404/405): keeps the label set small. */
export const UNMATCHED_ROUTE = '(unmatched)';

export interface HttpMetrics {
  registry: Registry;
  requestDuration: Histogram<'method' | 'route' | 'status'>;
}

/**
 * A fresh registry per app instance (two apps in one process, as in tests, never
 * collide), with the default process metrics and the HTTP duration histogram.
 */
export function createHttpMetrics(registry: Registry = new Registry()): HttpMetrics {
  collectDefaultMetrics({ register: registry });
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return { registry, requestDuration };
}

/**
 * The route pattern that answered (`/photos/:id`, not `/photos/42`): the last matched
 * route that is a real handler, not a `use()` middleware (those are registered as `ALL`).
 */
export function routeLabel(c: Parameters<typeof matchedRoutes>[0]): string {
  const handlers = matchedRoutes(c).filter((r) => r.method !== 'ALL');
  return handlers.at(-1)?.path ?? UNMATCHED_ROUTE;
}

export function metricsMiddleware(metrics: HttpMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const stopTimer = metrics.requestDuration.startTimer();
    await next();
    stopTimer({ method: c.req.method, route: routeLabel(c), status: String(c.res.status) });
  };
}
