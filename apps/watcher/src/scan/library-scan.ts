import fs from 'node:fs/promises';
import path from 'node:path';
import {
  diffDirectory,
  directoryChangedSince,
  isUploadLeftover,
  joinRelPath,
  type ListedFile,
  mediaTypeFromExtension,
  type PathErrorCode,
  servableRelPath,
} from '@lumen/core';
import type { DirectoryEntry, ImageExifRepository, MissingFilesRepository } from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import type { WatcherMetrics } from '../watcher-metrics.ts';
import { type WalkedDirectory, walkDirectories } from './directory-walk.ts';
import { type ScanKind, ScanProgress, type ScanSummary } from './scan-progress.ts';

/** Longest stretch the scan loop keeps the event loop before it lets other work run. */
const YIELD_EVERY_MS = 10;

export interface LibraryRef {
  id: number;
  name: string;
  root: string;
}

/** One file the scan wants (re)ingested. */
export interface IngestRequest {
  library: LibraryRef;
  /** Posix, relative to the root; `dir` is '' for the root. */
  relPath: string;
  dir: string;
  fileName: string;
  absPath: string;
  size: number;
  mtimeMs: number;
  /** No row existed (a `media.ingested` event with isNew true). */
  isNew: boolean;
  progress: ScanProgress;
  /**
   * Called once when the pipeline is done with the file: true when its row is written (or there was
   * nothing to write: the file vanished), false when it was dropped unfinished (the watcher is
   * stopping). An upload job is acknowledged on true and handed back on false.
   */
  done?: (settled: boolean) => void;
}

/** Where the scan sends work: the ingest pipeline. */
export interface IngestSink {
  submit(request: IngestRequest): void;
  /** Resolves when the pipeline can take more (the scan's backpressure). */
  waitForRoom(): Promise<void>;
  /** Resolves when every submitted file has its row written (thumbnail lane done). */
  whenIngested(): Promise<void>;
  /**
   * Full scans only: a stored, unchanged row whose earlier outcome may need redoing. Returns
   * 'reingest' (e.g. its `.unsupported` sentinel was deleted to force a retry), 'preview' when
   * its preview is still to be made (the pipeline queued it), or 'ok'.
   */
  reviewStoredRow(
    library: LibraryRef,
    row: DirectoryEntry,
    absPath: string,
  ): Promise<'reingest' | 'preview' | 'ok'>;
}

export interface ScanLibraryOptions {
  library: LibraryRef;
  kind: ScanKind;
  /** Quick scans compare only directories modified after this (epoch ms). */
  changedSinceMs: number;
  imageExif: ImageExifRepository;
  /** Rows marked missing: a folder holding some is always compared, and files listed again are revived. */
  missingFiles: MissingFilesRepository;
  sink: IngestSink;
  logger: Logger;
  metrics: WatcherMetrics;
  signal?: AbortSignal;
  /** Called after each folder is compared (tests change the world in the middle of a scan). */
  onDirectory?: () => Promise<void> | void;
  progressIntervalMs?: number;
  /** Passed to the walk (dead-mount detection). */
  walkStallTimeoutMs?: number;
  /** The clock that ages upload leftovers (default Date.now; tests move it). */
  now?: () => number;
}

/**
 * Scan one library: walk it in a worker thread, compare each directory's media files with the
 * database in one query (quick scans: only directories touched since `changedSinceMs`, those the
 * database holds no row for, e.g. a folder moved in with its old mtimes, and those holding rows
 * marked missing, e.g. a nested mount that came back), revive missing rows whose file is listed
 * again, and send new and changed files to ingest. Waits until those files are ingested. Never
 * deletes or marks rows.
 */
