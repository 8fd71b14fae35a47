import fs from 'node:fs/promises';
import path from 'node:path';
import type { Bus, Subscription } from '@lumen/bus';
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
  /** False while this replica stands by (another holds the watcher lease). Default: always active. */
  active?: () => boolean;
}

export interface IngestRequestSubscription {
  /** Stop listening; logs how many uploads were ingested. */
  stop(): Promise<void>;
}

/** The uploads' counts are logged when the watcher stops (and once a day meanwhile). */
const UPLOAD_PROGRESS_INTERVAL_MS = 24 * 3_600_000;

/**
 * Ingest files the api just wrote (`media.uploaded`) at once, through the same pipeline as a scan,
 * instead of at the next quick scan. The event is only a hint: the file is checked as a scan
 * would (library known and Online, path inside the root, a media extension, a regular file) and
 * skipped otherwise; a file the database already holds unchanged is left alone. A lost event costs
 * nothing but time: the next scan finds the file anyway.
 */
export async function subscribeIngestRequests(deps: IngestRequestDeps): Promise<IngestRequestSubscription> {
  const logger = deps.logger.child({ component: 'ingest-request' });
  const progress = new ScanProgress('(uploads)', 'quick', logger, UPLOAD_PROGRESS_INTERVAL_MS);
  let stopped = false;

  const handle = async (data: unknown): Promise<void> => {
    if (stopped) return;
    // A standby replica leaves uploads to the one holding the lease (or to its next scan).
    if (deps.active && !deps.active()) return;
    const parsed = safeParsePayload(subjects.mediaUploaded, data);
    if (!parsed.ok) {
      logger.warn({ err: parsed.error.message }, 'ignoring a malformed media.uploaded event');
      return;
    }
    const event: MediaUploadedEvent = parsed.data;
    const library = await deps.libraries.findById(event.libraryId);
    if (!library) {
      logger.warn({ libraryId: event.libraryId }, 'media.uploaded names an unknown library');
      return;
    }
    if (library.status === 'stale') {
      logger.info(
        { library: library.name, path: event.relPath },
        'upload left for the next scan (library is Stale)',
      );
      return;
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
      return;
    }
    const { dir, fileName } = splitRelPath(relPath);
    if (mediaTypeFromExtension(fileName) === undefined) {
      logger.warn({ library: library.name, path: relPath }, 'media.uploaded names no media file');
      return;
    }
    const absPath = path.join(library.root, relPath);
    let stats: Awaited<ReturnType<typeof fs.stat>>;
    try {
      stats = await fs.stat(absPath);
    } catch (err) {
      logger.warn({ library: library.name, path: relPath, err: String(err) }, 'uploaded file is not there');
      return;
    }
    if (!stats.isFile()) return;
    const row = await deps.imageExif.findByPath(Number(library.id), relPath);
    const unchanged =
      row !== undefined &&
      Number(row.size_bytes) === stats.size &&
      storedMtimeMs(Number(row.mtime_ms)) === storedMtimeMs(stats.mtimeMs) &&
      row.thumb_status !== 'pending';
    if (unchanged) return;
    progress.counts.seen++;
    if (row) progress.counts.changed++;
    else progress.counts.new++;
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
    });
    logger.debug({ library: library.name, path: relPath }, 'uploaded file queued for ingest');
  };

  const subscription: Subscription = await deps.bus.subscribe(subjects.mediaUploaded, async (data) => {
    try {
      await handle(data);
    } catch (err) {
      logger.error({ err }, 'handling media.uploaded failed; the next scan picks the file up');
    }
  });

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      await subscription.unsubscribe().catch(() => {});
      progress.finish(true);
    },
  };
}
