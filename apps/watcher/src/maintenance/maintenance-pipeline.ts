import type { ParsedEnv, SuspectState } from '@lumen/core';
import type { Database, DerivedTable, LibraryStatus } from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import { type BackRefRefreshResult, runBackRefRefresh } from './backref-refresh.ts';
import type { MaintenanceMetrics } from './maintenance-metrics.ts';
import {
  type MissingFileScanResult,
  type MissingScanFs,
  type MissingScanPhase,
  runMissingFileScan,
} from './missing-file-scan.ts';
import type { OrphanGcResult, OrphanGcRunner } from './orphan-gc.ts';

/** A library as this tick's probe left it. */
export interface MaintenanceLibrary {
  id: number;
  name: string;
  root: string;
  status: LibraryStatus;
  /** The brake state as stored at the start of the tick. */
  suspect?: SuspectState;
}

export type MaintenanceKnobs = Pick<
  ParsedEnv,
  | 'IMAGE_EXIF_MISSING_SCAN_PAGE_SIZE'
  | 'IMAGE_EXIF_MISSING_DELETE_CAP_PER_TICK'
  | 'MAINTENANCE_DRY_RUN'
  | 'MISSING_GRACE_SECONDS'
  | 'MISSING_SUSPECT_MIN_CHECKED'
  | 'MISSING_SUSPECT_SHARE'
>;

/** The moments of the pipeline a test can stop at (see WatcherDeps.onPhase). */
export type MaintenancePhase = MissingScanPhase | 'backrefs' | 'gc';

export interface RunMaintenanceOptions {
  db: Database['db'];
  /** Every library, with this tick's probe status. */
  libraries: readonly MaintenanceLibrary[];
  config: MaintenanceKnobs;
  /** Created once and kept across ticks (it holds the GC's pending set). */
  gcRunner: OrphanGcRunner;
  logger: Logger;
  metrics?: MaintenanceMetrics;
  /** When REQUIRE_LIBRARY_MARKER is on: the marker a root must hold before the scan deletes anything. */
  markerFile?: string;
  /** File-system layer of the missing-file scan (tests inject failures). */
  fs?: MissingScanFs;
  /**
   * This tick's ingest scanned every Online library (default true). When false and every library
   * is Online, the GC sits this tick out: two GC observations then always have a scan between
   * them, so a moved file whose new location a slower scan has not found yet is not deleted.
   * (A tick with a Stale library still cancels pending deletes.)
   */
  ingestScanned?: boolean;
  /** Stop between passes (the watcher is shutting down). */
  signal?: AbortSignal;
  /** The clock of missing_since and the grace period (default Date.now). */
  now?: () => number;
  /** Called at each phase (tests change the world between two phases). */
  onPhase?: (phase: MaintenancePhase) => Promise<void> | void;
}

export interface MaintenanceSummary {
  /** One result per library, Stale ones as `skipped-stale`; a library whose pass threw is absent. */
  missing: MissingFileScanResult[];
  backRefs: BackRefRefreshResult | undefined;
  /** Undefined when the GC did not run (skipped, stopped, or it threw). */
  gc: OrphanGcResult | undefined;
  /**
   * What the GC was told: every library Online and not braked (suspect), and no pass aborted or
   * failed on this tick.
   */
  allOnline: boolean;
  /** Passes that threw (logged); any of them makes the tick count as not all-Online for the GC. */
  failures: string[];
  dryRun: boolean;
  durationMs: number;
}

/**
 * The maintenance pipeline of one watcher tick (SPEC 3), after ingest: the missing-file scan of
 * each Online library, then the back-ref refresh, then the orphan GC. The GC deletes only if
 * every library was Online and nothing went wrong on this tick (an aborted scan means a root
 * vanished mid-tick). Every pass logs its counts; metrics are updated when given.
 */
