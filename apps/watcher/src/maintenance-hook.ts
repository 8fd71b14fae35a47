import type { LibraryRow } from '@lumen/db';
import type { LibraryStatus } from './library/library-probe.ts';
import type { MaintenancePhase } from './maintenance/maintenance-pipeline.ts';

/**
 * The moments of a tick, in order: before the probes, before the scans, after each directory a scan
 * compared, before the maintenance passes, and the phases inside the maintenance pipeline. A test
 * given `onPhase` (WatcherDeps) can change the world at any of them, or hold the tick there.
 */
export type TickPhase = 'probe' | 'scan' | 'scan:directory' | 'maintenance' | 'faces' | MaintenancePhase;

/** What a maintenance pass sees on each tick, after ingest. */
export interface TickContext {
  /** Every library with this tick's probe result. Nothing destructive may touch a Stale one. */
  libraries: { library: LibraryRow; status: LibraryStatus }[];
  /**
   * Every Online library's scan on this tick ran to the end. When false, a new location of a
   * moved file may not be in the database yet, so the orphan GC must not count this tick.
   */
  ingestScanned: boolean;
  /** Aborts when the watcher stops. */
  signal: AbortSignal;
}

/**
 * One step of the maintenance pipeline (SPEC 3: missing-file scan, back-ref refresh, orphan GC),
 * run in order after ingest on every tick. A pass that throws is logged and the next one runs.
 */
export interface MaintenancePass {
  name: string;
  run(ctx: TickContext): Promise<void>;
}
