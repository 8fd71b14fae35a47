import { createRoute, z } from '@hono/zod-openapi';
import { noNulByte } from '@lumen/core';
import type { Context } from 'hono';
import type { App, AppEnv } from '../http/app-env.ts';
import {
  type ConditionalHeaders,
  etagMatches,
  notModifiedResponse,
  type ServedFile,
  serveFile,
  serveSmallFile,
} from '../http/file-response.ts';
import { problemResponses } from '../http/problem.schema.ts';
import { ProblemError } from '../http/problem.ts';
import type { ImageMetrics } from '../services/image-metrics.ts';
import { fileProblem, type ImagesService, isMissingFileError } from '../services/images.service.ts';

/** Thumbnails and previews are keyed by content hash: their bytes never change under one URL's ETag. */
export const DERIVATIVE_CACHE_CONTROL = 'private, max-age=31536000, immutable';
/** Originals may change in place: a client may keep them but must revalidate (ETag / Last-Modified). */
export const ORIGINAL_CACHE_CONTROL = 'private, no-cache';

const libraryParam = z
  .string()
  .max(256)
  .refine(noNulByte, 'must not contain a NUL byte')
  .optional()
  .openapi({ description: 'Library id or name; the first library (lowest id) when absent', example: 'main' });
const pathParam = z.string().openapi({
  description:
    'File path relative to the library root (posix); no `..`, absolute paths, NUL or escaping symlinks',
  example: '2024/summer/IMG_0001.jpg',
});

const ImageQuerySchema = z.object({
  path: pathParam,
  library: libraryParam,
  size: z.enum(['thumb', 'preview', 'full']).default('full').openapi({
    description:
      'thumb: 200x200 JPEG; preview: JPEG, long side at most 1440; full: the original (Range supported)',
  }),
  format: z.enum(['jpeg', 'webp']).optional().openapi({
    description: 'Accepted for compatibility; thumbnails and previews are always JPEG (see Content-Type)',
  }),
});

const MetadataQuerySchema = z.object({ path: pathParam, library: libraryParam });

const Binary = z.string().openapi({ format: 'binary' });
/** Thumbnails and previews are JPEG; an original has its own type (image/*, video/*). */
const binaryContent = {
  'image/jpeg': { schema: Binary },
  '*/*': { schema: Binary },
};

const imageRoute = createRoute({
  method: 'get',
  path: '/image',
  tags: ['images'],
  summary: 'A photo or video: its thumbnail, preview, or the original file',
  description:
    'Thumbnails and previews carry `ETag` and `Cache-Control: private, max-age=31536000, immutable` and are made on demand when the watcher has not made them yet. The original is streamed with its content type, `Accept-Ranges: bytes`, `ETag` and `Last-Modified`.',
  security: [{ bearerAuth: [] }],
  request: { query: ImageQuerySchema },
  responses: {
    200: { description: 'The image (or the original video file for size=full)', content: binaryContent },
    206: { description: 'The requested byte range of the original (size=full)', content: binaryContent },
    304: { description: 'The cached copy (If-None-Match / If-Modified-Since) is current' },
    ...problemResponses(
      'invalid-path',
      'unauthorized',
      'forbidden',
      'not-found',
      'thumbnail-unsupported',
      'range-not-satisfiable',
      'conflict',
      'unavailable',
    ),
  },
});

