import { Counter, Gauge, type Registry } from 'prom-client';

/** Prometheus metrics of the maintenance pipeline; create once per registry. */
export interface MaintenanceMetrics {
  /** image_exif rows deleted by the missing-file scan. Labels: library. */
  missingRowsDeleted: Counter<'library'>;
  /** Files the missing-file scan could not stat (kept). Labels: library, code. */
  missingStatErrors: Counter<'library' | 'code'>;
  /** Missing-file scan passes aborted (root gone or hung; nothing deleted). Labels: library. */
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
    missingRowsDeleted: new Counter({
      name: 'lumen_maintenance_missing_rows_deleted_total',
      help: 'image_exif rows deleted because their file is gone',
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
