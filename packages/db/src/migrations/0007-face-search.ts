import type { Kysely, Migration } from 'kysely';

/**
 * Faces made usable (issue 13):
 * - `embedding_zero` (0/1): a manual face saved with `force` carries a zero embedding; it is kept
 *   out of similarity search, clustering and auto-binding.
 * - `cluster_id`, `clustered` (0/1): incremental suggestion clustering (core `clusterNewFace`).
 *   `clustered = 0` means the face was not looked at yet; `cluster_id` null after that = noise.
 * - indexes for the backlog (detected per hash), the per-model scans and the cluster listing.
 * Idempotent like 0005 (columns added only when absent, indexes `if not exists`).
 */
export function faceSearchMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const tables = await db.introspection.getTables();
      const columns = new Set(
        tables.find((t) => t.name === 'face_detections')?.columns.map((c) => c.name) ?? [],
      );
      if (!columns.has('embedding_zero')) {
        await db.schema
          .alterTable('face_detections')
          .addColumn('embedding_zero', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      }
      if (!columns.has('cluster_id')) {
        await db.schema.alterTable('face_detections').addColumn('cluster_id', 'integer').execute();
      }
      if (!columns.has('clustered')) {
        await db.schema
          .alterTable('face_detections')
          .addColumn('clustered', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      }
      for (const cols of [['model_version', 'status', 'clustered'], ['cluster_id']]) {
        await db.schema
          .createIndex(`face_detections_${cols.join('_')}_idx`)
          .ifNotExists()
          .on('face_detections')
          .columns(cols)
          .execute();
      }
    },
  };
}
