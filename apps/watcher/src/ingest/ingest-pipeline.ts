import fs from 'node:fs/promises';
import path from 'node:path';
import type { Bus } from '@lumen/bus';
import { type MediaIngestedEvent, PathError, parsePayload, subjects } from '@lumen/core';
import type {
  DirectoryEntry,
  ImageExifInput,
  ImageExifRepository,
  JobOutboxRow,
  OutboxJobInput,
  ThumbStatus,
} from '@lumen/db';
import {
  errorMessage,
  type OpenedLibraryFile,
  openLibraryFile,
  renderImageDerivatives,
  thumbPaths,
} from '@lumen/media';
import type { Logger } from '@lumen/runtime';
import type { IngestRequest, IngestSink, LibraryRef } from '../scan/library-scan.ts';
import type { WatcherMetrics } from '../watcher-metrics.ts';
import {
  failedRow,
  type IngestFileSettings,
  type IngestState,
  ingestFile,
  type PreviewSource,
  writeSentinel,
} from './ingest-file.ts';
import { IngestRowWriter, type WrittenRow } from './ingest-row-writer.ts';
import type { JobOutbox } from './job-outbox.ts';
import { WorkScheduler } from './work-scheduler.ts';

export interface IngestPipelineOptions extends IngestFileSettings {
  imageExif: ImageExifRepository;
  bus: Bus;
  /** Enqueues the `video.ingested` jobs stored with the rows (the transactional outbox). */
  outbox: JobOutbox;
  logger: Logger;
  metrics: WatcherMetrics;
  concurrency: number;
  /** Whole-file limit (thumbnail lane) and preview limit, ms. */
  fileTimeoutMs: number;
  /** Files waiting for the thumbnail lane before the scan waits. Default 4 x concurrency, at least 16. */
  maxQueued?: number;
  /**
   * Previews kept waiting in memory at most (default 10 000). More are left pending in the
   * database and queued by `topUpPreviews` once the queue runs low.
   */
  maxPreviewQueue?: number;
}

/** Rows read per query when the preview queue is topped up from the database. */
const PREVIEW_TOP_UP_PAGE_SIZE = 500;

interface RowMeta {
  request: IngestRequest;
  preview?: PreviewSource;
}

/**
 * The ingest side of the watcher: thumbnails-first work per file in the high lane (bounded
 * concurrency, per-file time limit), rows batched into upsert transactions, `media.ingested` per
 * new or changed file once its row is written (files with a thumbnail only: an unreadable file
 * has nothing for the transcoder or the face pass) and, for a video, a `video.ingested` job for
 * the transcoder (durable: stored in the outbox in the row's transaction, enqueued after the
 * commit, and waits in the queue while no transcoder runs), and previews in the low lane. The low lane
 * is bounded; previews that do not fit stay pending in the database and `topUpPreviews` (every
 * tick) feeds them in as the lane drains.
 */
function fileKey(request: IngestRequest): string {
  return `${request.library.id}\u0000${request.relPath}`;
}

export class IngestPipeline implements IngestSink {
  private readonly scheduler: WorkScheduler;
  private readonly writer: IngestRowWriter<RowMeta>;
  private readonly maxQueued: number;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  /** Files submitted whose row is not written yet. */
  private outstanding = 0;
  private outstandingWaiters: (() => void)[] = [];
  private readonly inFlight = new Set<string>();
  /** `IngestRequest.done` callbacks by file key (a second request for a file in flight joins it). */
  private readonly doneCallbacks = new Map<string, ((settled: boolean) => void)[]>();
  /** Files being ingested right now (the high lane's share of the running tasks). */
  private runningFiles = 0;
  private closed = false;
  /** Previews queued or running, by `previewKey`: never queued twice. */
  private readonly queuedPreviews = new Set<string>();
  /** Previews turned away by a full preview lane (they stay pending in the database). */
  private previewsDeferred = 0;
  /** Some pending preview may be in the database only: `topUpPreviews` has work. */
  private previewBacklog = false;
  /** Where the next top-up continues (an image_exif id; 0 = the beginning). */
  private previewCursor = 0;

