import os from 'node:os';
import {
  type DerivativeTarget,
  type RenderDerivativesResult,
  renderImageDerivatives,
  type SourceKind,
} from '@lumen/media';
import type { Counter } from 'prom-client';

/** One derivative to make on demand. */
export interface RenderRequest {
  /** The source: a checked descriptor's /proc/<pid>/fd path (see ImagesService.open). */
  absPath: string;
  /** The file's library name, for typing by extension. */
  fileName?: string;
  contentHash: string;
  target: DerivativeTarget;
  /** Decode path when known (from the row's media type); detected from the file otherwise. */
  kind?: SourceKind;
  /** The row's orientation, applied to a RAW's embedded preview. */
  orientation?: number | null;
  durationSec?: number | null;
}

export interface DerivativeRendererOptions {
  thumbnailsDir: string;
  thumbSize: number;
  previewSize: number;
  /** Limit of each decode step, ms. */
  timeoutMs: number;
  /** Longest wait for room in the decode memory budget, ms; past it the render is `failed` + `busy`. */
  decodeQueueTimeoutMs?: number;
  /** Renders running at once; more wait in line. Default: the number of cores. */
  concurrency?: number;
  /** Counts finished renders by target and result (`ready`, `unsupported`, `failed`). */
  rendered?: Counter<'target' | 'result'>;
}

/**
 * Makes thumbnails and previews when a client asks before the watcher made them, with the same
 * @lumen/media call (and so the same content-addressed paths and sentinel) as the watcher.
 *
 * Requests for the same content hash and target share one render: the second caller waits for the
 * first one's result. At most `concurrency` renders run at once, so a client scrolling through a
 * fresh library cannot start hundreds of decodes. `renderImageDerivatives` never throws, writes
 * atomically (temporary file + rename), and a file the watcher made meanwhile is just reused.
 */
export class DerivativeRenderer {
  readonly #inFlight = new Map<string, Promise<RenderDerivativesResult>>();
  readonly #waiting: (() => void)[] = [];
  readonly #concurrency: number;
  #running = 0;

  constructor(private readonly options: DerivativeRendererOptions) {
    this.#concurrency = Math.max(1, options.concurrency ?? os.availableParallelism());
  }

  render(request: RenderRequest): Promise<RenderDerivativesResult> {
    const key = `${request.contentHash}\u0000${request.target}`;
    const existing = this.#inFlight.get(key);
    if (existing) return existing;
    const work = this.#limited(() => this.#renderOnce(request)).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, work);
    return work;
  }

  async #renderOnce(request: RenderRequest): Promise<RenderDerivativesResult> {
    const result = await renderImageDerivatives({
      absPath: request.absPath,
      ...(request.fileName ? { fileName: request.fileName } : {}),
      contentHash: request.contentHash,
      thumbnailsDir: this.options.thumbnailsDir,
      targets: [request.target],
      ...(request.kind ? { kind: request.kind } : {}),
      ...(request.kind === 'raw' && request.orientation != null ? { orientation: request.orientation } : {}),
      ...(request.durationSec != null ? { durationSec: request.durationSec } : {}),
      thumbSize: this.options.thumbSize,
      previewLongSide: this.options.previewSize,
      timeoutMs: this.options.timeoutMs,
      ...(this.options.decodeQueueTimeoutMs !== undefined
        ? { decodeQueueTimeoutMs: this.options.decodeQueueTimeoutMs }
        : {}),
    });
    this.options.rendered?.inc({ target: request.target, result: result.status });
    return result;
  }

  async #limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
