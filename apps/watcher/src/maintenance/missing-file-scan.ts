import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  brakeHolds,
  DEFAULT_MISSING_BRAKE,
  emptyFolderReason,
  foldersBelowRoot,
  graceExpired,
  listsNoVisibleEntry,
  type MissingBrakeThresholds,
  massDisappearance,
  type SuspectState,
  servableRelPath,
  TimeoutError,
  withTimeout,
} from '@lumen/core';
import {
  type Database,
  ImageExifRepository,
  LibrariesRepository,
  type LibraryStatus,
  MissingFilesRepository,
  SettingsRepository,
} from '@lumen/db';
import type { Logger } from '@lumen/runtime';

/** The file-system calls of the scan; tests inject failures (EACCES, EIO) and mount drops through it. */
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
  /** The library's brake state as stored (default: not suspect). */
  suspect?: SuspectState;
}

/** Moments inside one library's pass, for tests that change the world between two of them. */
export type MissingScanPhase = 'missing-scan:stat' | 'missing-scan:apply';

export interface MissingFileScanOptions {
  db: Database['db'];
  library: MissingScanLibrary;
  /** Rows loaded and stat'ed per tick, present and missing ones each (IMAGE_EXIF_MISSING_SCAN_PAGE_SIZE). */
  pageSize: number;
  /** At most this many rows deleted per tick, after their grace period (IMAGE_EXIF_MISSING_DELETE_CAP_PER_TICK). */
  deleteCap: number;
  /** Log and count what would be marked and deleted; mark and delete nothing (MAINTENANCE_DRY_RUN). */
  dryRun: boolean;
  /** A row marked missing is deleted only after this long (MISSING_GRACE_SECONDS). */
  graceSeconds: number;
  /** The mass-disappearance brake (MISSING_SUSPECT_MIN_CHECKED, MISSING_SUSPECT_SHARE). */
  brake?: MissingBrakeThresholds;
  logger: Logger;
  fs?: MissingScanFs;
  /** When set (REQUIRE_LIBRARY_MARKER), the root must still hold this file before anything changes. */
  markerFile?: string;
  /** Per file-system call (default 5000 ms). */
  statTimeoutMs?: number;
  /** lstat calls in flight at once (default 8). */
  concurrency?: number;
  /** The clock of `missing_since` and the grace period (default Date.now; tests move it). */
  now?: () => number;
  /** Called between the phases of the pass (tests). */
  onPhase?: (phase: MissingScanPhase) => Promise<void> | void;
}

export type MissingScanOutcome = 'scanned' | 'skipped-stale' | 'aborted' | 'braked';

export interface MissingFileScanResult {
  libraryId: number;
  /**
   * scanned: the pass ran; braked: too many files vanished at once (suspect), nothing was marked
   * or deleted and the cursor stays; aborted: the root vanished or hung, nothing changed;
   * skipped-stale: the library is Stale.
   */
  outcome: MissingScanOutcome;
  /** Why the pass was aborted or braked. */
  reason?: string;
  /** This tick's suspect condition (mass disappearance or a folder that lists empty), if any. */
  suspect?: string;
  /** The brake held on this tick (suspect, not confirmed by an admin): nothing was deleted. */
  braked: boolean;
  /** Present rows stat'ed. */
  checked: number;
  /** Missing rows stat'ed. */
  checkedMissing: number;
  /** Rows marked missing (hidden; 0 on a dry run). */
  marked: number;
  /** Missing rows whose file was found again (back in image_exif). */
  revived: number;
  /** Missing rows deleted after their grace period (0 on a dry run). */
  deleted: number;
  /** Rows a dry run would have marked / deleted (0 otherwise). */
  wouldMark: number;
  wouldDelete: number;
  /** Files whose stat failed with anything but NotFound (EACCES, EIO, a timeout, ...): kept. */
  skippedErrors: number;
  /** The skipped errors by code. */
  errorCodes: Record<string, number>;
  /** More expired rows than the cap allowed; the rest go on a later tick. */
  capped: boolean;
  /** The end of the library's present rows was reached; the next tick starts from the beginning. */
  wrapped: boolean;
  /** Where the next tick continues (last image_exif id handled; 0 = the beginning). */
  cursor: number;
}