  constructor(private readonly opts: IngestPipelineOptions) {
    this.logger = opts.logger;
    this.scheduler = new WorkScheduler({
      concurrency: opts.concurrency,
      ...(opts.maxPreviewQueue === undefined ? {} : { maxLowPending: opts.maxPreviewQueue }),
      onError: (err) => this.logger.error({ err }, 'ingest task failed'),
    });
    this.writer = new IngestRowWriter<RowMeta>({
      imageExif: opts.imageExif,
      logger: this.logger,
      onWritten: (rows, outbox) => this.afterWrite(rows, outbox),
    });
    this.maxQueued = opts.maxQueued ?? Math.max(16, 4 * opts.concurrency);
  }

  /** Queue sizes, for metrics and tests. */
  stats(): {
    thumbnailQueue: number;
    previewQueue: number;
    running: number;
    outstanding: number;
    previewsDeferred: number;
  } {
    return {
      thumbnailQueue: this.scheduler.pendingHigh,
      previewQueue: this.scheduler.pendingLow,
      running: this.scheduler.active,
      outstanding: this.outstanding,
      previewsDeferred: this.previewsDeferred,
    };
  }

  /**
   * Refill the preview lane from the database once it is at most half full, when previews were
   * turned away because it was full: rows with a thumbnail and a pending preview, a page at a time
   * behind a cursor that wraps, from the given (Online) libraries only. A sweep from the first row
   * to the last that turns nothing away clears the backlog. Returns how many previews it queued.
   */
  async topUpPreviews(libraries: readonly LibraryRef[]): Promise<number> {
    const cap = this.scheduler.maxLowPending;
    if (this.closed || !this.previewBacklog || this.scheduler.pendingLow > cap / 2) return 0;
    const online = new Map(libraries.map((library) => [library.id, library]));
    const deferredBefore = this.previewsDeferred;
    const fromStart = this.previewCursor === 0;
    let queued = 0;
    for (;;) {
      const room = cap - this.scheduler.pendingLow;
      if (room <= 0 || this.closed) return queued;
      const limit = Math.min(room, PREVIEW_TOP_UP_PAGE_SIZE);
      const page = await this.opts.imageExif.pendingPreviewsPage(this.previewCursor, limit);
      for (const row of page) {
        this.previewCursor = row.id;
        const library = online.get(row.library_id);
        if (!library || !row.content_hash) continue;
        if (this.queuedPreviews.has(previewKey(row.id, row.content_hash))) continue;
        const source: PreviewSource = {
          absPath: path.join(library.root, row.rel_path),
          contentHash: row.content_hash,
          // kind left out: the renderer types the file by its content
          orientation: row.orientation,
          durationSec: row.duration_sec,
        };
        if (this.queuePreview(row.id, library, row.rel_path, source)) queued++;
      }
      if (page.length < limit) {
        this.previewCursor = 0;
        if (fromStart && this.previewsDeferred === deferredBefore) this.previewBacklog = false;
        if (queued > 0) this.logger.info({ queued }, 'previews queued from the backlog');
        return queued;
      }
    }
  }

  submit(request: IngestRequest): void {
    if (this.closed) {
      request.done?.(false);
      return;
    }
    const key = fileKey(request);
    if (request.done) this.doneCallbacks.set(key, [...(this.doneCallbacks.get(key) ?? []), request.done]);
    if (this.inFlight.has(key)) return;
    this.inFlight.add(key);
    this.outstanding++;
    this.scheduler.runHigh(async () => {
      this.runningFiles++;
      try {
        await this.runFile(request);
      } finally {
        this.runningFiles--;
        this.inFlight.delete(key);
        // The last file of a burst: write now rather than after the batching delay.
        if (this.runningFiles === 0 && this.scheduler.pendingHigh === 0) void this.writer.flush();
      }
    });
  }

