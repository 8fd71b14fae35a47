import type { Kysely, Migration } from 'kysely';
import { type DatabaseKind, dialectColumns } from './dialect-columns.ts';

/**
 * Transactional outbox (issue 15, docs/decisions.md "Durable events"): `job_outbox` holds the bus
 * jobs (today `video.ingested`) written in the same transaction as the rows they are about, so a
 * process that dies after the commit and before the enqueue leaves the job here instead of losing
 * it. The watcher enqueues each job once its row is written and deletes it; the lease holder
 * drains whatever a dead watcher left, every tick. `payload` is the job's JSON; `dedup_id` the bus
 * message id (a second enqueue within the dedup window is dropped). Idempotent (`if not exists`).
 */
export function jobOutboxMigration(kind: DatabaseKind): Migration {
  const t = dialectColumns(kind);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('job_outbox')
        .ifNotExists()
        .addColumn('id', 'integer', t.id)
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('dedup_id', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
