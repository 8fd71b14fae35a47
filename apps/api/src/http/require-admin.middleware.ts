import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';
import { ProblemError } from './problem.ts';

/**
 * Route middleware (after the auth middleware, before input validation): a signed-in user who is
 * not an admin gets 403 `forbidden`, whatever the body says.
 */
export function requireAdmin(action: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.get('user')?.isAdmin) throw new ProblemError('forbidden', `only an admin may ${action}`);
    await next();
  };
}
