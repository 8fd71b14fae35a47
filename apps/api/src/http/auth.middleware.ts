import type { MiddlewareHandler } from 'hono';
import { type AuthService, TokenError } from '../services/auth.service.ts';
import type { AppEnv } from './app-env.ts';
import { ProblemError } from './problem.ts';

/** Paths anyone may call; every other path needs `Authorization: Bearer <jwt>`. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set([
  '/login',
  '/health',
  '/metrics',
  '/docs',
  '/openapi.json',
  '/asyncapi.json',
]);

/**
 * Path prefixes that carry their own authorization, a signed URL (`?exp=&sig=`), because players
 * cannot add headers: their routes check the signature (see services/video-url-signer.ts).
 */
export const SIGNED_URL_PATH_PREFIXES: readonly string[] = ['/video/hls/', '/video/clip/', '/video/gif/'];

const REALM = 'lumen';

/** RFC 6750 challenge: bare for a missing token, with `error` for a bad one. */
function challenge(error?: 'invalid_request' | 'invalid_token', description?: string): string {
  let value = `Bearer realm="${REALM}"`;
  if (error) value += `, error="${error}"`;
  if (description) value += `, error_description="${description.replace(/["\\]/g, '')}"`;
  return value;
}

export function unauthorized(
  detail: string,
  error?: 'invalid_request' | 'invalid_token',
  description?: string,
): ProblemError {
  return new ProblemError('unauthorized', detail, {
    headers: { 'WWW-Authenticate': challenge(error, description) },
  });
}

/**
 * Deny by default: outside PUBLIC_PATHS (and CORS preflights, answered earlier) a request
 * needs a valid bearer token of an existing user, which is then on `c.get('user')`.
 */
export function authMiddleware(auth: AuthService): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path)) return next();
    if (SIGNED_URL_PATH_PREFIXES.some((prefix) => c.req.path.startsWith(prefix))) return next();

    const header = c.req.header('Authorization');
    if (!header) throw unauthorized('this endpoint needs an Authorization: Bearer <token> header');
    const match = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)[ ]*$/i.exec(header);
    if (!match?.[1]) {
      throw unauthorized(
        'the Authorization header must be "Bearer <token>"',
        'invalid_request',
        'malformed Authorization header',
      );
    }
    try {
      c.set('user', await auth.authenticate(match[1]));
    } catch (err) {
      if (err instanceof TokenError) throw unauthorized(err.message, 'invalid_token', err.message);
      throw err;
    }
    return next();
  };
}
