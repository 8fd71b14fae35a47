import { createRoute } from '@hono/zod-openapi';
import { MAX_FILTER_TAG_IDS, MAX_PAGE_LIMIT, photosQuerySchema } from '@lumen/core';
import type { App } from '../http/app-env.ts';
import { describeFields } from '../http/openapi-fields.ts';
import { problemResponses } from '../http/problem.schema.ts';
import type { PhotosService } from '../services/photos.service.ts';
import { PhotoPageSchema } from './photo-item.schema.ts';

/** The query of `GET /photos` (and `GET /favorites`), with the descriptions the API reference shows. */
export const PhotosQuerySchema = describeFields(photosQuerySchema, {
  library: 'Library id or name; every Online library when absent',
  path: "Folder relative to the library root ('' or absent: no folder filter)",
  recursive: 'With `path`: include every sub-folder (default false: that folder only)',
  sort: 'Order of the results; every sort is total (ties broken by id)',
  seed: 'Shuffle only: the same seed gives the same order; a random one is chosen (and returned) when absent',
  camera_make: { description: 'Camera make, case-insensitive equality', example: 'Canon' },
  camera_model: 'Camera model, case-insensitive equality',
  lens: 'Lens model, case-insensitive equality',
  gps_lat: { description: 'Centre latitude (-90..90); with gps_lon and gps_radius_km', example: '43.4674' },
  gps_lon: { description: 'Centre longitude (-180..180)', example: '11.8851' },
  gps_radius_km: { description: 'Great-circle radius in km (> 0)', example: '10' },
  date_from: {
    description: 'Taken at or after (ISO 8601 date or date-time; a date alone is 00:00 UTC)',
    example: '2024-05-01',
  },
  date_to: {
    description: 'Taken at or before (ISO 8601; a date alone includes that whole UTC day)',
    example: '2024-05-31',
  },
  tag_ids: {
    description: `Tag ids, comma-separated or repeated (at most ${MAX_FILTER_TAG_IDS})`,
    example: '3,7',
  },
  tag_mode: '`any`: at least one of tag_ids; `all`: every one of them',
  media_type: '`photo` (RAW included), `video`, or `all`',
  favorite: "`true`: only the signed-in user's favorites",
  person: 'A person id: only photos with a face of that person',
  limit: `Page size, 1-${MAX_PAGE_LIMIT} (default 100)`,
  cursor: '`next_cursor` of the previous page (same sort and filters)',
});

const photosRoute = createRoute({
  method: 'get',
  path: '/photos',
  tags: ['photos'],
  summary: 'Search, sort and page photos and videos',
  description:
    'Every filter combines with AND; all filtering, sorting and paging happens in SQL. Paging is by keyset: pages never repeat or skip an item, also while files are added. `total` counts all matches.',
  security: [{ bearerAuth: [] }],
  request: { query: PhotosQuerySchema },
  responses: {
    200: { description: 'One page', content: { 'application/json': { schema: PhotoPageSchema } } },
    ...problemResponses('validation', 'unauthorized', 'not-found'),
  },
});

export function registerPhotosRoutes(app: App, deps: { photos: PhotosService }): void {
  app.openapi(photosRoute, async (c) => {
    const page = await deps.photos.search(c.req.valid('query'), c.get('user').id);
    c.header('Cache-Control', 'private, no-store');
    return c.json(page, 200);
  });
}
