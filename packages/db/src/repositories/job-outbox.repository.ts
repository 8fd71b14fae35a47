import type { Kysely, Selectable } from 'kysely';
import type { DB, JobOutbox } from '../schema.generated.ts';
import { chunk, IN_LIST_CHUNK_SIZE } from './chunks.ts';

export type JobOutboxRow = Selectable<JobOutbox>;

/** A bus job to enqueue once the transaction that writes it commits. */
export interface OutboxJobInput {
  subject: string;
  /** The bus message id: a second enqueue within the dedup window is dropped. */
  dedupId: string;
  /** The job's payload (stored as JSON). */
  payload: unknown;
}

/**
 * The transactional outbox (migration 0011): jobs written in the transaction of the rows they are
 * about, deleted once enqueued. Give it the transaction (`new JobOutboxRepository(trx)`) to add.
 */
export class JobOutboxRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Store jobs; returns their rows, ids included, oldest first. */
  async add(jobs: readonly OutboxJobInput[], createdAt = new Date().toISOString()): Promise<JobOutboxRow[]> {
    const added: JobOutboxRow[] = [];
    for (const part of chunk(jobs, IN_LIST_CHUNK_SIZE)) {
      const rows = await this.db
        .insertInto('job_outbox')
        .values(
          part.map((job) => ({
            subject: job.subject,
            dedup_id: job.dedupId,
            payload: JSON.stringify(job.payload),
            created_at: createdAt,
          })),
        )
        .returningAll()
        .execute();
      added.push(...rows);
    }
    return added.sort((a, b) => a.id - b.id);
  }

  /** Up to `limit` jobs with an id above `afterId`, oldest first. */
  async page(afterId: number, limit: number): Promise<JobOutboxRow[]> {
    return this.db
      .selectFrom('job_outbox')
      .selectAll()
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** Drop jobs (enqueued); returns how many were still there. */
  async delete(ids: readonly number[]): Promise<number> {
    let deleted = 0;
    for (const part of chunk(ids, IN_LIST_CHUNK_SIZE)) {
      const result = await this.db.deleteFrom('job_outbox').where('id', 'in', part).executeTakeFirst();
      deleted += Number(result.numDeletedRows);
    }
    return deleted;
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('job_outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