const MetadataSchema = z
  .object({
    library: z.object({ id: z.number().int(), name: z.string() }),
    path: z.string(),
    media_type: z.string().openapi({ example: 'photo' }),
    mime_type: z.string().nullable(),
    size_bytes: z.number().int(),
    mtime: z.string().openapi({ description: 'File modification time, ISO-8601 UTC' }),
    content_hash: z.string().nullable().openapi({ example: 'xxh3-128:0cb64fb1d33d247d2df2abd438ec88ab' }),
    camera_make: z.string().nullable(),
    camera_model: z.string().nullable(),
    lens_model: z.string().nullable(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    orientation: z.number().int().nullable(),
    gps: z.object({ lat: z.number(), lon: z.number(), alt: z.number().nullable() }).nullable(),
    focal_length: z.number().nullable(),
    aperture: z.number().nullable(),
    exposure_time: z.number().nullable().openapi({ description: 'Seconds' }),
    iso: z.number().int().nullable(),
    date_taken: z.string().nullable().openapi({ description: 'ISO-8601 UTC instant' }),
    date_taken_offset: z.string().nullable().openapi({ example: '+02:00' }),
    date_taken_source: z.string().nullable().openapi({ description: 'exif, video or mtime' }),
    duration_sec: z.number().nullable(),
    video_codec: z.string().nullable(),
    audio_codec: z.string().nullable(),
    thumb_status: z.string().openapi({ description: 'pending, ready, unsupported or failed' }),
    preview_status: z.string(),
    missing_since: z.string().nullable().openapi({
      description:
        'When the watcher found the file gone (it is hidden from /photos, memories and the video wall, and comes back with its tags if it reappears; deleted after MISSING_GRACE_SECONDS). Null for a file that is there.',
    }),
  })
  .openapi('ImageMetadata');

const metadataRoute = createRoute({
  method: 'get',
  path: '/image/metadata',
  tags: ['images'],
  summary: 'The stored EXIF and file facts of one ingested file',
  security: [{ bearerAuth: [] }],
  request: { query: MetadataQuerySchema },
  responses: {
    200: { description: 'Metadata', content: { 'application/json': { schema: MetadataSchema } } },
    ...problemResponses('invalid-path', 'unauthorized', 'not-found', 'unavailable'),
  },
});

function conditionalHeaders(c: Context<AppEnv>): ConditionalHeaders {
  return {
    method: c.req.method,
    range: c.req.header('Range'),
    ifRange: c.req.header('If-Range'),
    ifNoneMatch: c.req.header('If-None-Match'),
    ifModifiedSince: c.req.header('If-Modified-Since'),
  };
}

/** Send a file, with one that vanished (or became unreadable) since it was found as a problem. */
async function serve(what: string, send: () => Promise<ServedFile>): Promise<ServedFile> {
  try {
    return await send();
  } catch (err) {
    if (err instanceof ProblemError) throw err;
    throw fileProblem(err, what);
  }
}

/** A stored thumbnail or preview (serveSmallFile), or undefined when the file is not there. */
async function serveStoredIfPresent(
  c: Context<AppEnv>,
  options: Parameters<typeof serveSmallFile>[1],
): Promise<ServedFile | undefined> {
  try {
    return await serveSmallFile(conditionalHeaders(c), options);
  } catch (err) {
    if (isMissingFileError(err)) return undefined;
    throw err;
  }
}

/** Strong validator of an original: size and mtime, as nginx does (no read of the content). */
function originalEtag(stats: { size: number; mtimeMs: number }): string {
  return `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
}

export function registerImagesRoutes(app: App, deps: { images: ImagesService; metrics: ImageMetrics }): void {
  app.openapi(imageRoute, async (c) => {
    const query = c.req.valid('query');
    if (query.size !== 'full') {
      // Fast path: the row says the derivative is ready (see ImagesService.readyDerivative).
      const ready = await deps.images.readyDerivative(query.library, query.path, query.size);
      const served =
        ready &&
        (await serveStoredIfPresent(c, {
          path: ready.path,
          contentType: 'image/jpeg',
          cacheControl: DERIVATIVE_CACHE_CONTROL,
          etag: ready.etag,
        }));
      if (served) {
        if (served.status !== 304) deps.metrics.served.inc({ size: query.size, media_type: ready.mediaType });
        return served.response;
      }
    }
    const file = await deps.images.locate(query.library, query.path);
    const what = `"${file.relPath}"`;

    if (query.size === 'full') {
      const original = await deps.images.original(file);
      // serveFile owns the opened, checked file from here and closes it.
      const served = await serve(what, () =>
        serveFile(conditionalHeaders(c), {
          path: original.opened.handle,
          contentType: original.contentType,
          cacheControl: ORIGINAL_CACHE_CONTROL,
          etag: originalEtag,
          lastModified: true,
          ranges: true,
        }),
      );
      if (served.status !== 304) deps.metrics.served.inc({ size: 'full', media_type: original.mediaType });
      return served.response;
    }

    const source = await deps.images.derivativeSource(file);
    let derivativePath: string;
    const etag = deps.images.derivativeEtag(source, query.size);
    try {
      if (etagMatches(c.req.header('If-None-Match'), etag)) {
        return notModifiedResponse({ ETag: etag, 'Cache-Control': DERIVATIVE_CACHE_CONTROL });
      }
      derivativePath = await deps.images.derivative(source, query.size, file);
    } finally {
      await source.opened?.close();
    }
    const served = await serve(`the ${query.size} of ${what}`, () =>
      serveSmallFile(conditionalHeaders(c), {
        path: derivativePath,
        contentType: 'image/jpeg',
        cacheControl: DERIVATIVE_CACHE_CONTROL,
        etag,
      }),
    );
    if (served.status !== 304) deps.metrics.served.inc({ size: query.size, media_type: source.mediaType });
    return served.response;
  });

  app.openapi(metadataRoute, async (c) => {
    const query = c.req.valid('query');
    const file = await deps.images.locate(query.library, query.path);
    c.header('Cache-Control', 'private, no-cache');
    return c.json(deps.images.metadata(file), 200);
  });
}
