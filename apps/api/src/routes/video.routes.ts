import { createRoute, z } from '@hono/zod-openapi';
import {
  booleanParam,
  CursorError,
  DEFAULT_PAGE_LIMIT,
  decodePhotoCursor,
  integerParam,
  libraryParam as libraryQueryParam,
  MAX_PAGE_LIMIT,
  noNulByte,
  type PhotoCursor,
  relPathParam,
} from '@lumen/core';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { App, AppEnv } from '../http/app-env.ts';
import { type ServeFileOptions, serveFile } from '../http/file-response.ts';
import { problemResponses } from '../http/problem.schema.ts';
import { ProblemError } from '../http/problem.ts';
import { fileProblem } from '../services/images.service.ts';
import {
  HLS_PLAYLIST_TYPE,
  HLS_SEGMENT_TYPE,
  type LocatedVideo,
  streamUrl,
  VIDEO_RETRY_AFTER_SECONDS,
  type VideoService,
  type VideoState,
} from '../services/video.service.ts';
import { DERIVATIVE_CACHE_CONTROL } from './images.routes.ts';

const GENERATE_BODY_MAX_BYTES = 16 * 1024;
/** The master playlist carries fresh signatures: never kept by a cache. */
const MASTER_CACHE_CONTROL = 'private, no-store';

const libraryParam = z
  .string()
  .max(256)
  .refine(noNulByte, 'must not contain a NUL byte')
  .optional()
  .openapi({ description: 'Library id or name; the first library (lowest id) when absent', example: 'main' });
const pathParam = z.string().max(8192).openapi({
  description:
    'Video path relative to the library root (posix); no `..`, absolute paths, NUL or escaping symlinks',
  example: 'clips/holiday.mp4',
});
const signatureParams = {
  exp: z.string().max(32).optional().openapi({ description: 'Expiry of the signed URL, unix seconds' }),
  sig: z.string().max(128).optional().openapi({ description: 'HMAC-SHA256 signature (base64url)' }),
};

const VideoQuerySchema = z.object({ path: pathParam, library: libraryParam });

const GenerateBodySchema = z
  .object({
    path: pathParam,
    library: z
      .union([z.string().max(256), z.number().int().positive()])
      .optional()
      .openapi({ description: 'Library id or name; the first library when absent' }),
  })
  .openapi('VideoGenerateRequest');

const VideoStatusSchema = z
  .object({
    state: z.enum(['queued', 'running', 'ready', 'failed']),
    error: z.string().optional().openapi({
      description: 'failed: the ffmpeg error; queued: why the last attempt failed when it is being retried',
    }),
    stream_url: z
      .string()
      .optional()
      .openapi({ description: 'When ready: the master playlist (needs the bearer token)' }),
  })
  .openapi('VideoStatus');

const Binary = z.string().openapi({ format: 'binary' });
const Playlist = z.string().openapi({ description: 'An HLS playlist (M3U8)' });

const cursorParam = z
  .string()
  .max(8192)
  .transform((text, ctx): PhotoCursor => {
    try {
      return decodePhotoCursor(text, { sort: 'DateTakenDesc' });
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: err instanceof CursorError ? err.message : 'cursor is not a cursor this server issued',
      });
      return z.NEVER;
    }
  });

const WallQuerySchema = z.object({
  library: libraryQueryParam
    .optional()
    .openapi({ description: 'Library id or name; every Online library when absent' }),
  path: relPathParam({ allowRoot: true })
    .optional()
    .openapi({ description: 'A folder relative to the library root; the whole library when absent' }),
  recursive: booleanParam.prefault('true').openapi({ description: 'Include sub-folders (default true)' }),
  limit: integerParam(1, MAX_PAGE_LIMIT)
    .prefault(String(DEFAULT_PAGE_LIMIT))
    .openapi({ description: `Page size, 1-${MAX_PAGE_LIMIT} (default ${DEFAULT_PAGE_LIMIT})` }),
  cursor: cursorParam.optional().openapi({ description: 'next_cursor of the previous page' }),
});