  waitForRoom(): Promise<void> {
    return this.scheduler.waitForRoom(this.maxQueued);
  }

  async whenIngested(): Promise<void> {
    while (this.outstanding > 0 && !this.closed) {
      await new Promise<void>((resolve) => this.outstandingWaiters.push(resolve));
    }
  }

  /** Resolves when nothing is queued or running, previews included (tests, benchmarks). */
  async whenIdle(): Promise<void> {
    await this.whenIngested();
    await this.scheduler.until(() => this.scheduler.isIdle());
    await this.writer.flush();
  }

  async reviewStoredRow(
    library: LibraryRef,
    row: DirectoryEntry,
    absPath: string,
  ): Promise<'reingest' | 'preview' | 'ok'> {
    if (row.thumb_status === 'pending') return 'reingest';
    if (row.thumb_status === 'unsupported' || row.thumb_status === 'failed') {
      if (!row.content_hash) return 'reingest';
      return (await exists(thumbPaths(this.opts.thumbnailsDir, row.content_hash).unsupported))
        ? 'ok'
        : 'reingest';
    }
    if (row.thumb_status === 'ready' && row.preview_status === 'pending' && row.content_hash) {
      // A preview the last run did not get to (a restart, or the preview lane was full).
      this.queuePreview(row.id, library, row.rel_path, {
        absPath,
        contentHash: row.content_hash,
        // kind left out: the renderer types the file by its content
        orientation: null,
        durationSec: null,
      });
      return 'preview';
    }
    return 'ok';
  }

  /**
   * Stop: take no more work, drop what waits, give running files up to `graceMs`, and write
   * the rows already made.
   */
  async stop(graceMs: number): Promise<void> {
    this.closed = true;
    this.abort.abort(new Error('watcher stopping'));
    const droppedFiles = this.scheduler.clearHigh();
    const droppedPreviews = this.scheduler.clearLow();
    this.queuedPreviews.clear();
    this.outstanding -= droppedFiles;
    this.notifyOutstanding();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.scheduler.until(() => this.scheduler.active === 0),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    await this.writer.flush();
    for (const key of [...this.doneCallbacks.keys()]) this.settleRequest(key, false);
    if (droppedFiles + droppedPreviews > 0) {
      this.logger.info(
        { droppedFiles, droppedPreviews },
        'ingest stopped; the next scan picks these up again',
      );
    }
  }

  private async runFile(request: IngestRequest): Promise<void> {
    const started = performance.now();
    const { library } = request;
    const state: IngestState = {};
    const timeout = AbortSignal.timeout(this.opts.fileTimeoutMs);
    const signal = AbortSignal.any([timeout, this.abort.signal]);
    let written: Promise<void> | undefined;
    try {
      const result = await raceSignal(ingestFile(request, this.opts, state, signal), signal);
      // Finished after stop() began: its steps may have been cut short (exiftool closed); the
      // next run ingests it again rather than store a half-read file.
      if (this.closed) return;
      if (!result) {
        this.logger.debug(
          { library: library.name, path: request.relPath },
          'file vanished before its ingest',
        );
        return;
      }
      const { row, preview, problem } = result;
      const outcome = row.thumb_status === 'ready' ? (request.isNew ? 'new' : 'changed') : row.thumb_status;
      if (row.thumb_status === 'ready') request.progress.counts.ingested++;
      else if (row.thumb_status === 'unsupported') request.progress.counts.unsupported++;
      else request.progress.counts.failed++;
      this.opts.metrics.filesIngested.inc({ library: library.name, result: String(outcome) });
      if (problem) {
        this.logger.warn({ library: library.name, path: request.absPath, problem }, 'ingest problem');
      }
      written = this.writer.add(
        row,
        { request, ...(preview ? { preview } : {}) },
        this.videoJob(request, row),
      );
    } catch (err) {
      if (this.abort.signal.aborted) return;
      const message = timeout.aborted
        ? `timed out after ${this.opts.fileTimeoutMs} ms`
        : `ingest failed: ${errorMessage(err)}`;
      request.progress.counts.failed++;
      this.opts.metrics.filesIngested.inc({ library: library.name, result: 'failed' });
      this.logger.warn({ library: library.name, path: request.absPath, err: message }, 'ingest failed');
      if (timeout.aborted && state.contentHash) {
        // Not retried on every scan: delete the sentinel to try again.
        await writeSentinel(this.opts.thumbnailsDir, state.contentHash).catch(() => {});
      }
      written = this.writer.add(failedRow(request, state, message), { request });
    } finally {
      this.opts.metrics.ingestFileSeconds.observe((performance.now() - started) / 1000);
      // Counted done once the row is on disk (the writer batches rows: 50 or 250 ms).
      const key = fileKey(request);
      if (written) {
        void written.then(() => {
          this.finishOne();
          this.settleRequest(key, true);
        });
      } else {
        this.finishOne();
        this.settleRequest(key, !this.closed);
      }
    }
  }