const DEFAULT_STAT_TIMEOUT_MS = 5_000;
const DEFAULT_CONCURRENCY = 8;
/** The error code a stat that did not answer in time is counted under. */
const TIMEOUT_CODE = 'TIMEOUT';
/** Paths logged with a change (the counts are always complete). */
const LOGGED_PATHS = 20;
/** Folders checked for "lists empty" per tick at most (a listing each). */
const MAX_FOLDERS_CHECKED = 200;

/** The app_settings key of a library's cursor over its present rows. */
export function missingScanCursorKey(libraryId: number): string {
  return `missing-scan-cursor:${libraryId}`;
}

/** The app_settings key of a library's cursor over its missing rows. */
export function missingRowsCursorKey(libraryId: number): string {
  return `missing-rows-cursor:${libraryId}`;
}

type StatOutcome = { kind: 'present' } | { kind: 'missing' } | { kind: 'error'; code: string };

const NOT_SUSPECT: SuspectState = { suspectReason: null, suspectSince: null, missingConfirmedAt: null };

/**
 * One tick of the missing-file scan of one library (SPEC 3.1 as amended by issue 10). Missing is
 * a state, not a delete:
 *
 * 1. A page of present rows after the cursor is lstat'ed; rows whose file is NotFound
 *    (ENOENT/ENOTDIR) are **marked missing**: moved to image_exif_missing with `missing_since`,
 *    hidden from every listing, their tags, favorites, faces and insights kept. Any other error
 *    (EACCES, EIO, a timeout) keeps the row as it is.
 * 2. A page of missing rows is lstat'ed too: a file that is there again is **revived** (its row goes
 *    back, same id); one still NotFound after MISSING_GRACE_SECONDS is **deleted** (at most
 *    `deleteCap` per tick), and the orphan GC may later take its derived rows.
 * 3. **The brake.** When more than a share of the checked rows vanished at once (or every row of a
 *    small library), nothing is marked and the cursor stays, so the same page is judged again next
 *    tick; when the nearest remaining folder of files that are gone (not moved: their content is
 *    nowhere else) lists empty, like a nested mount point whose mount dropped, they are
 *    marked (they cannot be served) but nothing of the library is deleted. Either way the library
 *    is `suspect` until the condition clears or an admin confirms the episode.
 *
 * A Stale library is skipped wholesale. The root must stat, list a visible entry (hidden files and
 * our marker do not count) and hold the marker when one is required, before the pages are stat'ed
 * and again just before anything is changed; otherwise the pass is aborted. A stat that does not
 * answer in time (hung mount) aborts too, and stops further stats. An aborted or braked pass
 * keeps its cursor.
 */