export async function scanLibrary(opts: ScanLibraryOptions): Promise<ScanSummary> {
  const { library, kind, imageExif, sink, metrics } = opts;
  const logger = opts.logger;
  const progress = new ScanProgress(library.name, kind, logger, opts.progressIntervalMs);
  const counts = progress.counts;
  let completed = false;
  let summary: ScanSummary | undefined;
  /** Quick scans: the folders the database holds rows in, loaded when first needed. */
  let knownDirs: Set<string> | undefined;
  /** Folders holding rows marked missing (few): compared on every scan, so a file that is back is revived. */
  const missingDirs = new Set(await opts.missingFiles.dirs(library.id));
  try {
    const walk = walkDirectories(library.root, {
      signal: opts.signal,
      ...(opts.walkStallTimeoutMs === undefined ? {} : { stallTimeoutMs: opts.walkStallTimeoutMs }),
    });
    let lastYield = performance.now();
    for await (const event of walk) {
      // SQLite answers synchronously and the walk's messages are often already waiting, so this loop
      // could run for seconds without giving timers and sockets a turn: the API may share this process.
      if (performance.now() - lastYield > YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
      if (event.type === 'error') {
        counts.walkErrors++;
        logger.warn(
          { library: library.name, dir: event.dir, code: event.code, err: event.message },
          'cannot list directory',
        );
        continue;
      }
      counts.dirs++;
      if (event.uploadTemps.length > 0) await removeUploadLeftovers(opts, event);
      const servable = skipUnservable(opts, progress, event);
      counts.seen += servable.length;
      metrics.filesSeen.inc({ library: library.name, kind }, servable.length);
      const media = servable.filter((f) => mediaTypeFromExtension(f.name) !== undefined);
      counts.media += media.length;
      if (media.length === 0) continue;
      const holdsMissing = missingDirs.has(event.dir);
      if (
        kind === 'quick' &&
        !holdsMissing &&
        !directoryChangedSince(event.dirMtimeMs, event.files, opts.changedSinceMs)
      ) {
        // A folder moved in (`mv recent/2024-trip archive/`) keeps its own mtime and its files'
        // mtimes: only its parent's changes. A folder with media the database has no row for is
        // compared anyway, so a move is ingested now, not at the next full scan (meanwhile the
        // missing-file scan would delete the old rows and the GC their tags). The known folders
        // are read once per scan, when first needed: one pass over the (library_id, dir) index
        // costs less than a query per folder.
        knownDirs ??= await loadKnownDirs(imageExif, library.id);
        if (knownDirs.has(event.dir)) continue;
        counts.unknownDirs++;
      }
      counts.comparedDirs++;
      if (holdsMissing) counts.revived += await reviveListed(opts, event.dir, media);
      await compareDirectory(opts, progress, event.dir, media, imageExif);
      await opts.onDirectory?.();
      await sink.waitForRoom();
    }
    await sink.whenIngested();
    completed = !opts.signal?.aborted;
  } finally {
    summary = progress.finish(completed);
    metrics.scanSeconds.set({ library: library.name, kind }, summary.durationMs / 1000);
    metrics.scanFilesPerSecond.set({ library: library.name, kind }, summary.filesPerSecond);
  }
  return summary;
}

/**
 * The files of a folder whose paths the api can serve (`servableRelPath`, the rule the api's path
 * validation applies); the others are left alone: counted (`lumen_watcher_names_skipped_total` by
 * reason, and the scan summary) and logged in one line per folder, warn on full scans and debug on
 * quick ones (which see the same folders every minute). A folder whose own path is not servable
 * has all its files skipped (its subfolders report their own line).
 */
function skipUnservable(
  opts: ScanLibraryOptions,
  progress: ScanProgress,
  event: WalkedDirectory,
): ListedFile[] {
  const skipped: { name: string; code: PathErrorCode; reason: string }[] = [];
  let servable: ListedFile[];
  const folder = servableRelPath(event.dir);
  if (!folder.ok) {
    servable = [];
    for (const file of event.files)
      skipped.push({ name: file.name, code: folder.code, reason: `its folder ${folder.reason}` });
  } else {
    servable = [];
    for (const file of event.files) {
      const result = servableRelPath(joinRelPath(event.dir, file.name));
      if (result.ok) servable.push(file);
      else skipped.push({ name: file.name, code: result.code, reason: result.reason });
    }
  }
  for (const name of event.unreadable) {
    skipped.push({ name, code: 'path.invalid', reason: 'is not valid UTF-8 (no request can name it)' });
  }
  if (skipped.length === 0) return servable;
  progress.counts.skippedNames += skipped.length;
  const reasons: Record<string, number> = {};
  for (const { code } of skipped) {
    reasons[code] = (reasons[code] ?? 0) + 1;
    opts.metrics.namesSkipped.inc({ library: opts.library.name, reason: code });
  }
  opts.logger[opts.kind === 'full' ? 'warn' : 'debug'](
    {
      library: opts.library.name,
      dir: event.dir,
      skipped: skipped.length,
      reasons,
      // JSON-escaped in the log line, so a newline in a name cannot forge another line.
      examples: skipped.slice(0, 3).map(({ name, reason }) => `${JSON.stringify(name)} ${reason}`),
    },
    'files skipped: names the api cannot serve',
  );
  return servable;
}

/**
 * Upload temporary files not written to for an hour (`isUploadLeftover`) belong to uploads that died
 * with their process (a SIGKILL, a crash): removed. Younger ones may be uploads in progress.
 */
async function removeUploadLeftovers(opts: ScanLibraryOptions, event: WalkedDirectory): Promise<void> {
  const nowMs = (opts.now ?? Date.now)();
  for (const temp of event.uploadTemps) {
    if (!isUploadLeftover(temp.name, temp.mtimeMs, nowMs)) continue;
    const relPath = joinRelPath(event.dir, temp.name);
    try {
      await fs.rm(path.join(opts.library.root, relPath));
      opts.metrics.uploadLeftoversRemoved.inc({ library: opts.library.name });
      opts.logger.info(
        { library: opts.library.name, path: relPath, ageSeconds: Math.round((nowMs - temp.mtimeMs) / 1000) },
        'removed an upload leftover',
      );
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') continue;
      opts.logger.warn(
        { err, library: opts.library.name, path: relPath },
        'cannot remove an upload leftover',
      );
    }
  }
}

/**
 * Rows of this folder that were marked missing and whose file is listed again go back to
 * image_exif with their id (then compared like any row: unchanged files are not ingested again).
 */
async function reviveListed(opts: ScanLibraryOptions, dir: string, files: ListedFile[]): Promise<number> {
  const listed = new Set(files.map((file) => file.name));
  const back = (await opts.missingFiles.listDirectory(opts.library.id, dir)).filter((row) =>
    listed.has(row.file_name),
  );
  if (back.length === 0) return 0;
  const revived = await opts.missingFiles.revive(back.map((row) => row.id));
  opts.logger.info(
    { library: opts.library.name, dir, revived, paths: back.slice(0, 20).map((row) => row.rel_path) },
    'files marked missing are back',
  );
  return revived;
}

/** Every folder of the library that has rows (memory: one string per folder, not per file). */
async function loadKnownDirs(imageExif: ImageExifRepository, libraryId: number): Promise<Set<string>> {
  const dirs = new Set<string>();
  for await (const dir of imageExif.knownDirs(libraryId)) dirs.add(dir);
  return dirs;
}

async function compareDirectory(
  opts: ScanLibraryOptions,
  progress: ScanProgress,
  dir: string,
  files: ListedFile[],
  imageExif: ImageExifRepository,
): Promise<void> {
  const { library, sink } = opts;
  const rows = await imageExif.listDirectory(library.id, dir);
  const diff = diffDirectory(files, rows);
  const submit = (file: ListedFile, isNew: boolean) => {
    const relPath = dir === '' ? file.name : `${dir}/${file.name}`;
    sink.submit({
      library,
      relPath,
      dir,
      fileName: file.name,
      absPath: path.join(library.root, relPath),
      size: file.size,
      mtimeMs: file.mtimeMs,
      isNew,
      progress,
    });
  };
  for (const file of diff.added) {
    progress.counts.new++;
    submit(file, true);
  }
  for (const { file } of diff.changed) {
    progress.counts.changed++;
    submit(file, false);
  }
  if (opts.kind !== 'full' || diff.unchanged.length === 0) return;
  const listed = new Map(files.map((f) => [f.name, f]));
  for (const row of diff.unchanged) {
    if (row.thumb_status === 'ready' && row.preview_status !== 'pending') continue;
    const absPath = path.join(library.root, row.rel_path);
    if ((await sink.reviewStoredRow(library, row, absPath)) !== 'reingest') continue;
    const file = listed.get(row.file_name);
    if (!file) continue;
    progress.counts.retried++;
    submit(file, false);
  }
}