const WallItemSchema = z
  .object({
    library: z.string(),
    library_id: z.number().int(),
    path: z.string(),
    file_name: z.string(),
    date_taken: z.string().nullable(),
    duration_sec: z.number().nullable(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    clip_url: z.string().nullable().openapi({
      description: 'Signed URL of the looping preview clip (MP4), for <video src>; no header needed',
    }),
    gif_url: z.string().nullable().openapi({ description: 'Signed URL of the animated GIF thumbnail' }),
    stream_url: z.string().openapi({ description: 'The master playlist (needs the bearer token)' }),
    clip_ready: z.boolean(),
    clip_state: z.enum(['queued', 'running', 'ready', 'failed', 'missing']),
    clip_error: z.string().optional(),
  })
  .openapi('VideoWallItem');

const WallPageSchema = z
  .object({
    items: z.array(WallItemSchema),
    total: z.number().int(),
    next_cursor: z.string().nullable(),
  })
  .openapi('VideoWallPage');

const generateRoute = createRoute({
  method: 'post',
  path: '/video/generate',
  tags: ['video'],
  summary: 'Ask for the HLS stream of a video (idempotent) and tell where it stands',
  security: [{ bearerAuth: [] }],
  middleware: [
    bodyLimit({
      maxSize: GENERATE_BODY_MAX_BYTES,
      onError: () => {
        throw new ProblemError(
          'payload-too-large',
          `the body may not exceed ${GENERATE_BODY_MAX_BYTES} bytes`,
        );
      },
    }),
  ] as const,
  request: { body: { required: true, content: { 'application/json': { schema: GenerateBodySchema } } } },
  responses: {
    200: { description: 'ready or failed', content: { 'application/json': { schema: VideoStatusSchema } } },
    202: { description: 'queued or running', content: { 'application/json': { schema: VideoStatusSchema } } },
    ...problemResponses(
      'validation',
      'invalid-path',
      'bad-request',
      'unauthorized',
      'not-found',
      'conflict',
      'unavailable',
    ),
  },
});

const streamRoute = createRoute({
  method: 'get',
  path: '/video/stream',
  tags: ['video'],
  summary: 'The master playlist of a video, its URLs signed (asks for the stream when there is none)',
  description:
    'Variant playlists and segments are served under /video/hls/ by signed URLs written into the playlists, valid 6 to 7 hours; players need no header for them.',
  security: [{ bearerAuth: [] }],
  request: { query: VideoQuerySchema },
  responses: {
    200: { description: 'The master playlist', content: { [HLS_PLAYLIST_TYPE]: { schema: Playlist } } },
    202: {
      description: 'Not ready yet (queued or running); ask again after Retry-After seconds',
      content: { 'application/json': { schema: VideoStatusSchema } },
    },
    ...problemResponses(
      'invalid-path',
      'bad-request',
      'unauthorized',
      'not-found',
      'video-unplayable',
      'conflict',
      'unavailable',
    ),
  },
});

const hlsResponses = {
  200: {
    description: 'A variant playlist (its segment URLs signed like this one) or an MPEG-TS segment',
    content: { [HLS_PLAYLIST_TYPE]: { schema: Playlist }, [HLS_SEGMENT_TYPE]: { schema: Binary } },
  },
  206: { description: 'A byte range of a segment', content: { [HLS_SEGMENT_TYPE]: { schema: Binary } } },
  ...problemResponses('unauthorized', 'forbidden', 'not-found', 'range-not-satisfiable'),
};

const hlsRootFileRoute = createRoute({
  method: 'get',
  path: '/video/hls/{hex}/{file}',
  tags: ['video'],
  summary: 'A playlist at the top of an HLS folder, by signed URL (no bearer token)',
  request: {
    params: z.object({ hex: z.string().max(128), file: z.string().max(64) }),
    query: z.object(signatureParams),
  },
  responses: hlsResponses,
});

const hlsRenditionFileRoute = createRoute({
  method: 'get',
  path: '/video/hls/{hex}/{rendition}/{file}',
  tags: ['video'],
  summary: 'A variant playlist or segment, by signed URL (no bearer token)',
  request: {
    params: z.object({ hex: z.string().max(128), rendition: z.string().max(16), file: z.string().max(64) }),
    query: z.object(signatureParams),
  },
  responses: hlsResponses,
});

const wallRoute = createRoute({
  method: 'get',
  path: '/video/wall',
  tags: ['video'],
  summary: 'Videos, newest first (date taken; undated last), with signed preview clip URLs',
  security: [{ bearerAuth: [] }],
  request: { query: WallQuerySchema },
  responses: {
    200: { description: 'One page', content: { 'application/json': { schema: WallPageSchema } } },
    ...problemResponses('validation', 'unauthorized', 'not-found'),
  },
});

const previewRoute = createRoute({
  method: 'get',
  path: '/video/preview',
  tags: ['video'],
  summary: 'The looping preview clip of a video (MP4, Range supported)',
  security: [{ bearerAuth: [] }],
  request: { query: VideoQuerySchema },
  responses: {
    200: { description: 'The clip', content: { 'video/mp4': { schema: Binary } } },
    206: { description: 'A byte range of the clip', content: { 'video/mp4': { schema: Binary } } },
    304: { description: 'The cached copy is current' },
    ...problemResponses(
      'invalid-path',
      'bad-request',
      'unauthorized',
      'not-found',
      'range-not-satisfiable',
      'video-unplayable',
      'conflict',
      'unavailable',
    ),
  },
});

const signedOutputResponses = (type: string) => ({
  200: { description: 'The file', content: { [type]: { schema: Binary } } },
  206: { description: 'A byte range', content: { [type]: { schema: Binary } } },
  304: { description: 'The cached copy is current' },
  ...problemResponses('unauthorized', 'forbidden', 'not-found', 'range-not-satisfiable'),
});

const clipRoute = createRoute({
  method: 'get',
  path: '/video/clip/{name}',
  tags: ['video'],
  summary: 'A preview clip by signed URL (`<hex>.mp4`; no bearer token), for <video src>',
  request: { params: z.object({ name: z.string().max(160) }), query: z.object(signatureParams) },
  responses: signedOutputResponses('video/mp4'),
});

const gifRoute = createRoute({
  method: 'get',
  path: '/video/gif/{name}',
  tags: ['video'],
  summary: 'An animated GIF thumbnail by signed URL (`<hex>.gif`; no bearer token), for <img src>',
  request: { params: z.object({ name: z.string().max(160) }), query: z.object(signatureParams) },
  responses: signedOutputResponses('image/gif'),
});

/** The JSON status of a stream request (`missing` cannot come back from a request: it was just queued). */
function statusBody(state: VideoState, video: LocatedVideo) {
  switch (state.state) {
    case 'ready':
      return { state: 'ready' as const, stream_url: streamUrl(Number(video.library.id), video.relPath) };
    case 'failed':
      return { state: 'failed' as const, error: state.error };
    case 'missing':
      return { state: 'queued' as const };
    default:
      return { state: state.state, ...(state.error !== undefined ? { error: state.error } : {}) };
  }
}

/** Signed responses may be kept until their signature expires, and no longer. */
function untilExpiry(exp: number): string {
  return `private, max-age=${Math.max(0, exp - Math.floor(Date.now() / 1000))}`;
}

async function serve(c: Context<AppEnv>, options: ServeFileOptions, what: string): Promise<Response> {
  try {
    const served = await serveFile(
      {
        method: c.req.method,
        range: c.req.header('Range'),
        ifRange: c.req.header('If-Range'),
        ifNoneMatch: c.req.header('If-None-Match'),
        ifModifiedSince: c.req.header('If-Modified-Since'),
      },
      options,
    );
    return served.response;
  } catch (err) {
    if (err instanceof ProblemError) throw err;
    throw fileProblem(err, what);
  }
}

/** `<hex>.<ext>` -> hex; any other name fails the signature check as malformed (403). */
function hexOfName(name: string, ext: string): string {
  return name.endsWith(ext) ? name.slice(0, -ext.length) : name;
}

export function registerVideoRoutes(app: App, deps: { video: VideoService }): void {
  const { video } = deps;

  app.openapi(generateRoute, async (c) => {
    const body = c.req.valid('json');
    const located = await video.locate(
      body.library === undefined ? undefined : String(body.library),
      body.path,
    );
    const state = await video.request('hls', located);
    c.header('Cache-Control', 'no-store');
    const status = state.state === 'ready' || state.state === 'failed' ? 200 : 202;
    if (status === 202) c.header('Retry-After', String(VIDEO_RETRY_AFTER_SECONDS));
    return c.json(statusBody(state, located), status);
  });

  app.openapi(streamRoute, async (c) => {
    const query = c.req.valid('query');
    const located = await video.locate(query.library, query.path);
    const result = await video.masterPlaylist(located);
    if ('pending' in result) {
      c.header('Cache-Control', 'no-store');
      c.header('Retry-After', String(VIDEO_RETRY_AFTER_SECONDS));
      return c.json(statusBody(result.pending, located), 202);
    }
    return c.body(result.playlist, 200, {
      'Content-Type': HLS_PLAYLIST_TYPE,
      'Cache-Control': MASTER_CACHE_CONTROL,
    });
  });

  const hlsHandler = async (c: Context<AppEnv>, hex: string, file: string) => {
    const found = await video.hlsFile(hex, file, c.req.query('exp'), c.req.query('sig'));
    if (found.type === 'playlist') {
      return c.body(found.body, 200, {
        'Content-Type': HLS_PLAYLIST_TYPE,
        'Cache-Control': untilExpiry(found.exp),
      });
    }
    return serve(
      c,
      {
        path: found.path,
        contentType: HLS_SEGMENT_TYPE,
        cacheControl: untilExpiry(found.exp),
        etag: `"${hex}-${file.replace('/', '-')}"`,
        ranges: true,
      },
      `the HLS file ${file}`,
    );
  };
  app.openapi(hlsRootFileRoute, (c) => {
    const { hex, file } = c.req.valid('param');
    return hlsHandler(c, hex, file);
  });
  app.openapi(hlsRenditionFileRoute, (c) => {
    const { hex, rendition, file } = c.req.valid('param');
    return hlsHandler(c, hex, `${rendition}/${file}`);
  });

  app.openapi(wallRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await video.wall(query);
    c.header('Cache-Control', 'no-store');
    return c.json(page, 200);
  });

  app.openapi(previewRoute, async (c) => {
    const query = c.req.valid('query');
    const located = await video.locate(query.library, query.path);
    const clip = await video.clip(located);
    return serve(
      c,
      {
        path: clip,
        contentType: 'video/mp4',
        cacheControl: DERIVATIVE_CACHE_CONTROL,
        etag: `"${located.hex}-clip"`,
        ranges: true,
      },
      `the preview clip of "${located.relPath}"`,
    );
  });

  app.openapi(clipRoute, async (c) => {
    const hex = hexOfName(c.req.valid('param').name, '.mp4');
    const { path, exp } = video.signedOutput('clip', hex, c.req.query('exp'), c.req.query('sig'));
    return serve(
      c,
      { path, contentType: 'video/mp4', cacheControl: untilExpiry(exp), etag: `"${hex}-clip"`, ranges: true },
      'this preview clip (not made yet, or gone)',
    );
  });

  app.openapi(gifRoute, async (c) => {
    const hex = hexOfName(c.req.valid('param').name, '.gif');
    const { path, exp } = video.signedOutput('gif', hex, c.req.query('exp'), c.req.query('sig'));
    return serve(
      c,
      { path, contentType: 'image/gif', cacheControl: untilExpiry(exp), etag: `"${hex}-gif"`, ranges: true },
      'this GIF (not made yet, or gone)',
    );
  });
}
