import { createRoute, z } from '@hono/zod-openapi';
import { MAX_ROW_ID, tagNameSchema } from '@lumen/core';
import type { App } from '../http/app-env.ts';
import { jsonBodyLimit } from '../http/json-body-limit.ts';
import { problemResponses } from '../http/problem.schema.ts';
import type { PersonsService } from '../services/persons.service.ts';
import type { PhotosService } from '../services/photos.service.ts';
import { PhotoPageSchema } from './photo-item.schema.ts';
import { PhotosQuerySchema } from './photos.routes.ts';

const json = <T>(schema: T) => ({ 'application/json': { schema } });
const idParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(MAX_ROW_ID)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const notes = z.string().max(10_000).nullable();

const PersonSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    notes: z.string().nullable(),
    cover_face_id: z.number().int().nullable(),
    cover_url: z.string().nullable(),
    face_count: z.number().int(),
    photo_count: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Person');

const SuggestionSchema = z
  .object({
    id: z.number().int().openapi({ description: 'Suggestion (cluster) id, for naming it' }),
    model: z.string(),
    size: z.number().int(),
    face_ids: z.array(z.number().int()),
    thumbnail_urls: z.array(z.string()),
  })
  .openapi('PersonSuggestion');

const CreateBody = z.object({
  name: tagNameSchema,
  notes: notes.optional(),
  face_ids: z.array(z.number().int().positive()).max(10_000).optional(),
});
const UpdateBody = z.object({
  name: tagNameSchema.optional(),
  notes: notes.optional(),
  cover_face_id: z.number().int().positive().nullable().optional(),
});
const MergeBody = z.object({ source_ids: z.array(z.number().int().positive()).min(1).max(1000) });
const NameBody = z.object({ name: tagNameSchema });
const SuggestionsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

const routes = {
  list: createRoute({
    method: 'get',
    path: '/persons',
    tags: ['persons'],
    summary: 'Every person by name, with face and photo counts',
    security: [{ bearerAuth: [] }],
    responses: {
      200: { description: 'Persons', content: json(z.array(PersonSchema)) },
      ...problemResponses('unauthorized'),
    },
  }),
  create: createRoute({
    method: 'post',
    path: '/persons',
    tags: ['persons'],
    summary: 'Create a person (names are unique ignoring case), optionally with faces',
    security: [{ bearerAuth: [] }],
    request: { body: { content: json(CreateBody), required: true } },
    responses: {
      201: { description: 'The person', content: json(PersonSchema) },
      ...problemResponses('validation', 'unauthorized', 'not-found', 'conflict'),
    },
  }),
  suggestions: createRoute({
    method: 'get',
    path: '/persons/suggestions',
    tags: ['persons'],
    summary: 'Groups of unassigned faces that look alike (incremental, density-based clustering)',
    security: [{ bearerAuth: [] }],
    request: { query: SuggestionsQuery },
    responses: {
      200: {
        description: 'Biggest first; `pending` 1 when faces are left to cluster (ask again)',
        content: json(z.object({ suggestions: z.array(SuggestionSchema), pending: z.number().int() })),
      },
      ...problemResponses('validation', 'unauthorized'),
    },
  }),
  name: createRoute({
    method: 'post',
    path: '/persons/suggestions/{id}/name',
    tags: ['persons'],
    summary: 'Name a suggestion: its faces go to the person of that name (created when new)',
    security: [{ bearerAuth: [] }],
    request: { params: idParam, body: { content: json(NameBody), required: true } },
    responses: {
      200: { description: 'The person', content: json(PersonSchema) },
      ...problemResponses('validation', 'unauthorized', 'not-found'),
    },
  }),
  get: createRoute({
    method: 'get',
    path: '/persons/{id}',
    tags: ['persons'],
    summary: 'One person',
    security: [{ bearerAuth: [] }],
    request: { params: idParam },
    responses: {
      200: { description: 'The person', content: json(PersonSchema) },
      ...problemResponses('unauthorized', 'not-found'),
    },
  }),
  update: createRoute({
    method: 'patch',
    path: '/persons/{id}',
    tags: ['persons'],
    summary: 'Rename, change notes or the cover face',
    security: [{ bearerAuth: [] }],
    request: { params: idParam, body: { content: json(UpdateBody), required: true } },
    responses: {
      200: { description: 'The person', content: json(PersonSchema) },
      ...problemResponses('validation', 'unauthorized', 'not-found', 'conflict'),
    },
  }),
  remove: createRoute({
    method: 'delete',
    path: '/persons/{id}',
    tags: ['persons'],
    summary: 'Delete a person; their faces become unassigned',
    security: [{ bearerAuth: [] }],
    request: { params: idParam },
    responses: { 204: { description: 'Deleted' }, ...problemResponses('unauthorized', 'not-found') },
  }),
  merge: createRoute({
    method: 'post',
    path: '/persons/{id}/merge',
    tags: ['persons'],
    summary: 'Merge other persons into {id}: their faces move, {id} keeps its name and cover',
    security: [{ bearerAuth: [] }],
    request: { params: idParam, body: { content: json(MergeBody), required: true } },
    responses: {
      200: { description: 'The merged person', content: json(PersonSchema) },
      ...problemResponses('validation', 'unauthorized', 'not-found'),
    },
  }),
  photos: createRoute({
    method: 'get',
    path: '/persons/{id}/photos',
    tags: ['persons'],
    summary: 'Photos with a face of the person (the query and paging of /photos)',
    security: [{ bearerAuth: [] }],
    request: { params: idParam, query: PhotosQuerySchema },
    responses: {
      200: { description: 'One page', content: json(PhotoPageSchema) },
      ...problemResponses('validation', 'unauthorized', 'not-found'),
    },
  }),
};

export function registerPersonsRoutes(
  app: App,
  deps: { persons: PersonsService; photos: PhotosService },
): void {
  app.use('/persons/*', jsonBodyLimit(1024 * 1024));
  app.use('/persons', jsonBodyLimit(1024 * 1024));
  app.openapi(routes.list, async (c) => c.json(await deps.persons.list(), 200));
  app.openapi(routes.create, async (c) => c.json(await deps.persons.create(c.req.valid('json')), 201));
  app.openapi(routes.suggestions, async (c) =>
    c.json(await deps.persons.suggestions(c.req.valid('query').limit), 200),
  );
  app.openapi(routes.name, async (c) =>
    c.json(await deps.persons.nameSuggestion(c.req.valid('param').id, c.req.valid('json').name), 200),
  );
  app.openapi(routes.get, async (c) => c.json(await deps.persons.get(c.req.valid('param').id), 200));
  app.openapi(routes.update, async (c) =>
    c.json(await deps.persons.update(c.req.valid('param').id, c.req.valid('json')), 200),
  );
  app.openapi(routes.remove, async (c) => {
    await deps.persons.delete(c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi(routes.merge, async (c) =>
    c.json(await deps.persons.merge(c.req.valid('param').id, c.req.valid('json').source_ids), 200),
  );
  app.openapi(routes.photos, async (c) => {
    const id = c.req.valid('param').id;
    await deps.persons.get(id);
    const page = await deps.photos.search({ ...c.req.valid('query'), person: id }, c.get('user').id);
    c.header('Cache-Control', 'private, no-store');
    return c.json(page, 200);
  });
}
