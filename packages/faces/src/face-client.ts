import {
  type DetectOptions,
  type DetectResponse,
  detectResponseSchema,
  type EmbedResponse,
  embeddingFromBase64,
  embedResponseSchema,
  type FaceInfo,
  faceErrorBodySchema,
  faceInfoSchema,
} from '@lumen/core';
import type { z } from 'zod';

/**
 * The face service cannot answer now (refused, timed out, 5xx, 503 while loading): nothing about the
 * photo is known, so nothing is stored and it is tried again later. `retryAfterMs` from Retry-After.
 */
export class FaceServiceUnavailableError extends Error {
  override name = 'FaceServiceUnavailableError';
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The service looked at the image and refused it for good (400 bad_image, 413): a `failed` marker. */
export class FaceImageRejectedError extends Error {
  override name = 'FaceImageRejectedError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The service answered something that breaks the contract (bad JSON, wrong embedding length). */
export class FaceContractError extends Error {
  override name = 'FaceContractError';
}

export interface FaceClientOptions {
  baseUrl: string;
  /** Detect and embed calls (FACE_DETECT_TIMEOUT_SEC). */
  requestTimeoutMs: number;
  /** Health and info calls; default 5 000. */
  probeTimeoutMs?: number;
  /** Retry-After when a 503 has none; default 30 000. */
  defaultRetryAfterMs?: number;
  fetch?: typeof fetch;
}

/** A detected face with its embedding decoded. */
export interface ClientFace {
  bbox: { x1: number; y1: number; x2: number; y2: number };
  score: number;
  embedding: Float32Array;
}

export interface ClientDetection {
  model: string;
  imageWidth: number;
  imageHeight: number;
  faces: ClientFace[];
}

export interface ClientEmbedding {
  model: string;
  embedding: Float32Array;
  aligned: boolean;
}

/**
 * HTTP client of the face-inference contract (docs/faces.md). Every call has a timeout; a 503's
 * Retry-After is honoured by refusing to call before it has passed (the call fails fast with
 * FaceServiceUnavailableError instead).
 */
export class FaceClient {
  private readonly fetchImpl: typeof fetch;
  private readonly probeTimeoutMs: number;
  private readonly defaultRetryAfterMs: number;
  private infoCache: Promise<FaceInfo> | undefined;
  /** No call before this time (ms since epoch), set by a 503's Retry-After. */
  private notBefore = 0;

  constructor(private readonly opts: FaceClientOptions) {
    this.fetchImpl = opts.fetch ?? fetch;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 5_000;
    this.defaultRetryAfterMs = opts.defaultRetryAfterMs ?? 30_000;
  }

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  /** ms until calls are allowed again after a 503 (0 = now). */
  waitMs(now = Date.now()): number {
    return Math.max(0, this.notBefore - now);
  }

