import type { Database } from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import type { MaintenancePass } from '../maintenance-hook.ts';
import type { MaintenanceMetrics } from './maintenance-metrics.ts';
import {
  type MaintenanceKnobs,
  type MaintenancePhase,
  type MaintenanceSummary,
  runMaintenance,
} from './maintenance-pipeline.ts';
import type { MissingScanFs } from './missing-file-scan.ts';
import { OrphanGcRunner } from './orphan-gc.ts';

export interface MaintenancePassDeps {
  db: Database['db'];
  config: MaintenanceKnobs;
  logger: Logger;
  metrics?: MaintenanceMetrics;
  /** LIBRARY_MARKER_FILE when REQUIRE_LIBRARY_MARKER is on. */
  markerFile?: string;
  /** The clock of missing_since and the grace period (default Date.now). */
  now?: () => number;
  /** Called at each phase of the pipeline (tests). */
  onPhase?: (phase: MaintenancePhase) => Promise<void> | void;
  /** File-system layer of the missing-file scan (tests inject failures). */
  fs?: MissingScanFs;
}

export interface PipelineMaintenancePass extends MaintenancePass {
  /** The summary of the last tick (tests, status pages). */
  lastSummary(): MaintenanceSummary | undefined;
}

/**
 * The whole maintenance pipeline as one pass of the watcher's tick (`start({ maintenance: [...] })`).
 * It keeps one `OrphanGcRunner`, so the GC's pending set lives as long as the watcher.
 */
export function createMaintenancePass(deps: MaintenancePassDeps): PipelineMaintenancePass {
  const gcRunner = new OrphanGcRunner();
  const logger = deps.logger.child({ component: 'maintenance' });
  let last: MaintenanceSummary | undefined;
  return {
    name: 'maintenance',
    async run(ctx) {
      last = await runMaintenance({
        db: deps.db,
        libraries: ctx.libraries.map(({ library, status }) => ({
          id: library.id,
          name: library.name,
          root: library.root,
          status,
          suspect: {
            suspectReason: library.suspect_reason,
            suspectSince: library.suspect_since,
            missingConfirmedAt: library.missing_confirmed_at,
          },
        })),
        config: deps.config,
        gcRunner,
        logger,
        ingestScanned: ctx.ingestScanned,
        signal: ctx.signal,
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        ...(deps.markerFile ? { markerFile: deps.markerFile } : {}),
        ...(deps.now ? { now: deps.now } : {}),
        ...(deps.onPhase ? { onPhase: deps.onPhase } : {}),
        ...(deps.fs ? { fs: deps.fs } : {}),
      });
    },
    lastSummary: () => last,
  };
}
