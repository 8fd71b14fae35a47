import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';
import { routeLabel } from './metrics.middleware.ts';

/**
 * One SERVER span per request, named `<METHOD> <route pattern>`. A no-op unless
 * tracing was started (runtime's `startTracing`, when OTLP_OTLS_ENDPOINT is set).
 */
export function tracingMiddleware(): MiddlewareHandler<AppEnv> {
  return (c, next) =>
    // The tracer is looked up per request, not at import: a tracer taken before startTracing()
    // registers the provider stays a no-op for good when the API package is loaded as another
    // module copy (ESM vs CJS) than the SDK's.
    trace
      .getTracer('lumen-api')
      .startActiveSpan(`${c.req.method} ${c.req.path}`, { kind: SpanKind.SERVER }, async (span) => {
        try {
          await next();
          const route = routeLabel(c);
          span.updateName(`${c.req.method} ${route}`);
          span.setAttributes({
            'http.request.method': c.req.method,
            'http.route': route,
            'url.path': c.req.path,
            'http.response.status_code': c.res.status,
          });
          if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        } finally {
          span.end();
        }
      });
}
