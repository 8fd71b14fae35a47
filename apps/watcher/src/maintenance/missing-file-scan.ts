import fsp from 'node:fs/promises';
import path from 'node:path';
import { type Database, ImageExifRepository, type LibraryStatus, SettingsRepository } from '@lumen/db';
import type { Logger } from '@lumen/runtime';

/** The file-system calls of the scan; tests inject failures (EACCES, EIO) through it. */
export interface MissingScanFs {
  lstat(file: string): Promise<unknown>;
  readdir(dir: string): Promise<string[]>;
}

export const nodeMissingScanFs: MissingScanFs = {
  lstat: (file) => fsp.lstat(file),
  readdir: (dir) => fsp.readdir(dir),
};

export interface MissingScanLibrary {
  id: number;
  root: string;
  /** This tick's probe result. */
  status: LibraryStatus;
}

export interface MissingFileScanOptions {
  db: Database['db'];
  library: MissingScanLibrary;
  /** Rows loaded and stat'ed per tick (IMAGE_EXIF_MISSING_SCAN_PAGE_SIZE). */
  pageSize: number;
  /** At most this many rows deleted per tick (IMAGE_EXIF_MISSING_DELETE_CAP_PER_TICK); 0 = delete nothing. */
  deleteCap: number;
  /** Log and count what would be deleted, delete nothing (MAINTENANCE_DRY_RUN). */
  dryRun: boolean;
  logger: Logger;
  fs?: MissingScanFs;
  /** When set (REQUIRE_LIBRARY_MARKER), the root must still hold this file before anything is deleted. */
  markerFile?: string;
  /** Per file-system call (default 5000 ms). */
  statTimeoutMs?: number;
  /** lstat calls in flight at once (default 8). */
  concurrency?: number;
}

export type MissingScanOutcome = 'scanned' | 'skipped-stale' | 'aborted';

export interface MissingFileScanResult {
  libraryId: number;
  outcome: MissingScanOutcome;
  /** Why the pass was aborted (nothing deleted, cursor kept). */
  reason?: string;
  /** Files stat'ed. */
  checked: number;
  /** Rows deleted (always 0 on a dry run). */
  deleted: number;
  /** Rows a dry run would have deleted (0 otherwise). */
  wouldDelete: number;
  /** Files whose stat failed with anything but NotFound (EACCES, EIO, a timeout, ...): kept. */
  skippedErrors: number;
  /** The skipped errors by code. */
  errorCodes: Record<string, number>;
  /** More NotFound files were seen than the cap allowed; the rest are handled on the next tick. */
  capped: boolean;
  /** The end of the library was reached; the next tick starts from the beginning. */
  wrapped: boolean;
  /** Where the next tick continues (last image_exif id handled; 0 = the beginning). */
  cursor: number;
}

const DEFAULT_STAT_TIMEOUT_MS = 5_000;
const DEFAULT_CONCURRENCY = 8;
/** The error code a stat that did not answer in time is counted under. */
const TIMEOUT_CODE = 'TIMEOUT';
/** Paths logged with a deletion (the counts are always complete). */
const LOGGED_PATHS = 20;

/** The app_settings key of a library's cursor. */
export function missingScanCursorKey(libraryId: number): string {
  return `missing-scan-cursor:${libraryId}`;
}

type StatOutcome = { kind: 'present' } | { kind: 'missing' } | { kind: 'error'; code: string };

/**
 * One tick of the missing-file scan of one library (SPEC 3.1). Loads the page of `image_exif`
 * rows after the library's cursor, lstats each file and deletes the rows whose file is NotFound
 * (ENOENT/ENOTDIR), at most `deleteCap` of them. Any other error (EACCES, EIO, EPERM, a timeout) keeps
 * the row. The cursor advances to the last row handled and wraps at the end of the library.
 *
 * A Stale library is skipped wholesale. The root is checked before the page is stat'ed and again
 * just before deleting: it must stat, list non-empty (an unmounted mount point lists empty) and hold
 * the marker file when one is required; otherwise the pass is aborted. A stat that does not
 * answer in time (hung mount) aborts too, and stops further stats. An aborted pass deletes nothing
 * and keeps the cursor.
 */
