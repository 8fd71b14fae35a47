import { OrphanGcState } from '@lumen/core';
import { type Database, type DerivedCounts, emptyDerivedCounts, MaintenanceRepository } from '@lumen/db';
import type { Logger } from '@lumen/runtime';

export interface OrphanGcRunnerOptions {
  /** Orphaned hashes looked at per table per tick (default 5000); a larger backlog takes more ticks. */
  maxOrphansPerTable?: number;
}

export interface OrphanGcTickOptions {
  db: Database['db'];
  /** Every library was Online on this tick (probe, and no pass aborted on a vanished root). */
  allOnline: boolean;
  /** Log what would be deleted, delete nothing (MAINTENANCE_DRY_RUN). */
  dryRun: boolean;
  logger: Logger;
}

export interface OrphanGcResult {
  /** Orphaned hashes seen on this tick (0 on a Stale tick: not looked for). */
  orphans: number;
  /** Hashes remembered for the next tick. */
  pending: number;
  /** Hashes whose rows were deleted (or, on a dry run, would have been). */
  hashesDeleted: number;
  /** Rows deleted per table (all 0 on a dry run). */
  deleted: DerivedCounts;
  /** Rows a dry run would have deleted, per table (all 0 otherwise). */
  wouldDelete: DerivedCounts;
  /** Pending hashes that have an image_exif row again: kept. */
  revived: number;
  /** Pending hashes dropped because a library was Stale on this tick. */
  cancelled: number;
}

const DEFAULT_MAX_ORPHANS_PER_TABLE = 5_000;
const LOGGED_HASHES = 20;

/**
 * The orphan GC (SPEC 3.3) across ticks. Holds core's `OrphanGcState` in memory: derived rows
 * whose hash has no `image_exif` row are deleted only when two consecutive all-Online ticks saw
 * the hash orphaned. A Stale tick cancels everything pending; a restart forgets it (a delete can
 * only be delayed). The delete itself re-checks, in SQL, that the hash is still orphaned.
 */
export class OrphanGcRunner {
  private readonly state = new OrphanGcState();
  private readonly maxOrphansPerTable: number;
  /** Hashes deleted on the previous tick: the state still holds them as pending. */
  private deletedLastTick = new Set<string>();

  constructor(opts: OrphanGcRunnerOptions = {}) {
    this.maxOrphansPerTable = opts.maxOrphansPerTable ?? DEFAULT_MAX_ORPHANS_PER_TABLE;
  }

  /** Hashes that will be deleted on the next tick if it is all-Online and they are still orphaned. */
  pendingHashes(): string[] {
    return this.state.pendingHashes();
  }

  async runTick(opts: OrphanGcTickOptions): Promise<OrphanGcResult> {
    const { logger } = opts;
    const repo = new MaintenanceRepository(opts.db);
    const orphans = opts.allOnline ? await repo.findOrphanHashes(this.maxOrphansPerTable) : [];
    const decision = this.state.observe({ orphans, allOnline: opts.allOnline });
    // A hash deleted last tick is no orphan now; the state would call it revived.
    const revived = decision.revived.filter((hash) => !this.deletedLastTick.has(hash));
    this.deletedLastTick = new Set();

    const result: OrphanGcResult = {
      orphans: orphans.length,
      pending: decision.pending,
      hashesDeleted: 0,
      deleted: emptyDerivedCounts(),
      wouldDelete: emptyDerivedCounts(),
      revived: revived.length,
      cancelled: decision.cancelled,
    };
    if (decision.cancelled > 0) {
      logger.warn(
        { cancelled: decision.cancelled },
        'orphan GC: a library is not Online, pending deletes cancelled',
      );
    }
    if (revived.length > 0) {
      logger.info(
        { revived: revived.length, hashes: revived.slice(0, LOGGED_HASHES) },
        'orphan GC: hashes revived',
      );
    }

    if (decision.toDelete.length > 0) {
      const hashes = decision.toDelete.slice(0, LOGGED_HASHES);
      if (opts.dryRun) {
        result.wouldDelete = await repo.countRowsByHashes(decision.toDelete);
        result.hashesDeleted = decision.toDelete.length;
        logger.info(
          { hashes: decision.toDelete.length, rows: result.wouldDelete, sample: hashes },
          'orphan GC (dry run): would delete derived rows of content that is gone',
        );
      } else {
        result.deleted = await repo.deleteOrphanRows(decision.toDelete);
        result.hashesDeleted = decision.toDelete.length;
        this.deletedLastTick = new Set(decision.toDelete);
        logger.info(
          { hashes: decision.toDelete.length, rows: result.deleted, sample: hashes },
          'orphan GC: deleted derived rows of content that is gone',
        );
      }
    }
    logger.debug({ ...result }, 'orphan GC done');
    return result;
  }
}
