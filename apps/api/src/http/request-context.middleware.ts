import { randomUUID } from 'node:crypto';
import type { Logger } from '@lumen/runtime';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** A client-sent id is kept only if it is short and plain (it ends up in logs). */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Paths polled by probes and scrapers: logged at debug so they do not drown the info log. */
const QUIET_PATHS = new Set(['/health', '/metrics']);

/**
 * First middleware: gives the request an id (kept from `X-Request-Id` or generated),
 * echoes it on the response, binds a child logger to it and logs one line per request.
 */
export function requestContext(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header(REQUEST_ID_HEADER);
    const requestId = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const log = logger.child({ reqId: requestId });
    c.set('requestId', requestId);
    c.set('logger', log);
    const started = performance.now();

    await next();

    setResponseHeader(c, REQUEST_ID_HEADER, requestId);
    const status = c.res.status;
    const line = {
      method: c.req.method,
      path: c.req.path,
      status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      ...(c.var.user ? { userId: c.var.user.id } : {}),
    };
    if (status >= 500) log.error(line, 'request failed');
    else if (QUIET_PATHS.has(c.req.path)) log.debug(line, 'request');
    else log.info(line, 'request');
  };
}

/**
 * Set a header on the finished response. `c.header()` after the handler rebuilds the response from
 * its body (Hono's rule for a finalized response), which makes the Node adapter turn its light
 * Response into a full one with a body stream: about a tenth of a thumbnail request. The headers
 * of a response we built are mutable, so they are set in place; an immutable one (e.g. from
 * `fetch`) goes the Hono way.
 */
function setResponseHeader(c: Context<AppEnv>, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    c.header(name, value);
  }
}
