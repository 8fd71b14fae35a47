import { type Database, type DerivedCounts, MaintenanceRepository } from '@lumen/db';
import type { Logger } from '@lumen/runtime';

export interface RunBackRefRefreshOptions {
  db: Database['db'];
  logger: Logger;
  /** Rows repointed per UPDATE statement (default 1000). */
  batchSize?: number;
}

export interface BackRefRefreshResult {
  /** Rows repointed, per table. */
  repointed: DerivedCounts;
  total: number;
}

/**
 * Back-ref refresh (SPEC 3.2), database only: tags, favorites, faces and insights whose location
 * no longer holds their content follow the content to a surviving location (the lowest
 * `image_exif` id with the same hash). This is also the reconcile step of a move (recent ->
 * archive): once the old row is gone, the derived rows point at the new one. Idempotent; rows
 * whose hash is gone everywhere are left for the orphan GC.
 */
export async function runBackRefRefresh(opts: RunBackRefRefreshOptions): Promise<BackRefRefreshResult> {
  const repointed = await new MaintenanceRepository(opts.db).refreshBackRefs(
    opts.batchSize === undefined ? {} : { batchSize: opts.batchSize },
  );
  const total = Object.values(repointed).reduce((sum, n) => sum + n, 0);
  if (total > 0) opts.logger.info({ repointed, total }, 'back-ref refresh: derived rows repointed');
  else opts.logger.debug({ repointed, total }, 'back-ref refresh: nothing to repoint');
  return { repointed, total };
}
