import { getConnInfo } from '@hono/node-server/conninfo';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { App, AppEnv } from '../http/app-env.ts';
import { unauthorized } from '../http/auth.middleware.ts';
import { problemResponses } from '../http/problem.schema.ts';
import { ProblemError } from '../http/problem.ts';
import type { AuthService } from '../services/auth.service.ts';
import type { LoginLockout } from '../services/login-lockout.service.ts';

const LOGIN_BODY_MAX_BYTES = 16 * 1024;

const LoginBodySchema = z
  .object({
    username: z.string().min(1).max(256).openapi({ example: 'admin' }),
    password: z.string().min(1).max(1024),
  })
  .openapi('LoginRequest');

const TokenSchema = z.object({ token: z.string().openapi({ description: 'JWT (HS256), valid 5 days' }) });

const loginRoute = createRoute({
  method: 'post',
  path: '/login',
  tags: ['auth'],
  summary: 'Exchange a username and password for a bearer token',
  description:
    "A password longer than 72 bytes (UTF-8) never matches (bcrypt reads only 72). After LOGIN_MAX_FAILURES_PER_MINUTE failures for one user name from one address within a minute, that name is refused from that address with 429 and Retry-After, the right password included; an address gets five times that across all names. An admin lifts a lockout with POST /login-lockouts/lift (or `cli lockout lift`). The token carries the user's token version: a password change revokes it.",
  middleware: [
    bodyLimit({
      maxSize: LOGIN_BODY_MAX_BYTES,
      onError: () => {
        throw new ProblemError(
          'payload-too-large',
          `the login body may not exceed ${LOGIN_BODY_MAX_BYTES} bytes`,
        );
      },
    }),
  ] as const,
  request: { body: { required: true, content: { 'application/json': { schema: LoginBodySchema } } } },
  responses: {
    200: { description: 'Signed in', content: { 'application/json': { schema: TokenSchema } } },
    ...problemResponses('validation', 'unauthorized', 'payload-too-large', 'rate-limited'),
  },
});

/** The peer address of the connection (no proxy header is trusted). */
export function clientAddress(c: Context<AppEnv>): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // not served by @hono/node-server (e.g. app.request in a test)
  }
}

/** 429 for a login attempt the lockout refused. */
export function lockedOut(attempt: {
  retryAfterSeconds: number;
  scope: 'user-and-address' | 'address';
}): ProblemError {
  const what = attempt.scope === 'address' ? 'from this address' : 'for this user from this address';
  return new ProblemError(
    'rate-limited',
    `too many failed logins ${what}; retry in ${attempt.retryAfterSeconds} s (an admin can lift the lockout)`,
    { headers: { 'Retry-After': String(attempt.retryAfterSeconds) } },
  );
}

export function registerAuthRoutes(app: App, deps: { auth: AuthService; lockout: LoginLockout }): void {
  app.openapi(loginRoute, async (c) => {
    const { username, password } = c.req.valid('json');
    const address = clientAddress(c);
    const attempt = await deps.lockout.begin(username, address);
    if (!attempt.allowed) {
      c.var.logger.warn({ address, username, scope: attempt.scope }, 'login refused: too many failures');
      throw lockedOut(attempt);
    }
    const token = await deps.auth.login(username, password);
    if (!token) {
      c.var.logger.info({ address, username }, 'login failed');
      throw unauthorized('invalid username or password');
    }
    await deps.lockout.succeeded(attempt);
    c.header('Cache-Control', 'no-store');
    return c.json({ token }, 200);
  });
}
