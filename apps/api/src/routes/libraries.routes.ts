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
  missing: z.number().int().openapi({
    description:
      'Files found gone: hidden from listings, with their tags, favorites, faces and insights kept; they come back if the file reappears, and are deleted after MISSING_GRACE_SECONDS',
  }),
});

const LibrarySchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    root: z.string().optional().openapi({ description: 'Folder on the server; shown to admins only' }),
    status: z.enum(['online', 'stale', 'suspect']).openapi({
      description:
        'stale: the root did not stat or list, or listed no files (hidden ones aside) while files are known; not scanned, nothing changes. suspect: many files vanished at once, or a folder of known files lists empty, like a dropped mount; nothing is marked missing or deleted until it clears or an admin confirms (POST /libraries/{id}/confirm-missing)',
    }),
    status_reason: z.string().nullable(),
    status_changed_at: z.string().nullable(),
    suspect_reason: z.string().nullable().openapi({
      description: 'Why the library is (or, once confirmed, was) suspect; null when it is not',
    }),
    suspect_since: z.string().nullable(),
    missing_confirmed_at: z
      .string()
      .nullable()
      .openapi({ description: 'The suspect_since of the episode an admin confirmed' }),
    last_quick_scan_at: z.string().nullable(),
    last_full_scan_at: z.string().nullable(),
    watched_by: z.string().nullable().openapi({
      description:
        'The watcher replica (REPLICA_ID) that holds the watcher lease and watches every library now; null when none holds it (no watcher running, or it died and the lease has not moved yet)',
    }),
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

const confirmMissingRoute = createRoute({
  method: 'post',
  path: '/libraries/{id}/confirm-missing',
  tags: ['libraries'],
  summary: 'Confirm that the files of a suspect library are really gone (admin)',
  description:
    'Releases the mass-disappearance brake for the episode in progress: the watcher marks the vanished files missing on its next ticks (hidden at once, deleted after MISSING_GRACE_SECONDS). A later episode brakes again. 409 when the library is not suspect.',
  security: [{ bearerAuth: [] }],
  middleware: [requireAdmin('confirm missing files')] as const,
  request: {
    params: z.object({
      id: z
        .string()
        .min(1)
        .max(256)
        .openapi({ param: { name: 'id', in: 'path' }, description: 'Library id or name', example: '2' }),
    }),
  },
  responses: {
    200: {
      description: 'Confirmed; the library as it is now',
      content: { 'application/json': { schema: LibrarySchema } },
    },
    ...problemResponses('validation', 'unauthorized', 'forbidden', 'not-found', 'conflict'),
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

  app.openapi(confirmMissingRoute, async (c) => {
    const library = await deps.libraries.confirmMissing(c.req.valid('param').id);
    c.var.logger.warn(
      { libraryId: library.id, name: library.name, suspectReason: library.suspect_reason },
      'an admin confirmed the missing files of a suspect library',
    );
    return c.json(library, 200);
  });
}
