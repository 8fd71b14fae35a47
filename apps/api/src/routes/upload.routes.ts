import { createRoute, z } from '@hono/zod-openapi';
import type { App } from '../http/app-env.ts';
import { problemResponses } from '../http/problem.schema.ts';
import type { UploadService } from '../services/upload.service.ts';

const UploadQuerySchema = z.object({
  library: z.string().max(256).optional().openapi({
    description: 'Library id or name (instead of the `library` field); the first library when absent',
  }),
  folder: z
    .string()
    .max(4096)
    .optional()
    .openapi({ description: 'Target folder (instead of the `folder` field); the library root when absent' }),
});

/**
 * The multipart body, as a plain OpenAPI schema: a zod schema here would make the route parse the
 * form with hono's parseBody, which holds the whole file in memory. The service streams it instead.
 */
const uploadBody = {
  type: 'object' as const,
  required: ['file'],
  properties: {
    library: {
      type: 'string' as const,
      description: 'Library id or name; send it before `file`',
      example: 'main',
    },
    folder: {
      type: 'string' as const,
      description:
        "Target folder relative to the library root (created when missing; '' = root); send it before `file`",
      example: '2024/uploads',
    },
    file: {
      type: 'string' as const,
      format: 'binary',
      description: 'The photo or video; its type is checked by its first bytes',
    },
  },
};

const UploadResultSchema = z
  .object({
    library: z.string(),
    library_id: z.number().int(),
    path: z.string().openapi({ description: 'Where the file is now, relative to the library root' }),
    name: z.string().openapi({ description: 'Final file name', example: 'IMG_0001_1717243200.jpg' }),
    renamed: z.boolean().openapi({ description: 'The name was taken, so `_<unix-seconds>` was added' }),
    size_bytes: z.number().int(),
    media_type: z.string().openapi({ example: 'photo' }),
    mime_type: z.string().openapi({ example: 'image/jpeg' }),
    ingest: z.enum(['requested', 'next-scan']).openapi({
      description:
        'requested: the watcher ingests it now; next-scan: the bus was unreachable, the next scan will',
    }),
  })
  .openapi('UploadResult');

const uploadRoute = createRoute({
  method: 'post',
  path: '/image',
  tags: ['images'],
  summary: 'Upload a photo or video into a library folder',
  description:
    'multipart/form-data with `library`, `folder` and `file` (send the fields first: the file then streams straight to its folder). Never overwrites: an existing name gets `_<unix-seconds>` before its extension. The size limit is UPLOAD_MAX_BYTES (413 beyond it); a file whose first bytes are no supported media format is refused (415). The file is ingested at once: its metadata is available within moments.',
  security: [{ bearerAuth: [] }],
  request: {
    query: UploadQuerySchema,
    body: { required: true, content: { 'multipart/form-data': { schema: uploadBody } } },
  },
  responses: {
    201: { description: 'Stored', content: { 'application/json': { schema: UploadResultSchema } } },
    ...problemResponses(
      'validation',
      'invalid-path',
      'unauthorized',
      'forbidden',
      'not-found',
      'conflict',
      'payload-too-large',
      'unsupported-media-type',
      'scriptable-content',
      'unavailable',
    ),
  },
});

export function registerUploadRoutes(app: App, deps: { uploads: UploadService }): void {
  app.openapi(uploadRoute, async (c) => {
    const result = await deps.uploads.upload(c.req.raw, c.req.valid('query'));
    c.header(
      'Location',
      `/image/metadata?path=${encodeURIComponent(result.path)}&library=${result.library_id}`,
    );
    return c.json(result, 201);
  });
}
