import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from './app-env.ts';

/**
 * CORS for the origins in `CORS_ALLOWED_ORIGINS` (`*` allows any). Returns undefined when
 * the list is empty: then no CORS header is ever sent and browsers keep the same-origin rule.
 * Auth is a Bearer header, not a cookie, so credentials are never allowed.
 */
export function corsMiddleware(allowedOrigins: string[]): MiddlewareHandler<AppEnv> | undefined {
  if (allowedOrigins.length === 0) return undefined;
  const allowAny = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins.map((o) => o.replace(/\/+$/, '')));
  return cors({
    origin: (origin) => (allowAny ? '*' : allowed.has(origin) ? origin : null),
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
    exposeHeaders: ['X-Request-Id', 'Retry-After', 'WWW-Authenticate', 'Content-Length'],
    maxAge: 600,
  });
}