  private settleRequest(key: string, settled: boolean): void {
    const callbacks = this.doneCallbacks.get(key);
    if (!callbacks) return;
    this.doneCallbacks.delete(key);
    for (const done of callbacks) done(settled);
  }

  private finishOne(): void {
    this.outstanding = Math.max(0, this.outstanding - 1);
    this.notifyOutstanding();
  }

  private notifyOutstanding(): void {
    if (this.outstanding > 0 && !this.closed) return;
    const waiters = this.outstandingWaiters;
    this.outstandingWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * The `video.ingested` job of a written video (the transcoder must not miss it: stored in the
   * outbox with the row, then a work item kept until a transcoder takes it), or undefined.
   */
  private videoJob(request: IngestRequest, row: ImageExifInput): OutboxJobInput | undefined {
    if (row.media_type !== 'video' || !row.content_hash || row.thumb_status !== 'ready') return undefined;
    try {
      const payload = parsePayload(
        subjects.videoIngested,
        ingestedEvent(request, row, new Date().toISOString()),
      );
      return {
        subject: subjects.videoIngested,
        dedupId: `video.ingested:${payload.contentHash}`,
        payload,
      };
    } catch (err) {
      this.logger.error({ err, path: request.relPath }, 'building the video.ingested job failed');
      return undefined;
    }
  }

  private async afterWrite(rows: WrittenRow<RowMeta>[], outbox: JobOutboxRow[]): Promise<void> {
    const at = new Date().toISOString();
    const events: Promise<unknown>[] = [];
    // The jobs first: their rows are committed, and each is deleted from the outbox once enqueued.
    if (outbox.length > 0) events.push(this.opts.outbox.send(outbox));
    for (const { row, meta, id } of rows) {
      const { request } = meta;
      if (meta.preview) this.queuePreview(id, request.library, request.relPath, meta.preview);
      // Only files something could read: the transcoder and the face pass would just fail on the rest.
      if (!row.content_hash || row.thumb_status !== 'ready') continue;
      try {
        const event: MediaIngestedEvent = parsePayload(
          subjects.mediaIngested,
          ingestedEvent(request, row, at),
        );
        events.push(this.opts.bus.publish(subjects.mediaIngested, event));
      } catch (err) {
        this.logger.error({ err, path: request.relPath }, 'publishing media.ingested failed');
      }
    }
    for (const result of await Promise.allSettled(events)) {
      if (result.status === 'rejected') {
        this.logger.error({ err: result.reason }, 'publishing media.ingested failed');
      }
    }
  }

  /**
   * Queue a preview unless it is queued already. Returns false when the preview lane is full: the
   * row stays pending and `topUpPreviews` queues it later.
   */
  private queuePreview(id: number, library: LibraryRef, relPath: string, source: PreviewSource): boolean {
    if (this.closed) return false;
    const key = previewKey(id, source.contentHash);
    if (this.queuedPreviews.has(key)) return true;
    const accepted = this.scheduler.runLow(async () => {
      try {
        await this.runPreview(id, library, relPath, source);
      } finally {
        this.queuedPreviews.delete(key);
      }
    });
    if (accepted) {
      this.queuedPreviews.add(key);
      return true;
    }
    this.previewsDeferred++;
    this.previewBacklog = true;
    this.opts.metrics.previewsDeferred.inc();
    return false;
  }

  private async runPreview(
    id: number,
    library: LibraryRef,
    relPath: string,
    source: PreviewSource,
  ): Promise<void> {
    if (this.closed) return;
    let status: ThumbStatus;
    try {
      // Opened under the root and checked; the decoders read the descriptor (/proc/<pid>/fd/<fd>).
      const opened: OpenedLibraryFile = await openLibraryFile(library.root, relPath);
      if (!opened.stats.isFile()) {
        await opened.close();
        throw new Error(`${relPath} is not a regular file`);
      }
      const result = await raceSignal(
        renderImageDerivatives({
          absPath: opened.procPath,
          fileName: relPath,
          contentHash: source.contentHash,
          thumbnailsDir: this.opts.thumbnailsDir,
          targets: ['preview'],
          ...(source.kind ? { kind: source.kind } : {}),
          ...(source.kind === 'raw' && source.orientation !== null
            ? { orientation: source.orientation }
            : {}),
          durationSec: source.durationSec,
          thumbSize: this.opts.thumbSize,
          previewLongSide: this.opts.previewSize,
          timeoutMs: this.opts.stepTimeoutMs,
          decodeQueueTimeoutMs: this.opts.decodeQueueTimeoutMs ?? this.opts.stepTimeoutMs,
          exiftool: this.opts.exiftool,
          // Closed when the render is over, not when the race gives up on it: its fd number must
          // not be reused under a render still running.
        }).finally(() => opened.close()),
        AbortSignal.any([AbortSignal.timeout(this.opts.fileTimeoutMs), this.abort.signal]),
      );
      status = result.status;
      if (result.status !== 'ready') {
        const reason = result.status === 'unsupported' ? result.reason : result.error;
        this.logger.warn({ library: library.name, path: source.absPath, reason }, 'preview failed');
      }
    } catch (err) {
      if (this.abort.signal.aborted) return;
      status = 'failed';
      this.logger.warn(
        {
          library: library.name,
          path: source.absPath,
          err: errorMessage(err),
          ...(err instanceof PathError ? { code: err.code } : {}),
        },
        'preview failed',
      );
    }
    this.opts.metrics.previews.inc({ result: status });
    try {
      await this.opts.imageExif.setThumbStatus(id, 'ready', status);
    } catch (err) {
      this.logger.error({ err, path: relPath }, 'recording the preview status failed');
    }
  }
}

/** The `media.ingested` payload of a written row (also the `video.ingested` job's, for a video). */
function ingestedEvent(request: IngestRequest, row: ImageExifInput, at: string): unknown {
  return {
    libraryId: request.library.id,
    library: request.library.name,
    relPath: request.relPath,
    contentHash: row.content_hash,
    mediaType: row.media_type,
    ...(row.mime_type ? { mimeType: row.mime_type } : {}),
    sizeBytes: row.size_bytes,
    isNew: request.isNew,
    durationSec: row.duration_sec ?? null,
    at,
  };
}

/** A queued preview: the row and the content it is for (a file rewritten meanwhile gets another). */
function previewKey(id: number, contentHash: string): string {
  return `${id}\u0000${contentHash}`;
}

/** `work`, or a rejection with the signal's reason once it aborts (the work itself is not stopped). */
function raceSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  work.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