export async function runMissingFileScan(opts: MissingFileScanOptions): Promise<MissingFileScanResult> {
  const { library, logger } = opts;
  const fs = opts.fs ?? nodeMissingScanFs;
  const timeoutMs = opts.statTimeoutMs ?? DEFAULT_STAT_TIMEOUT_MS;
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const now = opts.now ?? Date.now;
  if (opts.pageSize < 1) throw new RangeError(`pageSize must be at least 1, got ${opts.pageSize}`);
  if (library.status !== 'online') return { ...emptyResult(library.id, 0), outcome: 'skipped-stale' };
  const settings = new SettingsRepository(opts.db);
  const images = new ImageExifRepository(opts.db);
  const missingFiles = new MissingFilesRepository(opts.db);
  const cursorKey = missingScanCursorKey(library.id);
  const missingCursorKey = missingRowsCursorKey(library.id);
  const startCursor = parseCursor(await settings.get(cursorKey));
  const startMissingCursor = parseCursor(await settings.get(missingCursorKey));
  const result = emptyResult(library.id, startCursor);
  const abort = (reason: string): MissingFileScanResult => {
    logger.warn(
      { libraryId: library.id, root: library.root, reason },
      'missing-file scan aborted: nothing changed',
    );
    return { ...result, outcome: 'aborted', reason, wrapped: false, cursor: startCursor };
  };

  const rootProblem = await checkRoot(fs, library.root, opts.markerFile, timeoutMs);
  if (rootProblem) return abort(rootProblem);
  await opts.onPhase?.('missing-scan:stat');

  // Rows are read before the stats; a row written after this moment (ingest, an upload) is about
  // a file that exists and is never marked (markMissing's guard). Wall time, not the test clock.
  const readAt = new Date().toISOString();
  let after = startCursor;
  let page = await images.pageForMissingScan(library.id, after, opts.pageSize);
  if (page.length === 0 && after > 0) {
    // The previous tick ended exactly at the last row: start over now rather than idle a tick.
    result.wrapped = true;
    after = 0;
    page = await images.pageForMissingScan(library.id, after, opts.pageSize);
  }
  const pageFull = page.length === opts.pageSize;
  let missingPage = await missingFiles.page(library.id, startMissingCursor, opts.pageSize);
  let missingAfter = startMissingCursor;
  if (missingPage.length === 0 && startMissingCursor > 0) {
    missingAfter = 0;
    missingPage = await missingFiles.page(library.id, 0, opts.pageSize);
  }

  const stated = [...page, ...missingPage];
  const stats = await statAll(
    stated.map((row) => path.join(library.root, row.rel_path)),
    fs,
    timeoutMs,
    concurrency,
  );
  // Scans skip files whose path the api cannot serve (servableRelPath); a row of one, written before
  // that rule, is gone as far as Lumen goes: marked missing like a deleted file's, never revived.
  const unservable: string[] = [];
  for (let i = 0; i < stats.length; i++) {
    if (stats[i]?.kind === 'present' && !servableRelPath(stated[i]!.rel_path).ok) {
      stats[i] = { kind: 'missing' };
      unservable.push(stated[i]!.rel_path);
    }
  }
  if (unservable.length > 0) {
    logger.warn(
      {
        libraryId: library.id,
        rows: unservable.length,
        paths: unservable.slice(0, LOGGED_PATHS).map((p) => JSON.stringify(p)),
      },
      'rows whose path the api cannot serve count as missing',
    );
  }
  const presentStats = stats.slice(0, page.length);
  const missingStats = stats.slice(page.length);
  const countError = (code: string) => {
    result.skippedErrors++;
    result.errorCodes[code] = (result.errorCodes[code] ?? 0) + 1;
  };

  // Present rows, in id order; the cursor only moves past rows whose outcome is final.
  const vanished: { id: number; rel_path: string; dir: string; content_hash: string | null }[] = [];
  /** Present rows whose stat answered present or NotFound (errors say nothing either way). */
  let judged = 0;
  let cursor = after;
  let handledWholePage = true;
  for (let i = 0; i < page.length; i++) {
    const row = page[i]!;
    const stat = presentStats[i];
    if (stat === undefined) {
      handledWholePage = false; // not stat'ed: a stat timed out before its turn
      break;
    }
    result.checked++;
    if (stat.kind === 'error') countError(stat.code);
    else judged++;
    if (stat.kind === 'missing') vanished.push(row);
    cursor = row.id;
  }
  // Missing rows: found again, still gone, or unknown.
  const found: number[] = [];
  const stillGone: typeof missingPage = [];
  let missingCursor = missingAfter;
  for (let i = 0; i < missingPage.length; i++) {
    const row = missingPage[i]!;
    const stat = missingStats[i];
    if (stat === undefined) break;
    result.checkedMissing++;
    if (stat.kind === 'present') found.push(row.id);
    else if (stat.kind === 'missing') stillGone.push(row);
    else countError(stat.code);
    missingCursor = row.id;
  }
  if (missingPage.length < opts.pageSize && missingStats.every((s) => s !== undefined)) missingCursor = 0;
  if (result.errorCodes[TIMEOUT_CODE]) {
    return abort(`a file did not answer lstat within ${timeoutMs} ms (hung mount?)`);
  }
  if (handledWholePage && !pageFull) {
    cursor = 0; // the end of the library: start over next tick
    result.wrapped = true;
  }

  // The brake: is this a person deleting files, or a mount that dropped?
  const mass =
    vanished.length === 0
      ? undefined
      : massDisappearance(
          {
            checked: judged,
            vanished: vanished.length,
            libraryRows: await images.countByLibrary(library.id),
          },
          opts.brake ?? DEFAULT_MISSING_BRAKE,
        );
  // Folders of files that are gone, not moved (a moved file's content is present elsewhere).
  const movedHashes = await images.hashesPresentElsewhere(
    vanished.flatMap((row) => (row.content_hash ? [row.content_hash] : [])),
    vanished.map((row) => row.id),
  );
  const foldersToCheck = new Set([
    ...vanished.filter((row) => !row.content_hash || !movedHashes.has(row.content_hash)).map((r) => r.dir),
    ...(await missingFiles.dirsOfVanishedContent(library.id)),
  ]);
  const emptyFolders = await findEmptyFolders(fs, library.root, foldersToCheck, timeoutMs);
  // Both at once is its own reason (a new episode): a confirmation of one is not of the other.
  const reasons = [mass, emptyFolders.length > 0 ? emptyFoldersReason(emptyFolders) : undefined];
  const suspect = reasons.filter((r) => r !== undefined).join('; ') || undefined;
  const libraries = new LibrariesRepository(opts.db);
  const suspectState = await recordSuspect(libraries, library, suspect, now, logger, {
    checked: judged,
    vanished: vanished.length,
    emptyFolders: emptyFolders.slice(0, LOGGED_PATHS),
  });
  result.braked = suspect !== undefined && brakeHolds(suspectState);
  if (suspect) result.suspect = suspect;
  const holdMarks = mass !== undefined && result.braked;

  await opts.onPhase?.('missing-scan:apply');
  const expired = result.braked
    ? []
    : stillGone.filter((row) => graceExpired(row.missing_since, now(), opts.graceSeconds));
  const toDelete = expired.slice(0, opts.deleteCap);
  result.capped = expired.length > toDelete.length;
  const toMark = holdMarks ? [] : vanished;
  if (toMark.length > 0 || toDelete.length > 0) {
    // The mount may have dropped while the pages were stat'ed: everything would then look NotFound.
    const rootProblemNow = await checkRoot(fs, library.root, opts.markerFile, timeoutMs);
    if (rootProblemNow) return abort(`before marking: ${rootProblemNow}`);
  }

  if (found.length > 0) {
    result.revived = await missingFiles.revive(found);
    logger.info({ libraryId: library.id, revived: result.revived }, 'missing-file scan: files found again');
  }
  const missingSince = new Date(now()).toISOString();
  if (opts.dryRun) {
    result.wouldMark = toMark.length;
    result.wouldDelete = toDelete.length;
    if (toMark.length + toDelete.length > 0) {
      logger.info(
        {
          libraryId: library.id,
          wouldMark: toMark.length,
          wouldDelete: toDelete.length,
          paths: [...toMark, ...toDelete].slice(0, LOGGED_PATHS).map((row) => row.rel_path),
        },
        'missing-file scan (dry run): would mark missing and would delete',
      );
    }
  } else {
    if (toMark.length > 0) {
      // Marked while an admin's confirmation overrides the brake: confirmed gone.
      const confirmedAt = suspect !== undefined && !result.braked ? missingSince : null;
      result.marked = (
        await missingFiles.markMissing(
          toMark.map((row) => row.id),
          missingSince,
          readAt,
          confirmedAt,
        )
      ).length;
      logger.info(
        {
          libraryId: library.id,
          marked: result.marked,
          paths: toMark.slice(0, LOGGED_PATHS).map((row) => row.rel_path),
        },
        'missing-file scan: files gone, marked missing (hidden; deleted after the grace period)',
      );
    }
    if (toDelete.length > 0) {
      result.deleted = await missingFiles.deleteByIds(toDelete.map((row) => row.id));
      logger.info(
        {
          libraryId: library.id,
          deleted: result.deleted,
          graceSeconds: opts.graceSeconds,
          paths: toDelete.slice(0, LOGGED_PATHS).map((row) => row.rel_path),
        },
        'missing-file scan: deleted rows of files missing for longer than the grace period',
      );
    }
  }

  if (result.skippedErrors > 0) {
    logger.warn(
      { libraryId: library.id, skipped: result.skippedErrors, codes: result.errorCodes },
      'missing-file scan: files that could not be stat-ed were kept',
    );
  }
  if (holdMarks) {
    result.outcome = 'braked';
    result.reason = mass;
    result.wrapped = false;
    cursor = startCursor; // the same page is judged again next tick
  }
  if (cursor !== startCursor) await settings.set(cursorKey, String(cursor));
  if (missingCursor !== startMissingCursor) await settings.set(missingCursorKey, String(missingCursor));
  result.cursor = cursor;
  logger.debug({ ...result }, 'missing-file scan done');
  return result;
}

