import { Counter, Gauge, type Registry } from 'prom-client';

/** Prometheus metrics of the maintenance pipeline; create once per registry. */
export interface MaintenanceMetrics {
  /** Rows marked missing (hidden, kept for the grace period). Labels: library. */
  missingRowsMarked: Counter<'library'>;
  /** Missing rows whose file was found again. Labels: library. */
  missingRowsRevived: Counter<'library'>;
  /** Missing rows deleted after their grace period. Labels: library. */
  missingRowsDeleted: Counter<'library'>;
  /** 1 while the library is suspect and unconfirmed (the brake holds), else 0. Labels: library. */
  librarySuspect: Gauge<'library'>;
  /** Files the missing-file scan could not stat (kept). Labels: library, code. */
  missingStatErrors: Counter<'library' | 'code'>;
  /** Missing-file scan passes aborted (root gone or hung; nothing changed). Labels: library. */
  missingScanAborted: Counter<'library'>;
  /** Derived rows repointed by the back-ref refresh. Labels: table. */
  backRefsRepointed: Counter<'table'>;
  /** Orphaned hashes waiting for a second all-Online tick. */
  gcPending: Gauge<string>;
  /** Derived rows deleted by the orphan GC. Labels: table. */
  gcRowsDeleted: Counter<'table'>;
  /** Pending hashes that came back. */
  gcRevived: Counter<string>;
  /** Pending hashes dropped by a tick with a Stale library. */
  gcCancelled: Counter<string>;
  /** Rows a dry run would have deleted. Labels: pass (missing|gc). */
  dryRunWouldDelete: Counter<'pass'>;
}

export function createMaintenanceMetrics(registry: Registry): MaintenanceMetrics {
  const registers = [registry];
  return {
    missingRowsMarked: new Counter({
      name: 'lumen_maintenance_missing_rows_marked_total',
      help: 'Rows marked missing because their file is gone (hidden, deleted after the grace period)',
      labelNames: ['library'],
      registers,
    }),
    missingRowsRevived: new Counter({
      name: 'lumen_maintenance_missing_rows_revived_total',
      help: 'Missing rows whose file was found again',
      labelNames: ['library'],
      registers,
    }),
    missingRowsDeleted: new Counter({
      name: 'lumen_maintenance_missing_rows_deleted_total',
      help: 'Missing rows deleted after the grace period',
      labelNames: ['library'],
      registers,
    }),
    librarySuspect: new Gauge({
      name: 'lumen_library_suspect',
      help: '1 while many files of the library vanished at once (or a folder lists empty) and no admin confirmed it',
      labelNames: ['library'],
      registers,
    }),
    missingStatErrors: new Counter({
      name: 'lumen_maintenance_missing_stat_errors_total',
      help: 'Files the missing-file scan could not stat (kept, not deleted)',
      labelNames: ['library', 'code'],
      registers,
    }),
    missingScanAborted: new Counter({
      name: 'lumen_maintenance_missing_scan_aborted_total',
      help: 'Missing-file scan passes aborted because the library root vanished or hung',
      labelNames: ['library'],
      registers,
    }),
    backRefsRepointed: new Counter({
      name: 'lumen_maintenance_backrefs_repointed_total',
      help: 'Derived rows (tags, favorites, faces, insights) repointed at a surviving location',
      labelNames: ['table'],
      registers,
    }),
    gcPending: new Gauge({
      name: 'lumen_maintenance_gc_pending',
      help: 'Orphaned content hashes waiting for a second all-Online tick',
      registers,
    }),
    gcRowsDeleted: new Counter({
      name: 'lumen_maintenance_gc_rows_deleted_total',
      help: 'Derived rows deleted by the orphan GC',
      labelNames: ['table'],
      registers,
    }),
    gcRevived: new Counter({
      name: 'lumen_maintenance_gc_revived_total',
      help: 'Pending orphaned hashes that came back and were kept',
      registers,
    }),
    gcCancelled: new Counter({
      name: 'lumen_maintenance_gc_cancelled_total',
      help: 'Pending orphaned hashes dropped by a tick on which a library was Stale',
      registers,
    }),
    dryRunWouldDelete: new Counter({
      name: 'lumen_maintenance_dry_run_would_delete_total',
      help: 'Rows a dry run would have deleted',
      labelNames: ['pass'],
      registers,
    }),
  };
}
