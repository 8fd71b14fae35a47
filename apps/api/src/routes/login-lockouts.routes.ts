import { isIP } from 'node:net';
import { createRoute, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { App } from '../http/app-env.ts';
import { problemResponses } from '../http/problem.schema.ts';
import { ProblemError } from '../http/problem.ts';
import { requireAdmin } from '../http/require-admin.middleware.ts';
import type { LoginLockout } from '../services/login-lockout.service.ts';

const LIFT_BODY_MAX_BYTES = 16 * 1024;

const LockSchema = z
  .object({
    username: z
      .string()
      .nullable()
      .openapi({ description: 'Null: the whole address is locked, whatever the name' }),
    address: z.string(),
    failures: z.number().int().openapi({ description: 'Failed attempts in the last minute' }),
    retry_after_seconds: z.number().int(),
  })
  .openapi('LoginLock');

const LiftSchema = z
  .object({
    username: z.string().min(1).max(256).optional().openapi({ example: 'alice' }),
    address: z
      .string()
      .min(1)
      .max(64)
      .refine((value) => isIP(value) !== 0, 'must be an IPv4 or IPv6 address, as the api sees it')
      .optional()
      .openapi({ example: '203.0.113.7' }),
  })
  .refine((body) => body.username !== undefined || body.address !== undefined, {
    message: 'give a username, an address or both',
    path: ['username'],
  })
  .openapi('LoginLockoutLift');

const LiftedSchema = z
  .object({
    username: z.string().nullable(),
    address: z.string().nullable(),
    lifted_at: z.string(),
    lifted_by: z.string(),
    forgotten_failures: z.number().int().openapi({
      description:
        'Failures this api process forgot; other api processes apply the lift when they next refuse a login it covers',
    }),
  })
  .openapi('LoginLockoutLifted');

const listRoute = createRoute({
  method: 'get',
  path: '/login-lockouts',
  tags: ['auth'],
  summary: 'The login lockouts in force (admin)',
  description:
    'Each lock is a user name at an address (LOGIN_MAX_FAILURES_PER_MINUTE failures in the last minute) or a whole address (five times that, whatever the names). On NATS the counts are shared by every api replica (a KV bucket); standalone, or while NATS does not answer, they live in each api process.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAdmin('list login lockouts')] as const,
  responses: {
    200: { description: 'Locks in force', content: { 'application/json': { schema: z.array(LockSchema) } } },
    ...problemResponses('unauthorized', 'forbidden'),
  },
});

const liftRoute = createRoute({
  method: 'post',
  path: '/login-lockouts/lift',
  tags: ['auth'],
  summary: 'Lift a login lockout for a user name, an address, or both (admin)',
  description:
    'Forgets the failed logins counted until now: a `username` alone covers that name on every address; an `address` alone covers every name there and the address limit; both cover that name at that address and the address limit. Applies to every api process (the lift is stored). The same as `cli lockout lift`.',
  security: [{ bearerAuth: [] }],
  middleware: [
    requireAdmin('lift login lockouts'),
    bodyLimit({
      maxSize: LIFT_BODY_MAX_BYTES,
      onError: () => {
        throw new ProblemError('payload-too-large', `the body may not exceed ${LIFT_BODY_MAX_BYTES} bytes`);
      },
    }),
  ] as const,
  request: { body: { required: true, content: { 'application/json': { schema: LiftSchema } } } },
  responses: {
    200: { description: 'Lifted', content: { 'application/json': { schema: LiftedSchema } } },
    ...problemResponses('validation', 'unauthorized', 'forbidden', 'payload-too-large'),
  },
});

export function registerLoginLockoutRoutes(app: App, deps: { lockout: LoginLockout }): void {
  app.openapi(listRoute, async (c) => {
    const locks = (await deps.lockout.locks()).map((lock) => ({
      username: lock.username,
      address: lock.address,
      failures: lock.failures,
      retry_after_seconds: lock.retryAfterSeconds,
    }));
    c.header('Cache-Control', 'no-store');
    return c.json(locks, 200);
  });

  app.openapi(liftRoute, async (c) => {
    const body = c.req.valid('json');
    const admin = c.get('user');
    const { lift, forgotten } = await deps.lockout.lift(body, `admin:${admin.username}`);
    c.var.logger.warn(
      { username: lift.username, address: lift.address, admin: admin.username, forgotten },
      'an admin lifted a login lockout',
    );
    return c.json(
      {
        username: lift.username,
        address: lift.address,
        lifted_at: new Date(Number(lift.lifted_at_ms)).toISOString(),
        lifted_by: lift.lifted_by,
        forgotten_failures: forgotten,
      },
      200,
    );
  });
}