export async function runMissingFileScan(opts: MissingFileScanOptions): Promise<MissingFileScanResult> {
  const { library, logger } = opts;
  const fs = opts.fs ?? nodeMissingScanFs;
  const timeoutMs = opts.statTimeoutMs ?? DEFAULT_STAT_TIMEOUT_MS;
  if (opts.pageSize < 1) throw new RangeError(`pageSize must be at least 1, got ${opts.pageSize}`);
  if (library.status !== 'online') return { ...emptyResult(library.id, 0), outcome: 'skipped-stale' };
  const settings = new SettingsRepository(opts.db);
  const images = new ImageExifRepository(opts.db);
  const cursorKey = missingScanCursorKey(library.id);
  const startCursor = parseCursor(await settings.get(cursorKey));
  const result = emptyResult(library.id, startCursor);
  const abort = (reason: string): MissingFileScanResult => {
    logger.warn(
      { libraryId: library.id, root: library.root, reason },
      'missing-file scan aborted: nothing deleted',
    );
    return { ...result, outcome: 'aborted', reason, wrapped: false, cursor: startCursor };
  };

  const rootProblem = await checkRoot(fs, library.root, opts.markerFile, timeoutMs);
  if (rootProblem) return abort(rootProblem);

  let after = startCursor;
  let page = await images.pageForMissingScan(library.id, after, opts.pageSize);
  if (page.length === 0 && after > 0) {
    // The previous tick ended exactly at the last row: start over now rather than idle a tick.
    result.wrapped = true;
    after = 0;
    page = await images.pageForMissingScan(library.id, after, opts.pageSize);
  }
  const pageFull = page.length === opts.pageSize;

  const stats = await statAll(
    page.map((row) => path.join(library.root, row.rel_path)),
    fs,
    timeoutMs,
    opts.concurrency ?? DEFAULT_CONCURRENCY,
  );
  // Rows are handled in id order; the cursor can only move past rows whose outcome is final.
  const missing: { id: number; rel_path: string }[] = [];
  let cursor = after;
  let handledWholePage = true;
  for (let i = 0; i < page.length; i++) {
    const row = page[i]!;
    const stat = stats[i];
    if (stat === undefined) {
      handledWholePage = false; // not stat'ed: a stat timed out before its turn
      break;
    }
    result.checked++;
    if (stat.kind === 'error') {
      result.skippedErrors++;
      result.errorCodes[stat.code] = (result.errorCodes[stat.code] ?? 0) + 1;
    } else if (stat.kind === 'missing') {
      if (missing.length < opts.deleteCap) {
        missing.push(row);
      } else {
        result.capped = true;
        // Stop here so the next tick sees this row first; with a cap of 0 nothing is ever deleted,
        // so there is nothing to come back for.
        if (opts.deleteCap > 0) {
          handledWholePage = false;
          break;
        }
      }
    }
    cursor = row.id;
  }
  if (result.errorCodes[TIMEOUT_CODE]) {
    return abort(`a file did not answer lstat within ${timeoutMs} ms (hung mount?)`);
  }

  if (handledWholePage && !pageFull) {
    cursor = 0; // the end of the library: start over next tick
    result.wrapped = true;
  }

  if (missing.length > 0) {
    // The mount may have dropped while the page was stat'ed: everything would then look NotFound.
    const rootProblemNow = await checkRoot(fs, library.root, opts.markerFile, timeoutMs);
    if (rootProblemNow) return abort(`before deleting: ${rootProblemNow}`);
    const paths = missing.slice(0, LOGGED_PATHS).map((row) => row.rel_path);
    if (opts.dryRun) {
      result.wouldDelete = missing.length;
      logger.info(
        { libraryId: library.id, wouldDelete: missing.length, paths },
        'missing-file scan (dry run): would delete rows of files that are gone',
      );
    } else {
      result.deleted = await images.deleteByIds(missing.map((row) => row.id));
      logger.info(
        { libraryId: library.id, deleted: result.deleted, paths },
        'missing-file scan: deleted rows of files that are gone',
      );
    }
  }

  if (result.skippedErrors > 0) {
    logger.warn(
      { libraryId: library.id, skipped: result.skippedErrors, codes: result.errorCodes },
      'missing-file scan: files that could not be stat-ed were kept',
    );
  }
  if (cursor !== startCursor) await settings.set(cursorKey, String(cursor));
  result.cursor = cursor;
  logger.debug({ ...result }, 'missing-file scan done');
  return result;
}

function emptyResult(libraryId: number, cursor: number): MissingFileScanResult {
  return {
    libraryId,
    outcome: 'scanned',
    checked: 0,
    deleted: 0,
    wouldDelete: 0,
    skippedErrors: 0,
    errorCodes: {},
    capped: false,
    wrapped: false,
    cursor,
  };
}

function parseCursor(value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value)) return 0;
  const cursor = Number(value);
  return Number.isSafeInteger(cursor) ? cursor : 0;
}

/** undefined when the root stats, lists non-empty and holds the marker (when required); else why not. */
async function checkRoot(
  fs: MissingScanFs,
  root: string,
  markerFile: string | undefined,
  timeoutMs: number,
): Promise<string | undefined> {
  try {
    await withTimeout(fs.lstat(root), timeoutMs);
    const entries = await withTimeout(fs.readdir(root), timeoutMs);
    if (entries.length === 0) return 'the library root lists empty (not mounted?)';
    if (markerFile !== undefined && !entries.includes(markerFile)) {
      return `the marker file ${markerFile} is missing from the library root`;
    }
    return undefined;
  } catch (err) {
    return `the library root does not answer: ${errorCode(err)}`;
  }
}

/**
 * lstat every file, at most `concurrency` at once, each within `timeoutMs`. After the first timeout
 * no further stat is started (a hung mount would pile up calls in the libuv pool): those entries
 * stay undefined.
 */
async function statAll(
  files: readonly string[],
  fs: MissingScanFs,
  timeoutMs: number,
  concurrency: number,
): Promise<(StatOutcome | undefined)[]> {
  const outcomes: (StatOutcome | undefined)[] = new Array(files.length).fill(undefined);
  let next = 0;
  let timedOut = false;
  const worker = async () => {
    while (!timedOut && next < files.length) {
      const index = next++;
      outcomes[index] = await statOne(files[index]!, fs, timeoutMs);
      const outcome = outcomes[index];
      if (outcome?.kind === 'error' && outcome.code === TIMEOUT_CODE) timedOut = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, worker));
  return outcomes;
}

async function statOne(file: string, fs: MissingScanFs, timeoutMs: number): Promise<StatOutcome> {
  try {
    await withTimeout(fs.lstat(file), timeoutMs);
    return { kind: 'present' };
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'error', code };
  }
}

function errorCode(err: unknown): string {
  if (err instanceof TimeoutError) return TIMEOUT_CODE;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

class TimeoutError extends Error {}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
