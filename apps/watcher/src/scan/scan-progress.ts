import type { Logger } from '@lumen/runtime';

export type ScanKind = 'quick' | 'full';

/** Counts of one library scan, logged every few seconds and once at the end. */
export interface ScanCounts {
  /** Files listed by the walk. */
  seen: number;
  /** Of those, files with a media extension. */
  media: number;
  /** Directories listed / compared with the database. */
  dirs: number;
  comparedDirs: number;
  /** Quick scans: directories compared only because the database had no row in them (moved in). */
  unknownDirs: number;
  /** Rows marked missing whose file the scan listed again (back in image_exif, not re-ingested). */
  revived: number;
  /** Files found new / changed / sent again because their earlier result was lost (full scans). */
  new: number;
  changed: number;
  retried: number;
  /** Ingest results. */
  ingested: number;
  unsupported: number;
  failed: number;
  /** Directories the walk could not list. */
  walkErrors: number;
  /** Files left alone because the api could not serve their path (control characters, not UTF-8, ...). */
  skippedNames: number;
}

export interface ScanSummary extends ScanCounts {
  library: string;
  kind: ScanKind;
  durationMs: number;
  /** Files listed per second. */
  filesPerSecond: number;
  /** Files ingested (any outcome) per second. */
  ingestedPerSecond: number;
  completed: boolean;
}

export class ScanProgress {
  readonly counts: ScanCounts = {
    seen: 0,
    media: 0,
    dirs: 0,
    comparedDirs: 0,
    unknownDirs: 0,
    revived: 0,
    new: 0,
    changed: 0,
    retried: 0,
    ingested: 0,
    unsupported: 0,
    failed: 0,
    walkErrors: 0,
    skippedNames: 0,
  };
  private readonly startedAt = performance.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly library: string,
    readonly kind: ScanKind,
    private readonly logger: Logger,
    intervalMs = 5_000,
  ) {
    this.timer = setInterval(() => this.logger.info(this.snapshot(false), 'scan progress'), intervalMs);
    this.timer.unref();
  }

  /** Stop the periodic log and log (and return) the summary. */
  finish(completed: boolean): ScanSummary {
    clearInterval(this.timer);
    this.timer = undefined;
    const summary = this.snapshot(completed);
    const interesting =
      summary.new + summary.changed + summary.retried + summary.failed + summary.walkErrors > 0;
    const level = summary.kind === 'full' || interesting || !completed ? 'info' : 'debug';
    this.logger[level](summary, completed ? 'scan done' : 'scan stopped');
    return summary;
  }

  snapshot(completed: boolean): ScanSummary {
    const durationMs = performance.now() - this.startedAt;
    return {
      library: this.library,
      kind: this.kind,
      ...this.counts,
      durationMs: Math.round(durationMs),
      filesPerSecond: perSecond(this.counts.seen, durationMs),
      ingestedPerSecond: perSecond(
        this.counts.ingested + this.counts.unsupported + this.counts.failed,
        durationMs,
      ),
      completed,
    };
  }
}

function perSecond(count: number, ms: number): number {
  return ms > 0 ? Math.round((count * 10_000) / ms) / 10 : 0;
}
