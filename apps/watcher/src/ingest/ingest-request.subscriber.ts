import fs from 'node:fs/promises';
import path from 'node:path';
import type { Bus, Consumer } from '@lumen/bus';
import {
  type MediaUploadedEvent,
  mediaTypeFromExtension,
  PathError,
  resolveInsideRoot,
  safeParsePayload,
  splitRelPath,
  storedMtimeMs,
  subjects,
} from '@lumen/core';
import type { ImageExifRepository, LibrariesRepository } from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import type { IngestSink } from '../scan/library-scan.ts';
import { ScanProgress } from '../scan/scan-progress.ts';

export interface IngestRequestDeps {
  bus: Bus;
  /** The ingest pipeline: the same work as a scan, thumbnails first, then `media.ingested`. */
  pipeline: Pick<IngestSink, 'submit'>;
  libraries: LibrariesRepository;
  imageExif: ImageExifRepository;
  logger: Logger;
  /** An upload not acknowledged (nor kept alive) for this long goes to another replica. Default 30 000. */
  ackWaitMs?: number;
  /**
   * How long stop() waits for uploads being ingested, ms. Default 0: the watcher's stop lets the
   * pipeline finish or drop them, and each is then acknowledged or handed back.
   */
  stopGraceMs?: number;
}

export interface IngestRequestSubscription {
  /** Stop taking uploads; logs how many were ingested. */
  stop(): Promise<void>;
}

/** The uploads' counts are logged when the watcher stops (and once a day meanwhile). */
const UPLOAD_PROGRESS_INTERVAL_MS = 24 * 3_600_000;

/**
 * Ingest files the api just wrote (`media.uploaded` jobs) at once, through the same pipeline as a
 * scan, instead of at the next quick scan. Each upload is a work item taken by exactly one watcher
 * replica (any replica, the one holding the lease or one standing by: ingest of one file needs no
 * lease), acknowledged once the file's row is written, handed back when the watcher stops first;
 * an upload sent while no watcher runs waits in the queue. The job is only a hint: the file is
 * checked as a scan would (library known and Online, path inside the root, a media extension, a
 * regular file) and skipped (acknowledged) otherwise; a file the database already holds unchanged
 * is left alone. A lost upload costs nothing but time: the next scan finds the file anyway.
 */
export async function subscribeIngestRequests(deps: IngestRequestDeps): Promise<IngestRequestSubscription> {
  const logger = deps.logger.child({ component: 'ingest-request' });
  const progress = new ScanProgress('(uploads)', 'quick', logger, UPLOAD_PROGRESS_INTERVAL_MS);
  let stopped = false;

  /** Resolves true when the upload is done with (ingested or skipped), false when dropped unfinished. */
  const handle = async (data: unknown): Promise<boolean> => {
    const parsed = safeParsePayload(subjects.mediaUploaded, data);
    if (!parsed.ok) {
      logger.warn({ err: parsed.error.message }, 'ignoring a malformed media.uploaded job');
      return true;
    }
    const event: MediaUploadedEvent = parsed.data;
    const library = await deps.libraries.findById(event.libraryId);
    if (!library) {
      logger.warn({ libraryId: event.libraryId }, 'media.uploaded names an unknown library');
      return true;
    }
    if (library.status === 'stale') {
      logger.info(
        { library: library.name, path: event.relPath },
        'upload left for the next scan (library is Stale)',
      );
      return true;
    }
    let relPath: string;
    try {
      relPath = (await resolveInsideRoot(library.root, event.relPath)).relPath;
    } catch (err) {
      if (!(err instanceof PathError)) throw err;
      logger.warn(
        { library: library.name, path: event.relPath, code: err.code },
        'media.uploaded path refused',
      );
      return true;
    }
    const { dir, fileName } = splitRelPath(relPath);
    if (mediaTypeFromExtension(fileName) === undefined) {
      logger.warn({ library: library.name, path: relPath }, 'media.uploaded names no media file');
      return true;
    }
    const absPath = path.join(library.root, relPath);
    let stats: Awaited<ReturnType<typeof fs.stat>>;
    try {
      stats = await fs.stat(absPath);
    } catch (err) {
      logger.warn({ library: library.name, path: relPath, err: String(err) }, 'uploaded file is not there');
      return true;
    }
    if (!stats.isFile()) return true;
    const row = await deps.imageExif.findByPath(Number(library.id), relPath);
    const unchanged =
      row !== undefined &&
      Number(row.size_bytes) === stats.size &&
      storedMtimeMs(Number(row.mtime_ms)) === storedMtimeMs(stats.mtimeMs) &&
      row.thumb_status !== 'pending';
    if (unchanged) return true;
    progress.counts.seen++;
    if (row) progress.counts.changed++;
    else progress.counts.new++;
    const settled = new Promise<boolean>((resolve) => {
      deps.pipeline.submit({
        library: { id: Number(library.id), name: library.name, root: library.root },
        relPath,
        dir,
        fileName,
        absPath,
        size: stats.size,
        mtimeMs: stats.mtimeMs,
        isNew: row === undefined,
        progress,
        done: resolve,
      });
    });
    logger.debug({ library: library.name, path: relPath }, 'uploaded file queued for ingest');
    return settled;
  };

  const ackWaitMs = deps.ackWaitMs ?? 30_000;
  const consumer: Consumer = await deps.bus.consume(
    subjects.mediaUploaded,
    async (job) => {
      // Waiting behind a scan's files may take longer than the ack wait: keep the job alive.
      const alive = setInterval(() => void job.working().catch(() => {}), Math.max(100, ackWaitMs / 3));
      try {
        if (await handle(job.data)) await job.ack();
        else await job.nak(); // the watcher is stopping: another replica takes it
      } finally {
        clearInterval(alive);
      }
    },
    {
      // A burst of uploads: each job mostly waits for the pipeline (its own concurrency, rows
      // written in batches), so enough of them to keep it busy.
      concurrency: 16,
      ackWaitMs,
      stopGraceMs: deps.stopGraceMs ?? 0,
      backoffMs: [1_000, 5_000, 30_000],
    },
  );

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      await consumer.stop().catch(() => {});
      progress.finish(true);
    },
  };
}
