import type { Logger } from '@lumen/runtime';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { BadImageError } from './image-decode.ts';
import { type InferenceService, NotReadyError } from './inference.service.ts';
import { FaceProblemError, problemResponse } from './problem.ts';

export const DEFAULT_MIN_SCORE = 0.5;
export const DEFAULT_MAX_FACES = 20;
export const MAX_MAX_FACES = 100;

const detectOptionsSchema = z.object({
  minScore: z.coerce.number().min(0).max(1).default(DEFAULT_MIN_SCORE),
  maxFaces: z.coerce.number().int().min(1).max(MAX_MAX_FACES).default(DEFAULT_MAX_FACES),
});

export interface AppDeps {
  service: InferenceService;
  logger: Logger;
  maxBodyBytes: number;
}

/** The image of a request: the raw body, or the multipart field `image` (with the other form fields). */
async function readImage(req: Request): Promise<{ bytes: Uint8Array; fields: Record<string, string> }> {
  const type = req.headers.get('content-type') ?? '';
  if (/^multipart\/form-data/i.test(type)) {
    let form: FormData;
    try {
      form = await req.formData();
    } catch (err) {
      if (err instanceof FaceProblemError) throw err;
      throw new FaceProblemError('bad_request', `cannot read the multipart body: ${(err as Error).message}`);
    }
    const image = form.get('image');
    if (!(image instanceof Blob))
      throw new FaceProblemError('bad_request', 'the multipart body has no file field "image"');
    const fields: Record<string, string> = {};
    for (const [k, v] of form.entries()) if (typeof v === 'string') fields[k] = v;
    return { bytes: new Uint8Array(await image.arrayBuffer()), fields };
  }
  if (/^(application\/json|text\/)/i.test(type)) {
    throw new FaceProblemError(
      'unsupported_media_type',
      `send the image bytes (image/*) or multipart/form-data, not ${type}`,
    );
  }
  return { bytes: new Uint8Array(await req.arrayBuffer()), fields: {} };
}

function parseDetectOptions(query: Record<string, string>, fields: Record<string, string>) {
  const raw: Record<string, string> = {};
  for (const key of ['minScore', 'maxFaces'] as const) {
    const v = query[key] ?? fields[key];
    if (v !== undefined && v.trim() !== '') raw[key] = v;
  }
  const parsed = detectOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new FaceProblemError('bad_request', what);
  }
  return parsed.data;
}

/** The contract of docs/faces.md: /healthz, /v1/info, /v1/faces/detect, /v1/faces/embed. */
export function createApp(deps: AppDeps): Hono {
  const { service } = deps;
  const app = new Hono();

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const line = {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    };
    if (c.req.path === '/healthz') deps.logger.debug(line, 'request');
    else deps.logger.info(line, 'request');
  });

  const limit = bodyLimit({
    maxSize: deps.maxBodyBytes,
    onError: () => {
      // The rest of the body stays unread: the connection cannot carry another request.
      throw new FaceProblemError('too_large', `the body may not exceed ${deps.maxBodyBytes} bytes`, {
        Connection: 'close',
      });
    },
  });

  app.get('/healthz', (c) => {
    const status = service.status();
    if (status.state === 'ready')
      return c.json({ status: 'ok', model: service.info.model, loadMs: status.loadMs });
    if (status.state === 'failed') {
      return problemResponse('load_failed', `the face model failed to load: ${status.error}`, {
        'Retry-After': '60',
      });
    }
    return problemResponse('loading', 'the face model is loading', { 'Retry-After': '2' });
  });

  app.get('/v1/info', (c) => c.json(service.info));

  app.post('/v1/faces/detect', limit, async (c) => {
    const { bytes, fields } = await readImage(c.req.raw);
    const opts = parseDetectOptions(c.req.query(), fields);
    return c.json(await service.detect(bytes, opts));
  });

  app.post('/v1/faces/embed', limit, async (c) => {
    const { bytes } = await readImage(c.req.raw);
    return c.json(await service.embed(bytes));
  });

  app.notFound((c) => problemResponse('not_found', `no route ${c.req.method} ${c.req.path}`));

  app.onError((err) => {
    if (err instanceof FaceProblemError) return problemResponse(err.kind, err.detail, err.headers);
    if (err instanceof NotReadyError) {
      return problemResponse(err.reason, err.message, { 'Retry-After': String(err.retryAfterSeconds) });
    }
    if (err instanceof BadImageError) return problemResponse('bad_image', err.message);
    deps.logger.error({ err }, 'face inference failed');
    return problemResponse('internal', 'face inference failed');
  });

  return app;
}
