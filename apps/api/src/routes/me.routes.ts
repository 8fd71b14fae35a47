import { createRoute, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { App } from '../http/app-env.ts';
import { problemResponses } from '../http/problem.schema.ts';
import { ProblemError } from '../http/problem.ts';
import type { AuthService } from '../services/auth.service.ts';
import type { LoginLockout } from '../services/login-lockout.service.ts';
import { MAX_PASSWORD_BYTES, MIN_PASSWORD_LENGTH, UserError } from '../services/users.service.ts';
import { clientAddress, lockedOut } from './auth.routes.ts';

const PASSWORD_BODY_MAX_BYTES = 16 * 1024;

const MeSchema = z
  .object({ id: z.number().int(), username: z.string(), is_admin: z.boolean() })
  .openapi('Me');

const PasswordChangeSchema = z
  .object({
    current_password: z.string().min(1).max(1024),
    new_password: z
      .string()
      .min(1)
      .max(1024)
      .openapi({
        description: `At least ${MIN_PASSWORD_LENGTH} characters and at most ${MAX_PASSWORD_BYTES} bytes in UTF-8 (bcrypt reads no further; longer passwords are refused, not cut)`,
      }),
  })
  .openapi('PasswordChange');

const FreshTokenSchema = z
  .object({
    token: z.string().openapi({
      description: 'A new JWT for the same user: every token issued before the change no longer works',
    }),
  })
  .openapi('FreshToken');

const meRoute = createRoute({
  method: 'get',
  path: '/me',
  tags: ['auth'],
  summary: 'The signed-in user',
  security: [{ bearerAuth: [] }],
  responses: {
    200: {
      description: 'The user the token belongs to',
      content: { 'application/json': { schema: MeSchema } },
    },
    ...problemResponses('unauthorized'),
  },
});

const passwordRoute = createRoute({
  method: 'post',
  path: '/me/password',
  tags: ['auth'],
  summary: "Change the signed-in user's password; revokes every earlier token and returns a fresh one",
  description:
    'The current password must be right (403 otherwise; wrong answers count towards the login lockout like failed logins). Every token issued to this user before the change stops working at once (401 with error="invalid_token", in every api process); the answer carries a new token, so the client that made the change stays signed in.',
  security: [{ bearerAuth: [] }],
  middleware: [
    bodyLimit({
      maxSize: PASSWORD_BODY_MAX_BYTES,
      onError: () => {
        throw new ProblemError(
          'payload-too-large',
          `the body may not exceed ${PASSWORD_BODY_MAX_BYTES} bytes`,
        );
      },
    }),
  ] as const,
  request: { body: { required: true, content: { 'application/json': { schema: PasswordChangeSchema } } } },
  responses: {
    200: {
      description: 'Changed; earlier tokens are revoked',
      content: { 'application/json': { schema: FreshTokenSchema } },
    },
    ...problemResponses('validation', 'unauthorized', 'forbidden', 'payload-too-large', 'rate-limited'),
  },
});

export function registerMeRoutes(app: App, deps: { auth: AuthService; lockout: LoginLockout }): void {
  app.openapi(meRoute, (c) => {
    const user = c.get('user');
    return c.json({ id: user.id, username: user.username, is_admin: user.isAdmin }, 200);
  });

  app.openapi(passwordRoute, async (c) => {
    const user = c.get('user');
    const body = c.req.valid('json');
    const address = clientAddress(c);
    const attempt = await deps.lockout.begin(user.username, address);
    if (!attempt.allowed) throw lockedOut(attempt);
    let token: string | undefined;
    try {
      token = await deps.auth.changePassword(user.id, body.current_password, body.new_password);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      // The current password was right: a refused new one is no failed guess.
      await deps.lockout.succeeded(attempt);
      throw new ProblemError('validation', `new_password: ${err.message}`, {
        errors: [{ in: 'body', name: 'new_password', message: err.message }],
      });
    }
    if (!token) {
      c.var.logger.info({ address, userId: user.id }, 'password change refused: wrong current password');
      throw new ProblemError('forbidden', 'the current password is wrong', {
        errors: [{ in: 'body', name: 'current_password', message: 'wrong password' }],
      });
    }
    await deps.lockout.succeeded(attempt);
    c.var.logger.info({ userId: user.id }, 'password changed; earlier tokens revoked');
    c.header('Cache-Control', 'no-store');
    return c.json({ token }, 200);
  });
}