/** Store this tick's suspect condition; one log line when an episode starts or ends. Returns the state. */
async function recordSuspect(
  libraries: LibrariesRepository,
  library: MissingScanLibrary,
  reason: string | undefined,
  now: () => number,
  logger: Logger,
  details: Record<string, unknown>,
): Promise<SuspectState> {
  const change = await libraries.setSuspect(library.id, reason ?? null, new Date(now()).toISOString());
  const row = await libraries.findById(library.id);
  const state: SuspectState = row
    ? {
        suspectReason: row.suspect_reason,
        suspectSince: row.suspect_since,
        missingConfirmedAt: row.missing_confirmed_at,
      }
    : (library.suspect ?? NOT_SUSPECT);
  if (change === 'started') {
    logger.warn(
      { libraryId: library.id, root: library.root, reason, ...details },
      'library is suspect: files vanished like a dropped mount; nothing is deleted until it clears or an admin confirms (POST /libraries/{id}/confirm-missing)',
    );
  } else if (change === 'ended') {
    logger.info({ libraryId: library.id }, 'library is no longer suspect');
  }
  return state;
}

function emptyFoldersReason(folders: readonly string[]): string {
  const first = emptyFolderReason(folders[0]!);
  return folders.length === 1 ? first : `${first} (and ${folders.length - 1} more folders)`;
}

