import type { Logger } from '@lumen/runtime';
import type { DetectOptions, FaceModel, ModelInfo } from './face-model.ts';
import { decodeUpright } from './image-decode.ts';

/** The model is not ready (loading, or it failed to load); `retryAfterSeconds` says when to come back. */
export class NotReadyError extends Error {
  constructor(
    readonly reason: 'loading' | 'load_failed' | 'busy',
    readonly retryAfterSeconds: number,
    message: string,
  ) {
    super(message);
    this.name = 'NotReadyError';
  }
}

export interface DetectAnswer {
  model: string;
  imageWidth: number;
  imageHeight: number;
  faces: {
    bbox: { x1: number; y1: number; x2: number; y2: number };
    score: number;
    landmarks?: [number, number][];
    embedding: string;
  }[];
}

export interface EmbedAnswer {
  model: string;
  embedding: string;
  embeddingDim: number;
  aligned: boolean;
}

export interface InferenceOptions {
  maxSide: number;
  /** How long a request may wait for its turn at the model before it gets `busy`. */
  queueTimeoutMs: number;
  /** At most this many requests wait; more get `busy` at once. */
  maxQueue: number;
}

/** Base64 of the little-endian float32 values (the contract's embedding encoding). */
export function encodeEmbedding(v: Float32Array): string {
  const out = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) out.writeFloatLE(v[i] as number, i * 4);
  return out.toString('base64');
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Detection and embedding over one FaceModel: decodes with sharp, runs one call
 * at a time (the model is single-threaded and keeps state between calls), and
 * says `loading` until the model is in memory.
 */
export class InferenceService {
  private state: 'loading' | 'ready' | 'failed' = 'loading';
  private loadError: Error | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private readonly loadStartedAt = Date.now();
  private loadMs = 0;

  constructor(
    private readonly model: FaceModel,
    private readonly opts: InferenceOptions,
    private readonly logger: Logger,
  ) {}

  get info(): ModelInfo {
    return this.model.info;
  }

  /** Load the model (after `hold`, a test seam that keeps the service `loading`). Never rejects: see `status`. */
  async load(hold?: Promise<void>): Promise<void> {
    try {
      await hold;
      await this.model.load();
      this.loadMs = Date.now() - this.loadStartedAt;
      this.state = 'ready';
      this.logger.info({ model: this.model.info.model, loadMs: this.loadMs }, 'face model loaded');
    } catch (err) {
      this.state = 'failed';
      this.loadError = err as Error;
      this.logger.error({ err }, 'face model failed to load');
    }
  }

  status(): { state: 'loading' | 'ready' | 'failed'; error?: string; loadMs?: number } {
    if (this.state === 'failed') return { state: 'failed', error: this.loadError?.message ?? 'unknown' };
    if (this.state === 'ready') return { state: 'ready', loadMs: this.loadMs };
    return { state: 'loading' };
  }

  async detect(bytes: Uint8Array, opts: DetectOptions): Promise<DetectAnswer> {
    this.assertReady();
    const decoded = await decodeUpright(bytes, { maxSide: this.opts.maxSide, timeoutSeconds: 30 });
    const started = performance.now();
    const faces = await this.exclusive(() => this.model.detect(decoded.image, opts));
    const s = decoded.scale;
    const answer: DetectAnswer = {
      model: this.model.info.model,
      imageWidth: decoded.width,
      imageHeight: decoded.height,
      faces: faces.map((f) => ({
        bbox: {
          x1: round(f.box.x1 / s),
          y1: round(f.box.y1 / s),
          x2: round(f.box.x2 / s),
          y2: round(f.box.y2 / s),
        },
        score: round(f.score, 4),
        ...(f.landmarks
          ? { landmarks: f.landmarks.map(([x, y]) => [round(x / s), round(y / s)] as [number, number]) }
          : {}),
        embedding: encodeEmbedding(f.embedding),
      })),
    };
    this.logger.debug(
      {
        width: decoded.width,
        height: decoded.height,
        faces: faces.length,
        ms: Math.round(performance.now() - started),
      },
      'detected',
    );
    return answer;
  }

  async embed(bytes: Uint8Array): Promise<EmbedAnswer> {
    this.assertReady();
    const decoded = await decodeUpright(bytes, { maxSide: this.opts.maxSide, timeoutSeconds: 30 });
    const { embedding, aligned } = await this.exclusive(() => this.model.embed(decoded.image));
    return {
      model: this.model.info.model,
      embedding: encodeEmbedding(embedding),
      embeddingDim: embedding.length,
      aligned,
    };
  }

  private assertReady(): void {
    if (this.state === 'loading') throw new NotReadyError('loading', 2, 'the face model is loading');
    if (this.state === 'failed') {
      throw new NotReadyError('load_failed', 60, `the face model failed to load: ${this.loadError?.message}`);
    }
  }

  /**
   * Run `fn` after every call queued before it; give up with `busy` if the turn does not come in
   * time. The model computes synchronously, so while it runs no timer fires: the wait is also
   * checked when the turn comes.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const { queueTimeoutMs, maxQueue } = this.opts;
    const busy = (detail: string, retryAfter: number) => new NotReadyError('busy', retryAfter, detail);
    if (this.waiting >= maxQueue) {
      return Promise.reject(busy(`${this.waiting} requests are already waiting for the model`, 5));
    }
    this.waiting++;
    const enqueued = Date.now();
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    // Yield first: the model blocks the event loop while it runs, so requests that arrived meanwhile
    // are read (and queued, and timed) only if the loop gets a turn between two calls.
    const run = this.tail
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        clearTimeout(timer);
        if (timedOut) return undefined;
        this.waiting--;
        const waited = Date.now() - enqueued;
        if (waited > queueTimeoutMs)
          throw busy(`waited ${waited} ms for the model`, Math.ceil(queueTimeoutMs / 1000));
        return fn();
      });
    this.tail = run.catch(() => undefined);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        this.waiting--;
        reject(busy(`waited ${queueTimeoutMs} ms for the model`, Math.ceil(queueTimeoutMs / 1000)));
      }, queueTimeoutMs);
      timer.unref();
    });
    return Promise.race([run as Promise<T>, timeout]);
  }
}
