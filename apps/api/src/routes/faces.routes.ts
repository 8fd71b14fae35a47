import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createRoute, z } from '@hono/zod-openapi';
import { MAX_ROW_ID, photoRefSchema } from '@lumen/core';
import type { App } from '../http/app-env.ts';
import { jsonBodyLimit } from '../http/json-body-limit.ts';
import { problemResponses } from '../http/problem.schema.ts';
import type { FacesService } from '../services/faces.service.ts';

const json = <T>(schema: T) => ({ 'application/json': { schema } });
const idParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(MAX_ROW_ID)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

const PixelBoxSchema = z
  .object({
    x: z.number().finite().min(0),
    y: z.number().finite().min(0),
    width: z.number().finite().positive(),
    height: z.number().finite().positive(),
  })
  .openapi('FaceBox', { description: 'Pixels of the photo as displayed (EXIF orientation applied)' });

export const FaceSchema = z
  .object({
    id: z.number().int(),
    bbox: PixelBoxSchema,
    bbox_relative: z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number() }),
    score: z.number().nullable(),
    source: z.string().openapi({ description: '`auto` (detected) or `manual` (drawn)' }),
    person: z.object({ id: z.number().int(), name: z.string() }).nullable(),
    model: z.string().nullable().openapi({ description: 'model_version of the embedding' }),
    embedding_zero: z.boolean(),
    content_hash: z.string(),
    library_id: z.number().int(),
    path: z.string(),
    thumbnail_url: z.string(),
  })
  .openapi('Face');

const PhotoFacesSchema = z
  .object({
    library_id: z.number().int(),
    path: z.string(),
    content_hash: z.string(),
    status: z.enum(['pending', 'detected', 'no_faces', 'failed']),
    marker_id: z.number().int().nullable(),
    width: z.number(),
    height: z.number(),
    faces: z.array(FaceSchema),
  })
  .openapi('PhotoFaces');

const ManualFaceBody = photoRefSchema.extend({
  bbox: PixelBoxSchema,
  force: z
    .boolean()
    .optional()
    .openapi({ description: 'Save with a zero embedding, without the face service' }),
  person_id: z.number().int().positive().optional(),
});

const AssignBody = z.object({ person_id: z.number().int().positive().nullable() });
const SimilarQuery = z.object({ k: z.coerce.number().int().min(1).max(200).default(20) });

const routes = {
  list: createRoute({
    method: 'get',
    path: '/image/faces',
    tags: ['faces'],
    summary: 'The faces of one photo',
    security: [{ bearerAuth: [] }],
    request: { query: photoRefSchema },
    responses: {
      200: { description: 'Faces and the detection status', content: json(PhotoFacesSchema) },
      ...problemResponses('validation', 'unauthorized', 'not-found', 'conflict'),
    },
  }),
  add: createRoute({
    method: 'post',
    path: '/image/faces',
    tags: ['faces'],
    summary: 'Add a face drawn by the user (cropped, padded, embedded by the face service)',
    security: [{ bearerAuth: [] }],
    request: { body: { content: json(ManualFaceBody), required: true } },
    responses: {
      201: { description: 'The new face', content: json(FaceSchema) },
      ...problemResponses('validation', 'unauthorized', 'not-found', 'conflict', 'unavailable'),
    },
  }),
  rerun: createRoute({
    method: 'post',
    path: '/image/faces/{id}/rerun',
    tags: ['faces'],
    summary: 'Detect the faces of the photo of face (or marker) {id} again; manual faces stay',
    security: [{ bearerAuth: [] }],
    request: { params: idParam },
    responses: {
      200: { description: 'The photo after the rerun', content: json(PhotoFacesSchema) },
      ...problemResponses('unauthorized', 'not-found', 'unavailable'),
    },
  }),
  remove: createRoute({
    method: 'delete',
    path: '/image/faces/{id}',
    tags: ['faces'],
    summary: 'Delete one face',
    security: [{ bearerAuth: [] }],
    request: { params: idParam },
    responses: { 204: { description: 'Deleted' }, ...problemResponses('unauthorized', 'not-found') },
  }),
  get: createRoute({
    method: 'get',
    path: '/faces/{id}',
    tags: ['faces'],
    summary: 'One face',
    security: [{ bearerAuth: [] }],
    request: { params: idParam },
    responses: {
      200: { description: 'The face', content: json(FaceSchema) },
      ...problemResponses('unauthorized', 'not-found'),
    },
  }),
  assign: createRoute({
    method: 'put',
    path: '/faces/{id}/person',
    tags: ['faces'],
    summary: 'Assign a face to a person (null: unassign)',
    security: [{ bearerAuth: [] }],
    request: { params: idParam, body: { content: json(AssignBody), required: true } },
    responses: {
      200: { description: 'The face', content: json(FaceSchema) },
      ...problemResponses('validation', 'unauthorized', 'not-found'),
    },
  }),
  thumb: createRoute({
    method: 'get',
    path: '/faces/{id}/thumb',
    tags: ['faces'],
    summary: 'The crop of a face (JPEG, 160 px, content-addressed)',
    security: [{ bearerAuth: [] }],
    request: { params: idParam },
    responses: {
      200: {
        description: 'JPEG',
        content: { 'image/jpeg': { schema: z.string().openapi({ format: 'binary' }) } },
      },
      304: { description: 'Not modified' },
      ...problemResponses('unauthorized', 'not-found', 'thumbnail-unsupported'),
    },
  }),
  similar: createRoute({
    method: 'get',
    path: '/faces/{id}/similar',
    tags: ['faces'],
    summary: 'The k faces (same model) nearest to face {id} by cosine similarity',
    security: [{ bearerAuth: [] }],
    request: { params: idParam, query: SimilarQuery },
    responses: {
      200: {
        description: 'Most similar first',
        content: json(z.array(z.object({ face: FaceSchema, similarity: z.number() }))),
      },
      ...problemResponses('validation', 'unauthorized', 'not-found'),
    },
  }),
};

export function registerFacesRoutes(app: App, deps: { faces: FacesService }): void {
  app.openapi(routes.list, async (c) => c.json(await deps.faces.ofPhoto(c.req.valid('query')), 200));
  app.use('/image/faces', jsonBodyLimit(64 * 1024));
  app.openapi(routes.add, async (c) => c.json(await deps.faces.addManual(c.req.valid('json')), 201));
  app.openapi(routes.rerun, async (c) => c.json(await deps.faces.rerun(c.req.valid('param').id), 200));
  app.openapi(routes.remove, async (c) => {
    await deps.faces.delete(c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi(routes.get, async (c) => c.json(await deps.faces.face(c.req.valid('param').id), 200));
  app.openapi(routes.assign, async (c) =>
    c.json(await deps.faces.assign(c.req.valid('param').id, c.req.valid('json').person_id), 200),
  );
  app.openapi(routes.thumb, async (c) => {
    const path = await deps.faces.thumbPath(c.req.valid('param').id);
    const etag = `"${basename(path, '.jpg')}"`;
    const headers = { ETag: etag, 'Cache-Control': 'private, max-age=31536000, immutable' };
    if (c.req.header('If-None-Match') === etag) return new Response(null, { status: 304, headers });
    const bytes = await readFile(path);
    return new Response(new Uint8Array(bytes), {
      status: 200,
      headers: { ...headers, 'Content-Type': 'image/jpeg' },
    });
  });
  app.openapi(routes.similar, async (c) =>
    c.json(await deps.faces.similar(c.req.valid('param').id, c.req.valid('query').k), 200),
  );
}
