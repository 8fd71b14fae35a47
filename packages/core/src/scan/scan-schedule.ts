/**
 * When a library gets a full scan rather than a quick one, and what "modified since the last
 * scan" means for a quick one.
 */

export interface ScanScheduleInput {
  nowMs: number;
  fullIntervalMs: number;
  /** ISO-8601 times from the libraries table (null = never). */
  lastFullScanAt: string | null;
  lastQuickScanAt: string | null;
  /** The library was not Online (or not scanned at all) on the previous tick of this process. */
  firstScanThisRun: boolean;
}

/**
 * Full on the first scan of a run (and after a Stale spell, when anything may have changed
 * under old mtimes), when no full scan is recorded, and when the full interval has passed.
 */
export function chooseScanKind(input: ScanScheduleInput): 'quick' | 'full' {
  if (input.firstScanThisRun) return 'full';
  const lastFull = parseTime(input.lastFullScanAt);
  if (lastFull === undefined) return 'full';
  return input.nowMs - lastFull >= input.fullIntervalMs ? 'full' : 'quick';
}

/**
 * Directories modified after this instant are compared by a quick scan: the start of the last
 * scan of either kind, minus `slackMs` (coarse mtimes on FAT/SMB, a file server's clock a little
 * behind ours). 0 when nothing was scanned yet.
 */
export function quickScanCutoffMs(
  lastQuickScanAt: string | null,
  lastFullScanAt: string | null,
  slackMs: number,
): number {
  const times = [parseTime(lastQuickScanAt), parseTime(lastFullScanAt)].filter(
    (t): t is number => t !== undefined,
  );
  if (times.length === 0) return 0;
  return Math.max(0, Math.max(...times) - slackMs);
}

function parseTime(iso: string | null): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}