/**
 * For each folder of files that are gone (`dirs`, relative to the root), its nearest folder below
 * the root that still exists, when that lists no visible entry: what a dropped nested mount looks
 * like (the mount point stays, empty; the folders inside it are gone). A folder a person deleted
 * leaves a parent that lists its siblings, or the root. Sorted; at most MAX_FOLDERS_CHECKED
 * listings per call.
 */
async function findEmptyFolders(
  fs: MissingScanFs,
  root: string,
  dirs: ReadonlySet<string>,
  timeoutMs: number,
): Promise<string[]> {
  const listed = new Map<string, 'empty' | 'visible' | 'absent'>();
  const empty = new Set<string>();
  for (const dir of [...dirs].sort()) {
    for (const folder of foldersBelowRoot(dir)) {
      let state = listed.get(folder);
      if (state === undefined) {
        if (listed.size >= MAX_FOLDERS_CHECKED) break;
        state = await listFolder(fs, path.join(root, folder), timeoutMs);
        listed.set(folder, state);
      }
      if (state === 'absent') continue; // gone too: look at its parent
      if (state === 'empty') empty.add(folder);
      break;
    }
  }
  return [...empty].sort();
}

async function listFolder(
  fs: MissingScanFs,
  folder: string,
  timeoutMs: number,
): Promise<'empty' | 'visible' | 'absent'> {
  try {
    const entries = await withTimeout(fs.readdir(folder), timeoutMs, 'readdir');
    return listsNoVisibleEntry(entries) ? 'empty' : 'visible';
  } catch (err) {
    const code = errorCode(err);
    // Gone: a person removed or moved it. Anything else (EIO, a hang): unreadable, which is what
    // a dropped mount can look like too.
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'absent' : 'empty';
  }
}

function emptyResult(libraryId: number, cursor: number): MissingFileScanResult {
  return {
    libraryId,
    outcome: 'scanned',
    braked: false,
    checked: 0,
    checkedMissing: 0,
    marked: 0,
    revived: 0,
    deleted: 0,
    wouldMark: 0,
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

/**
 * undefined when the root stats, lists a visible entry (an unmounted mount point lists nothing, or
 * only hidden files such as our marker or `.DS_Store`) and holds the marker when required; else why not.
 */
async function checkRoot(
  fs: MissingScanFs,
  root: string,
  markerFile: string | undefined,
  timeoutMs: number,
): Promise<string | undefined> {
  try {
    await withTimeout(fs.lstat(root), timeoutMs, 'lstat of the root');
    const entries = await withTimeout(fs.readdir(root), timeoutMs, 'readdir of the root');
    if (listsNoVisibleEntry(entries))
      return 'the library root lists no files, only hidden ones (not mounted?)';
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
    await withTimeout(fs.lstat(file), timeoutMs, 'lstat');
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
