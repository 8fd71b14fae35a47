import type { Bus, Subscription } from '@lumen/bus';
import {
  eventSubjects,
  isExcludedDir,
  type MediaIngestedEvent,
  normalizeExcludedDirs,
  safeParsePayload,
} from '@lumen/core';
import type { FaceBacklogItem, FacesRepository } from '@lumen/db';
import { type FaceClient, type FaceDetector, FaceServiceUnavailableError } from '@lumen/faces';
import type { Logger } from '@lumen/runtime';

export interface FacePassDeps {
  client: FaceClient;
  detector: FaceDetector;
  faces: FacesRepository;
  bus: Bus;
  logger: Logger;
  /** FACE_DETECT_CONCURRENCY. */
  concurrency: number;
  /** FACE_BACKLOG_MAX_PER_TICK. */
  backlogPerTick: number;
  /** EXCLUDED_DIRS. */
  excludedDirs: readonly string[];
  /** False while this watcher replica stands by (another holds the lease). Default: always active. */
  active?: () => boolean;
  /** The similarity search's code blocks, built after a drain stored faces (FaceCodeIndex). */
  searchIndex?: { refreshAll(): Promise<number> };
}

export interface FacePassSummary {
  detected: number;
  noFaces: number;
  failed: number;
  /** Left for later: the service could not answer. */
  deferred: number;
}

/**
 * The watcher's face stage (SPEC 6): photos go to the face service when they are ingested
 * (`media.ingested`) and, on every tick, from the backlog (photos whose content has no face row:
 * missed events, a restart, the service down), FACE_BACKLOG_MAX_PER_TICK at most,
 * FACE_DETECT_CONCURRENCY at a time. The database is the queue: nothing is written until the
 * service answered, so a service that is down loses nothing; while it is down (refused, timeouts,
 * 503 + Retry-After) no photo is sent, a tick only probes /healthz, and the backlog resumes when it
 * answers. Videos and EXCLUDED_DIRS never go out.
 */
export class FacePass {
  readonly name = 'faces';
  private readonly logger: Logger;
  private readonly excluded: string[];
  private readonly inFlight = new Set<string>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private down = false;
  private subscription: Subscription | undefined;
  private stopped = false;
  /** Aborts the calls in flight when the watcher stops. */
  private readonly stopping = new AbortController();
  private eventWork = new Set<Promise<void>>();
  private last: FacePassSummary | undefined;
  /** Faces were stored since the search blocks were last built. */
  private facesStored = false;

  constructor(private readonly deps: FacePassDeps) {
    this.logger = deps.logger.child({ component: 'faces' });
    this.excluded = normalizeExcludedDirs(deps.excludedDirs);
  }

  async start(): Promise<void> {
    this.subscription = await this.deps.bus.subscribe(eventSubjects.mediaIngested, (data) => {
      if (this.stopped || (this.deps.active && !this.deps.active())) return;
      const work = this.onIngested(data).catch((err: unknown) =>
        this.logger.error({ err }, 'face detection of an ingested photo failed'),
      );
      this.eventWork.add(work);
      void work.finally(() => this.eventWork.delete(work));
    });
    this.logger.info({ service: this.deps.client.baseUrl }, 'faces on');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort(new Error('watcher stopping'));
    await this.subscription?.unsubscribe();
    await Promise.allSettled([...this.eventWork]);
  }

  lastSummary(): FacePassSummary | undefined {
    return this.last;
  }

  /** Whether the last call found the service unable to answer. */
  isDown(): boolean {
    return this.down;
  }

  private excludedPath(relPath: string): boolean {
    const slash = relPath.lastIndexOf('/');
    return isExcludedDir(slash === -1 ? '' : relPath.slice(0, slash), this.excluded);
  }

  private async onIngested(data: unknown): Promise<void> {
    const parsed = safeParsePayload('media.ingested', data);
    if (!parsed.ok) return;
    const event: MediaIngestedEvent = parsed.data;
    if (event.mediaType === 'video' || this.excludedPath(event.relPath)) return;
    if (this.down || this.deps.client.waitMs() > 0) return; // the backlog takes it when the service is back
    const item = await this.deps.faces.locationOf(event.libraryId, event.relPath);
    if (!item || item.contentHash !== event.contentHash) return;
    await this.detectOne(item, this.stopping.signal, undefined);
  }

  /** One tick's drain of the backlog. */
  async run(ctx: { signal: AbortSignal }): Promise<void> {
    const summary: FacePassSummary = { detected: 0, noFaces: 0, failed: 0, deferred: 0 };
    this.last = summary;
    if (this.deps.client.waitMs() > 0) return;
    if (this.down) {
      if (!(await this.deps.client.healthy())) {
        this.logger.debug('face service still down; backlog waits');
        return;
      }
      this.down = false;
      this.logger.info('face service answers again; the backlog resumes');
    }
    const items = await this.deps.faces.backlog(this.deps.backlogPerTick, this.excluded);
    if (items.length > 0) {
      const started = Date.now();
      await Promise.all(items.map((item) => this.detectOne(item, ctx.signal, summary)));
      summary.deferred = items.length - summary.detected - summary.noFaces - summary.failed;
      this.logger.info({ ...summary, ms: Date.now() - started }, 'face backlog drained');
    }
    await this.refreshSearchIndex();
  }

  /** Build the similarity search's blocks once faces were stored (by the backlog or by events). */
  private async refreshSearchIndex(): Promise<void> {
    if (this.facesStored && this.deps.searchIndex) {
      this.facesStored = false;
      const indexStarted = Date.now();
      try {
        const blocks = await this.deps.searchIndex.refreshAll();
        this.logger.info({ blocks, ms: Date.now() - indexStarted }, 'face search blocks built');
      } catch (err) {
        this.logger.warn({ err }, 'face search blocks not built; the next search builds them');
      }
    }
  }

  private async detectOne(
    item: FaceBacklogItem,
    signal: AbortSignal,
    summary: FacePassSummary | undefined,
  ): Promise<void> {
    if (this.inFlight.has(item.contentHash)) return;
    this.inFlight.add(item.contentHash);
    try {
      await this.acquire();
      try {
        if (signal.aborted || this.stopped || this.down || this.deps.client.waitMs() > 0) return;
        const outcome = await this.deps.detector.detect(item, {
          signal: AbortSignal.any([signal, this.stopping.signal]),
        });
        if (outcome.kind === 'detected') this.facesStored = true;
        if (!summary) return;
        if (outcome.kind === 'detected') summary.detected++;
        else if (outcome.kind === 'no_faces') summary.noFaces++;
        else if (outcome.kind === 'failed') summary.failed++;
      } finally {
        this.release();
      }
    } catch (err) {
      if (this.stopped || signal.aborted) return;
      if (err instanceof FaceServiceUnavailableError) {
        if (!this.down)
          this.logger.warn(
            { error: err.message, retryAfterMs: err.retryAfterMs },
            'face service unavailable; photos wait in the backlog',
          );
        this.down = err.retryAfterMs === undefined;
        return;
      }
      this.logger.error({ err, relPath: item.relPath }, 'face detection failed; retried on a later tick');
    } finally {
      this.inFlight.delete(item.contentHash);
    }
  }

  private async acquire(): Promise<void> {
    if (this.running < this.deps.concurrency) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
