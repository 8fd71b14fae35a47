import { createRoute, z } from '@hono/zod-openapi';
import { MAX_MEMORIES_PER_YEAR, memoriesQuerySchema } from '@lumen/core';
import type { App } from '../http/app-env.ts';
import { describeFields } from '../http/openapi-fields.ts';
import { problemResponses } from '../http/problem.schema.ts';
import type { MemoriesService } from '../services/memories.service.ts';
import { PhotoItemSchema } from './photo-item.schema.ts';

const MemoriesQuery = describeFields(memoriesQuerySchema, {
  library: 'Library id or name; every Online library when absent',
  path: 'Folder relative to the library root (absent: the whole library)',
  recursive: 'With `path`: include sub-folders (default true)',
  span: '`day`: the same date; `week` (default): the 7 days centred on it; `month`: the same month',
  tz: {
    description: 'IANA zone of the viewer: decides "today", and the date of photos without an offset',
    example: 'Europe/Paris',
  },
  media_type: '`photo` (RAW included), `video`, or `all` (default)',
  limit_per_year: `Items per year, 1-${MAX_MEMORIES_PER_YEAR} (default 50); \`more\` tells when a year had more`,
});

const MemoryGroupSchema = z
  .object({
    year: z.number().int().openapi({ example: 2021 }),
    from: z
      .string()
      .openapi({ description: 'First local date of the span (YYYY-MM-DD)', example: '2021-07-11' }),
    to: z
      .string()
      .openapi({ description: 'First local date after the span (exclusive)', example: '2021-07-18' }),
    items: z.array(PhotoItemSchema).openapi({ description: 'Oldest first' }),
    more: z.boolean().openapi({ description: 'The year had more matches than limit_per_year' }),
  })
  .openapi('MemoryGroup');

const memoriesRoute = createRoute({
  method: 'get',
  path: '/memories',
  tags: ['memories'],
  summary: 'Photos taken in this day, week or month of earlier years, grouped by year (newest first)',
  description:
    "Folders listed in EXCLUDED_DIRS are left out. A photo's date is read in its own UTC offset when it has one, else in `tz`.",
  security: [{ bearerAuth: [] }],
  request: { query: MemoriesQuery },
  responses: {
    200: {
      description: 'Groups by year',
      content: {
        'application/json': { schema: z.object({ groups: z.array(MemoryGroupSchema) }).openapi('Memories') },
      },
    },
    ...problemResponses('validation', 'unauthorized', 'not-found'),
  },
});

export function registerMemoriesRoutes(app: App, deps: { memories: MemoriesService }): void {
  app.openapi(memoriesRoute, async (c) => {
    c.header('Cache-Control', 'private, no-store');
    return c.json(await deps.memories.list(c.req.valid('query'), c.get('user').id), 200);
  });
}
