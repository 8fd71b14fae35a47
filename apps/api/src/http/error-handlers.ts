import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { RouterRoute } from 'hono/types';
import { ZodError } from 'zod';
import type { AppEnv } from './app-env.ts';
import { type FieldError, kindForStatus, ProblemError, problemResponse } from './problem.ts';

/** Where hono's validation targets live in HTTP terms, for `errors[].in`. */
const TARGET_LOCATION: Record<string, string> = {
  json: 'body',
  form: 'body',
  query: 'query',
  param: 'path',
  header: 'header',
  cookie: 'cookie',
};

/** Turns zod issues into field errors that name the bad parameter (`username`, `items.0.id`). */
export function fieldErrors(error: ZodError, target: string): FieldError[] {
  const location = TARGET_LOCATION[target] ?? target;
  return error.issues.map((issue) => ({
    in: location,
    name: issue.path.length > 0 ? issue.path.map(String).join('.') : `(${location})`,
    message: issue.message,
  }));
}

export function validationProblem(error: ZodError, target: string): ProblemError {
  const errors = fieldErrors(error, target);
  const detail = errors.map((e) => `${e.name}: ${e.message}`).join('; ');
  return new ProblemError('validation', detail, { errors });
}

/**
 * The `defaultHook` of the OpenAPIHono app: a zod failure on any route input becomes a
 * 400 `validation` problem listing every bad field.
 */
export function validationHook(
  result:
    | { target: string; success: true; data: unknown }
    | { target: string; success: false; error: ZodError },
): void {
  if (!result.success) throw validationProblem(result.error, result.target);
}

/** `app.onError`: every thrown error leaves as problem+json; unexpected ones as a bare 500. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  const instance = c.req.path;
  if (err instanceof ProblemError) {
    return problemResponse(err.kind, err.detail, {
      instance,
      errors: err.extra.errors,
      headers: err.extra.headers,
    });
  }
  if (err instanceof ZodError) {
    const problem = validationProblem(err, 'json');
    return problemResponse('validation', problem.detail, { instance, errors: problem.extra.errors });
  }
  if (err instanceof HTTPException) {
    // hono's own: malformed JSON (400), body limit (413), ...
    const kind = kindForStatus(err.status);
    return problemResponse(kind, err.message || 'request rejected', { instance });
  }
  (c.var.logger ?? console).error({ err }, 'unhandled error');
  return problemResponse('internal', 'an unexpected error occurred; see the server log for this request id', {
    instance,
  });
};

/** Methods that have a route for `path` (HEAD comes free with GET). */
export function allowedMethods(routes: readonly RouterRoute[], path: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method === 'ALL') continue; // middleware
    if (routePatternToRegExp(route.path).test(path)) methods.add(route.method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

/** `/a/:id/*` -> /^\/a\/[^/]+\/.*$/ ; parameter regexes (`:id{[0-9]+}`) count as one segment. */
export function routePatternToRegExp(pattern: string): RegExp {
  const source = pattern
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (segment.startsWith(':')) return segment.endsWith('?') ? '[^/]*' : '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/** `app.notFound`: 405 with `Allow` when the path exists under another method, else 404. */
export function notFoundHandler(routes: () => readonly RouterRoute[]): NotFoundHandler<AppEnv> {
  return (c: Context<AppEnv>) => {
    const instance = c.req.path;
    const allow = allowedMethods(routes(), c.req.path);
    if (allow.length > 0) {
      return problemResponse('method-not-allowed', `${c.req.method} is not allowed on ${c.req.path}`, {
        instance,
        headers: { Allow: allow.join(', ') },
      });
    }
    return problemResponse('not-found', `no route for ${c.req.method} ${c.req.path}`, { instance });
  };
}
