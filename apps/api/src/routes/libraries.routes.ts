import { createRoute, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { App } from '../http/app-env.ts';
import { problemResponses } from '../http/problem.schema.ts';
import { ProblemError } from '../http/problem.ts';
import { requireAdmin } from '../http/require-admin.middleware.ts';
import type { LibrariesService } from '../services/libraries.service.ts';

const LIBRARY_BODY_MAX_BYTES = 16 * 1024;

const CountsSchema = z.object({
  photo: z.number().int(),
  raw: z.number().int(),
  video: z.number().int(),
  total: z.number().int().openapi({ description: 'All files of the library, whatever their type' }),
});

const LibrarySchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    root: z.string().optional().openapi({ description: 'Folder on the server; shown to admins only' }),
    status: z.enum(['online', 'stale']).openapi({
      description:
        'stale: the root did not stat or list, or listed empty while files are known; never scanned',
    }),
    status_reason: z.string().nullable(),
    status_changed_at: z.string().nullable(),
    last_quick_scan_at: z.string().nullable(),
    last_full_scan_at: z.string().nullable(),
    counts: CountsSchema,
  })
  .openapi('Library');

const NewLibrarySchema = z
  .object({
    name: z.string().max(256).openapi({ example: 'archive' }),
    root: z.string().max(4096).openapi({ example: '/mnt/photos/archive' }),
  })
  .openapi('NewLibrary');

const listRoute = createRoute({
  method: 'get',
  path: '/libraries',
  tags: ['libraries'],
  summary: 'Every library with its status (online/stale), file counts and last scan times',
  security: [{ bearerAuth: [] }],
  responses: {
    200: {
      description: 'Libraries by id',
      content: { 'application/json': { schema: z.array(LibrarySchema) } },
    },
    ...problemResponses('unauthorized'),
  },
});

const createLibraryRoute = createRoute({
  method: 'post',
  path: '/libraries',
  tags: ['libraries'],
  summary: 'Add a library (admin); the watcher probes and scans it on its next tick',
  security: [{ bearerAuth: [] }],
  middleware: [
    requireAdmin('add libraries'),
    bodyLimit({
      maxSize: LIBRARY_BODY_MAX_BYTES,
      onError: () => {
        throw new ProblemError(
          'payload-too-large',
          `the body may not exceed ${LIBRARY_BODY_MAX_BYTES} bytes`,
        );
      },
    }),
  ] as const,
  request: { body: { required: true, content: { 'application/json': { schema: NewLibrarySchema } } } },
  responses: {
    201: { description: 'Added', content: { 'application/json': { schema: LibrarySchema } } },
    ...problemResponses('validation', 'unauthorized', 'forbidden', 'conflict', 'payload-too-large'),
  },
});

export function registerLibrariesRoutes(app: App, deps: { libraries: LibrariesService }): void {
  app.openapi(listRoute, async (c) => {
    const libraries = await deps.libraries.list({ includeRoot: c.get('user').isAdmin });
    c.header('Cache-Control', 'no-store');
    return c.json(libraries, 200);
  });

  app.openapi(createLibraryRoute, async (c) => {
    const library = await deps.libraries.create(c.req.valid('json'));
    c.var.logger.info({ libraryId: library.id, name: library.name, root: library.root }, 'library added');
    return c.json(library, 201);
  });
}
