import { createRoute, z } from '@hono/zod-openapi';
import {
  MAX_BATCH_ITEMS,
  MAX_BATCH_TAGS,
  photoTagsQuerySchema,
  tagLinkBodySchema,
  tagsBatchBodySchema,
} from '@lumen/core';
import type { App } from '../http/app-env.ts';
import { jsonBodyLimit } from '../http/json-body-limit.ts';
import { describeFields } from '../http/openapi-fields.ts';
import { problemResponses } from '../http/problem.schema.ts';
import type { TagsService } from '../services/tags.service.ts';

const TAG_BODY_MAX_BYTES = 64 * 1024;
const BATCH_BODY_MAX_BYTES = 4 * 1024 * 1024;

const PhotoTagsQuery = describeFields(photoTagsQuerySchema, {
  path: { description: 'Photo path relative to the library root', example: '2024/summer/IMG_0001.jpg' },
  library: 'Library id or name; looked for in every library when absent',
});

const TagLinkBody = describeFields(tagLinkBodySchema, {
  path: 'Photo path relative to the library root',
  library: 'Library id or name; looked for in every library when absent',
  tag_id: 'An existing tag (give this or tag_name)',
  tag_name: 'A tag by name, case-insensitive; POST creates it when new (give this or tag_id)',
});

const TagsBatchBody = describeFields(tagsBatchBodySchema, {
  items: `Photos, each { path, library? } (1-${MAX_BATCH_ITEMS})`,
  add: `Tags to add: ids, or names (created when new); at most ${MAX_BATCH_TAGS}`,
  remove: `Tag ids to remove; at most ${MAX_BATCH_TAGS}`,
});

const TagSchema = z.object({ id: z.number().int(), name: z.string() }).openapi('Tag');
const TagWithCountSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    photo_count: z.number().int().openapi({ description: 'Photos (distinct contents) carrying the tag' }),
  })
  .openapi('TagWithCount');

const TagAddedSchema = z
  .object({
    tag: TagSchema,
    tag_created: z.boolean().openapi({ description: 'The tag was created from tag_name now' }),
    added: z.boolean().openapi({ description: 'The photo did not carry the tag before' }),
  })
  .openapi('TagAdded');

const TagRemovedSchema = z
  .object({ tag: TagSchema, removed: z.boolean().openapi({ description: 'The photo carried the tag' }) })
  .openapi('TagRemoved');

const TagBatchResultSchema = z
  .object({
    photos: z.number().int().openapi({ description: 'Distinct photo contents touched' }),
    added: z.number().int().openapi({ description: 'New links' }),
    removed: z.number().int().openapi({ description: 'Links deleted' }),
    created_tags: z.array(TagSchema),
  })
  .openapi('TagBatchResult');

const json = <T>(schema: T) => ({ 'application/json': { schema } });

const listAllRoute = createRoute({
  method: 'get',
  path: '/image/tags/all',
  tags: ['tags'],
  summary: 'Every tag by name, with how many photos carry it',
  security: [{ bearerAuth: [] }],
  responses: {
    200: { description: 'Tags', content: json(z.array(TagWithCountSchema)) },
    ...problemResponses('unauthorized'),
  },
});

const photoTagsRoute = createRoute({
  method: 'get',
  path: '/image/tags',
  tags: ['tags'],
  summary: 'The tags of one photo',
  security: [{ bearerAuth: [] }],
  request: { query: PhotoTagsQuery },
  responses: {
    200: { description: 'Tags by name', content: json(z.array(TagSchema)) },
    ...problemResponses('validation', 'unauthorized', 'not-found', 'conflict'),
  },
});

const addTagRoute = createRoute({
  method: 'post',
  path: '/image/tags',
  tags: ['tags'],
  summary: 'Tag a photo (by tag id, or by name: a new name creates the tag)',
  description:
    'Tags hang on the content of the file (its hash), so they follow a file that moves to another folder or library. Adding a tag twice is harmless.',
  security: [{ bearerAuth: [] }],
  middleware: [jsonBodyLimit(TAG_BODY_MAX_BYTES)] as const,
  request: { body: { required: true, content: json(TagLinkBody) } },
  responses: {
    200: { description: 'The tag and whether the link is new', content: json(TagAddedSchema) },
    ...problemResponses('validation', 'unauthorized', 'not-found', 'conflict', 'payload-too-large'),
  },
});

const removeTagRoute = createRoute({
  method: 'delete',
  path: '/image/tags',
  tags: ['tags'],
  summary: 'Remove a tag from a photo (by tag id or name)',
  security: [{ bearerAuth: [] }],
  middleware: [jsonBodyLimit(TAG_BODY_MAX_BYTES)] as const,
  request: { body: { required: true, content: json(TagLinkBody) } },
  responses: {
    200: { description: 'The tag and whether the photo carried it', content: json(TagRemovedSchema) },
    ...problemResponses('validation', 'unauthorized', 'not-found', 'conflict', 'payload-too-large'),
  },
});

const batchRoute = createRoute({
  method: 'post',
  path: '/image/tags/batch',
  tags: ['tags'],
  summary: 'Add and remove tags on many photos in one transaction',
  description:
    'Either everything happens or nothing does: an unknown photo or tag id is a 404 naming each one (`items.3.path`, `add.0`), and nothing changes. Names in `add` are created when new. A tag both added and removed ends up removed.',
  security: [{ bearerAuth: [] }],
  middleware: [jsonBodyLimit(BATCH_BODY_MAX_BYTES)] as const,
  request: { body: { required: true, content: json(TagsBatchBody) } },
  responses: {
    200: { description: 'What changed', content: json(TagBatchResultSchema) },
    ...problemResponses('validation', 'unauthorized', 'not-found', 'conflict', 'payload-too-large'),
  },
});

export function registerTagsRoutes(app: App, deps: { tags: TagsService }): void {
  app.openapi(listAllRoute, async (c) => {
    c.header('Cache-Control', 'private, no-store');
    return c.json(await deps.tags.listAll(), 200);
  });

  app.openapi(photoTagsRoute, async (c) => {
    c.header('Cache-Control', 'private, no-store');
    return c.json(await deps.tags.forPhoto(c.req.valid('query')), 200);
  });

  app.openapi(addTagRoute, async (c) => {
    const result = await deps.tags.add(c.req.valid('json'));
    c.var.logger.info(
      { tagId: result.tag.id, added: result.added, created: result.tag_created },
      'tag added',
    );
    return c.json(result, 200);
  });

  app.openapi(removeTagRoute, async (c) => c.json(await deps.tags.remove(c.req.valid('json')), 200));

  app.openapi(batchRoute, async (c) => {
    const result = await deps.tags.batch(c.req.valid('json'));
    c.var.logger.info(
      { photos: result.photos, added: result.added, removed: result.removed },
      'tags batch applied',
    );
    return c.json(result, 200);
  });
}