  /** True when `GET /healthz` answers 2xx within the probe timeout. Never throws. */
  async healthy(): Promise<boolean> {
    try {
      const res = await this.request('GET', '/healthz', undefined, this.probeTimeoutMs);
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** `GET /v1/info`, remembered once it answered. */
  info(): Promise<FaceInfo> {
    const pending =
      this.infoCache ??
      this.getJson('/v1/info', faceInfoSchema).catch((err: unknown) => {
        this.infoCache = undefined;
        throw err;
      });
    this.infoCache = pending;
    return pending;
  }

  async detect(
    image: Buffer,
    options: DetectOptions & { signal?: AbortSignal } = {},
  ): Promise<ClientDetection> {
    const query = new URLSearchParams();
    if (options.minScore !== undefined) query.set('minScore', String(options.minScore));
    if (options.maxFaces !== undefined) query.set('maxFaces', String(options.maxFaces));
    const path = `/v1/faces/detect${query.size > 0 ? `?${query}` : ''}`;
    const body: DetectResponse = await this.postImage(path, image, detectResponseSchema, options.signal);
    const info = await this.info().catch(() => undefined);
    const dim = info?.model === body.model ? info.embeddingDim : undefined;
    try {
      return {
        model: body.model,
        imageWidth: body.imageWidth,
        imageHeight: body.imageHeight,
        faces: body.faces.map((f) => ({
          bbox: f.bbox,
          score: f.score,
          embedding: embeddingFromBase64(f.embedding, dim),
        })),
      };
    } catch (err) {
      throw new FaceContractError(`detect: ${(err as Error).message}`);
    }
  }

  async embed(crop: Buffer, signal?: AbortSignal): Promise<ClientEmbedding> {
    const body: EmbedResponse = await this.postImage('/v1/faces/embed', crop, embedResponseSchema, signal);
    const model = body.model ?? (await this.info()).model;
    try {
      return {
        model,
        embedding: embeddingFromBase64(body.embedding, body.embeddingDim),
        aligned: body.aligned,
      };
    } catch (err) {
      throw new FaceContractError(`embed: ${(err as Error).message}`);
    }
  }

  private async getJson<T extends z.ZodType>(path: string, schema: T): Promise<z.output<T>> {
    const res = await this.request('GET', path, undefined, this.probeTimeoutMs);
    return this.parse(path, res, schema);
  }

  private async postImage<T extends z.ZodType>(
    path: string,
    image: Buffer,
    schema: T,
    signal: AbortSignal | undefined,
  ): Promise<z.output<T>> {
    const res = await this.request('POST', path, image, this.opts.requestTimeoutMs, signal);
    return this.parse(path, res, schema);
  }

  private async request(
    method: string,
    path: string,
    body: Buffer | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Response> {
    const wait = this.waitMs();
    if (wait > 0) {
      throw new FaceServiceUnavailableError(
        `face service asked to wait ${Math.ceil(wait / 1000)} s more`,
        wait,
      );
    }
    const url = `${this.opts.baseUrl.replace(/\/+$/, '')}${path}`;
    try {
      return await this.fetchImpl(url, {
        method,
        signal: signal
          ? AbortSignal.any([AbortSignal.timeout(timeoutMs), signal])
          : AbortSignal.timeout(timeoutMs),
        ...(body ? { body: new Uint8Array(body), headers: { 'content-type': 'image/jpeg' } } : {}),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new FaceServiceUnavailableError(
        timedOut
          ? `${method} ${path}: no answer within ${timeoutMs} ms`
          : `${method} ${path}: ${describe(err)}`,
        undefined,
        { cause: err },
      );
    }
  }

  private async parse<T extends z.ZodType>(path: string, res: Response, schema: T): Promise<z.output<T>> {
    let json: unknown;
    try {
      json = await res.json();
    } catch (err) {
      if (res.status >= 500) throw new FaceServiceUnavailableError(`${path}: HTTP ${res.status}`, undefined);
      throw new FaceContractError(
        `${path}: HTTP ${res.status} with a body that is not JSON (${describe(err)})`,
      );
    }
    if (res.status === 503) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after')) ?? this.defaultRetryAfterMs;
      this.notBefore = Date.now() + retryAfterMs;
      throw new FaceServiceUnavailableError(`${path}: 503 ${errorText(json)}`, retryAfterMs);
    }
    if (res.status >= 500)
      throw new FaceServiceUnavailableError(`${path}: HTTP ${res.status} ${errorText(json)}`, undefined);
    if (res.status === 413 || (res.status === 400 && errorCode(json) === 'bad_image')) {
      throw new FaceImageRejectedError(
        `${path}: ${res.status} ${errorText(json)}`,
        res.status,
        errorCode(json) ?? 'too_large',
      );
    }
    if (!res.ok) throw new FaceContractError(`${path}: HTTP ${res.status} ${errorText(json)}`);
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new FaceContractError(
        `${path}: answer breaks the contract: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
      );
    }
    return parsed.data;
  }
}

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed), 3600) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), 3600_000);
}

function errorCode(json: unknown): string | undefined {
  const parsed = faceErrorBodySchema.safeParse(json);
  return parsed.success ? parsed.data.error : undefined;
}

function errorText(json: unknown): string {
  const parsed = faceErrorBodySchema.safeParse(json);
  return parsed.success ? `${parsed.data.error}${parsed.data.message ? `: ${parsed.data.message}` : ''}` : '';
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}