export async function runMaintenance(opts: RunMaintenanceOptions): Promise<MaintenanceSummary> {
  const startedAt = Date.now();
  const { logger, metrics } = opts;
  const dryRun = opts.config.MAINTENANCE_DRY_RUN;
  const summary: MaintenanceSummary = {
    missing: [],
    backRefs: undefined,
    gc: undefined,
    allOnline: false,
    failures: [],
    dryRun,
    durationMs: 0,
  };
  const finish = (): MaintenanceSummary => {
    summary.durationMs = Date.now() - startedAt;
    const counts = {
      dryRun,
      allOnline: summary.allOnline,
      missingMarked: sum(summary.missing.map((r) => r.marked)),
      missingRevived: sum(summary.missing.map((r) => r.revived)),
      missingDeleted: sum(summary.missing.map((r) => r.deleted)),
      missingWouldMark: sum(summary.missing.map((r) => r.wouldMark)),
      missingWouldDelete: sum(summary.missing.map((r) => r.wouldDelete)),
      missingBraked: summary.missing.filter((r) => r.braked).length,
      missingSkippedErrors: sum(summary.missing.map((r) => r.skippedErrors)),
      missingAborted: summary.missing.filter((r) => r.outcome === 'aborted').length,
      repointed: summary.backRefs?.total ?? 0,
      gcPending: summary.gc?.pending ?? 0,
      gcDeleted: summary.gc ? sum(Object.values(summary.gc.deleted)) : 0,
      gcRevived: summary.gc?.revived ?? 0,
      gcCancelled: summary.gc?.cancelled ?? 0,
      failures: summary.failures,
      durationMs: summary.durationMs,
    };
    // A quiet tick logs at debug: with ticks of seconds, info would be one line per tick.
    const eventful = [
      counts.missingMarked,
      counts.missingRevived,
      counts.missingWouldMark,
      counts.missingBraked,
      counts.missingDeleted,
      counts.missingWouldDelete,
      counts.missingSkippedErrors,
      counts.missingAborted,
      counts.repointed,
      counts.gcDeleted,
      summary.gc?.hashesDeleted ?? 0,
      counts.gcRevived,
      counts.gcCancelled,
      summary.failures.length,
    ].some((n) => n > 0);
    if (eventful) logger.info(counts, 'maintenance done');
    else logger.debug(counts, 'maintenance done');
    return summary;
  };

  for (const library of opts.libraries) {
    if (opts.signal?.aborted) return finish();
    try {
      const result = await runMissingFileScan({
        db: opts.db,
        library,
        pageSize: opts.config.IMAGE_EXIF_MISSING_SCAN_PAGE_SIZE,
        deleteCap: opts.config.IMAGE_EXIF_MISSING_DELETE_CAP_PER_TICK,
        dryRun,
        graceSeconds: opts.config.MISSING_GRACE_SECONDS,
        brake: {
          minChecked: opts.config.MISSING_SUSPECT_MIN_CHECKED,
          maxShare: opts.config.MISSING_SUSPECT_SHARE,
        },
        logger: logger.child({ library: library.name }),
        ...(opts.fs ? { fs: opts.fs } : {}),
        ...(opts.markerFile ? { markerFile: opts.markerFile } : {}),
        ...(opts.now ? { now: opts.now } : {}),
        ...(opts.onPhase ? { onPhase: opts.onPhase } : {}),
      });
      summary.missing.push(result);
      if (metrics) recordMissingScan(metrics, library.name, result);
    } catch (err) {
      summary.failures.push(`missing-file scan of ${library.name}`);
      logger.error({ err, library: library.name }, 'missing-file scan failed');
    }
  }

  if (opts.signal?.aborted) return finish();
  await opts.onPhase?.('backrefs');
  if (opts.signal?.aborted) return finish();
  try {
    summary.backRefs = await runBackRefRefresh({ db: opts.db, logger });
    if (metrics) {
      for (const [table, n] of Object.entries(summary.backRefs.repointed)) {
        if (n > 0) metrics.backRefsRepointed.inc({ table }, n);
      }
    }
  } catch (err) {
    summary.failures.push('back-ref refresh');
    logger.error({ err }, 'back-ref refresh failed');
  }

  if (opts.signal?.aborted) return finish();
  summary.allOnline =
    opts.libraries.every((library) => library.status === 'online') &&
    summary.missing.every((result) => result.outcome !== 'aborted' && !result.braked) &&
    summary.failures.length === 0;
  if (summary.allOnline && opts.ingestScanned === false) {
    logger.debug('orphan GC skipped: no ingest scan on this tick');
    return finish();
  }
  await opts.onPhase?.('gc');
  if (opts.signal?.aborted) return finish();
  try {
    summary.gc = await opts.gcRunner.runTick({ db: opts.db, allOnline: summary.allOnline, dryRun, logger });
    if (metrics) recordGc(metrics, summary.gc);
  } catch (err) {
    summary.failures.push('orphan GC');
    logger.error({ err }, 'orphan GC failed');
  }
  return finish();
}

function recordMissingScan(
  metrics: MaintenanceMetrics,
  library: string,
  result: MissingFileScanResult,
): void {
  if (result.marked > 0) metrics.missingRowsMarked.inc({ library }, result.marked);
  if (result.revived > 0) metrics.missingRowsRevived.inc({ library }, result.revived);
  if (result.deleted > 0) metrics.missingRowsDeleted.inc({ library }, result.deleted);
  if (result.wouldDelete > 0) metrics.dryRunWouldDelete.inc({ pass: 'missing' }, result.wouldDelete);
  if (result.outcome !== 'aborted') metrics.librarySuspect.set({ library }, result.braked ? 1 : 0);
  for (const [code, n] of Object.entries(result.errorCodes))
    metrics.missingStatErrors.inc({ library, code }, n);
  if (result.outcome === 'aborted') metrics.missingScanAborted.inc({ library });
}

function recordGc(metrics: MaintenanceMetrics, gc: OrphanGcResult): void {
  metrics.gcPending.set(gc.pending);
  for (const [table, n] of Object.entries(gc.deleted) as [DerivedTable, number][]) {
    if (n > 0) metrics.gcRowsDeleted.inc({ table }, n);
  }
  const wouldDelete = sum(Object.values(gc.wouldDelete));
  if (wouldDelete > 0) metrics.dryRunWouldDelete.inc({ pass: 'gc' }, wouldDelete);
  if (gc.revived > 0) metrics.gcRevived.inc(gc.revived);
  if (gc.cancelled > 0) metrics.gcCancelled.inc(gc.cancelled);
}

function sum(values: readonly number[]): number {
  return values.reduce((total, n) => total + n, 0);
}
