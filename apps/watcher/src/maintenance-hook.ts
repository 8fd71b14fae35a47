import type { LibraryRow } from '@lumen/db';
import type { LibraryStatus } from './library/library-probe.ts';

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
