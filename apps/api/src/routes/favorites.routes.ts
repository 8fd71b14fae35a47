import { createRoute, z } from '@hono/zod-openapi';
import { favoriteBodySchema } from '@lumen/core';
import type { App } from '../http/app-env.ts';
import { jsonBodyLimit } from '../http/json-body-limit.ts';
import { describeFields } from '../http/openapi-fields.ts';
import { problemResponses } from '../http/problem.schema.ts';
import type { FavoritesService } from '../services/favorites.service.ts';
import { PhotoPageSchema } from './photo-item.schema.ts';
import { PhotosQuerySchema } from './photos.routes.ts';

const FAVORITE_BODY_MAX_BYTES = 64 * 1024;

const FavoriteBody = describeFields(favoriteBodySchema, {
  path: { description: 'Photo path relative to the library root', example: '2024/summer/IMG_0001.jpg' },
  library: 'Library id or name; looked for in every library when absent',
});

const FavoriteChangeSchema = z
  .object({
    library: z.string(),
    path: z.string(),
    favorite: z.boolean().openapi({ description: 'Whether the photo is a favorite now' }),
    changed: z.boolean().openapi({ description: 'False when it already was (POST) or was not (DELETE)' }),
  })
  .openapi('FavoriteChange');

const json = <T>(schema: T) => ({ 'application/json': { schema } });
const bodyProblems = problemResponses(
  'validation',
  'unauthorized',
  'not-found',
  'conflict',
  'payload-too-large',
);

const addRoute = createRoute({
  method: 'post',
  path: '/favorites',
  tags: ['favorites'],
  summary: 'Mark a photo favorite (for the signed-in user)',
  security: [{ bearerAuth: [] }],
  middleware: [jsonBodyLimit(FAVORITE_BODY_MAX_BYTES)] as const,
  request: { body: { required: true, content: json(FavoriteBody) } },
  responses: { 200: { description: 'Done', content: json(FavoriteChangeSchema) }, ...bodyProblems },
});

const removeRoute = createRoute({
  method: 'delete',
  path: '/favorites',
  tags: ['favorites'],
  summary: 'Unmark a favorite (for the signed-in user)',
  security: [{ bearerAuth: [] }],
  middleware: [jsonBodyLimit(FAVORITE_BODY_MAX_BYTES)] as const,
  request: { body: { required: true, content: json(FavoriteBody) } },
  responses: { 200: { description: 'Done', content: json(FavoriteChangeSchema) }, ...bodyProblems },
});

const listRoute = createRoute({
  method: 'get',
  path: '/favorites',
  tags: ['favorites'],
  summary: "The signed-in user's favorites, as photo items",
  description:
    'Takes every parameter of `GET /photos` (filters, sort, limit, cursor); `favorite` is implied. Favorites of other users are never listed.',
  security: [{ bearerAuth: [] }],
  request: { query: PhotosQuerySchema },
  responses: {
    200: { description: 'One page', content: json(PhotoPageSchema) },
    ...problemResponses('validation', 'unauthorized', 'not-found'),
  },
});

export function registerFavoritesRoutes(app: App, deps: { favorites: FavoritesService }): void {
  app.openapi(addRoute, async (c) =>
    c.json(await deps.favorites.add(c.get('user').id, c.req.valid('json')), 200),
  );
  app.openapi(removeRoute, async (c) =>
    c.json(await deps.favorites.remove(c.get('user').id, c.req.valid('json')), 200),
  );
  app.openapi(listRoute, async (c) => {
    c.header('Cache-Control', 'private, no-store');
    return c.json(await deps.favorites.list(c.get('user').id, c.req.valid('query')), 200);
  });
}
