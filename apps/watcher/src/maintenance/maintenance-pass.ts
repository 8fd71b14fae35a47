import type { Database } from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import type { MaintenancePass } from '../maintenance-hook.ts';
import type { MaintenanceMetrics } from './maintenance-metrics.ts';
import { type MaintenanceKnobs, type MaintenanceSummary, runMaintenance } from './maintenance-pipeline.ts';
import { OrphanGcRunner } from './orphan-gc.ts';

export interface MaintenancePassDeps {
  db: Database['db'];
  config: MaintenanceKnobs;
  logger: Logger;
  metrics?: MaintenanceMetrics;
  /** LIBRARY_MARKER_FILE when REQUIRE_LIBRARY_MARKER is on. */
  markerFile?: string;
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
        })),
        config: deps.config,
        gcRunner,
        logger,
        ingestScanned: ctx.ingestScanned,
        signal: ctx.signal,
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        ...(deps.markerFile ? { markerFile: deps.markerFile } : {}),
      });
    },
    lastSummary: () => last,
  };
}
