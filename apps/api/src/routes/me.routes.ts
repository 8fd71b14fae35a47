import { createRoute, z } from '@hono/zod-openapi';
import type { App } from '../http/app-env.ts';
import { problemResponses } from '../http/problem.schema.ts';

const MeSchema = z
  .object({ id: z.number().int(), username: z.string(), is_admin: z.boolean() })
  .openapi('Me');

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

export function registerMeRoutes(app: App): void {
  app.openapi(meRoute, (c) => {
    const user = c.get('user');
    return c.json({ id: user.id, username: user.username, is_admin: user.isAdmin }, 200);
  });
}
