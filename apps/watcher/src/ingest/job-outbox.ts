import type { Bus } from '@lumen/bus';
import type { JobOutboxRepository, JobOutboxRow } from '@lumen/db';
import type { Logger } from '@lumen/runtime';

export interface JobOutboxOptions {
  repository: JobOutboxRepository;
  bus: Bus;
  logger: Logger;
  /** Jobs read per query when draining leftovers (default 100). */
  pageSize?: number;
}

export interface SendResult {
  sent: number;
  failed: number;
}

/**
 * Enqueues the jobs of the transactional outbox (`job_outbox`, written with the rows they are
 * about) and deletes each once the bus has it. `send` takes the jobs a write just stored; `drain`
 * (the lease holder, every tick) takes whatever is left: jobs of a watcher that died between its
 * commit and its enqueue, or whose enqueue failed (NATS down). A job may be enqueued twice (a
 * death between enqueue and delete, two replicas draining at a takeover): its dedup id and the
 * consumer's idempotent handling make that harmless. A job never is lost.
 */
export class JobOutbox {
  /** Jobs being enqueued by this process: a drain skips them. */
  private readonly sending = new Set<number>();
  private readonly pageSize: number;

  constructor(private readonly opts: JobOutboxOptions) {
    this.pageSize = opts.pageSize ?? 100;
  }

  /** Enqueue jobs, then delete those the bus took. Never rejects: a failure is logged and left. */
  async send(rows: readonly JobOutboxRow[]): Promise<SendResult> {
    const mine = rows.filter((row) => !this.sending.has(row.id));
    for (const row of mine) this.sending.add(row.id);
    try {
      const results = await Promise.allSettled(mine.map((row) => this.enqueue(row)));
      const sent: number[] = [];
      results.forEach((result, i) => {
        const row = mine[i]!;
        if (result.status === 'fulfilled') sent.push(row.id);
        else {
          this.opts.logger.error(
            { err: result.reason, subject: row.subject, dedupId: row.dedup_id },
            'enqueueing an outbox job failed; the next tick tries again',
          );
        }
      });
      try {
        await this.opts.repository.delete(sent);
      } catch (err) {
        // Enqueued but kept: sent again later, which the dedup id and the consumer make harmless.
        this.opts.logger.error({ err, jobs: sent.length }, 'deleting enqueued outbox jobs failed');
      }
      return { sent: sent.length, failed: mine.length - sent.length };
    } finally {
      for (const row of mine) this.sending.delete(row.id);
    }
  }

  /**
   * Enqueue every job left in the outbox, a page at a time (never the whole table in memory).
   * Stops at the first page with a failure (the bus is likely down; the next tick goes on).
   */
  async drain(signal?: AbortSignal): Promise<SendResult> {
    const total: SendResult = { sent: 0, failed: 0 };
    let afterId = 0;
    for (;;) {
      if (signal?.aborted) break;
      const page = await this.opts.repository.page(afterId, this.pageSize);
      if (page.length === 0) break;
      afterId = page[page.length - 1]!.id;
      const result = await this.send(page);
      total.sent += result.sent;
      total.failed += result.failed;
      if (result.failed > 0 || page.length < this.pageSize) break;
    }
    if (total.sent + total.failed > 0) {
      this.opts.logger.info(total, 'outbox drained: jobs left by an earlier write enqueued');
    }
    return total;
  }

  private async enqueue(row: JobOutboxRow): Promise<void> {
    let payload: unknown;
    try {
      payload = JSON.parse(row.payload);
    } catch {
      // Cannot happen short of a hand-edited row; kept, it would be retried forever.
      this.opts.logger.error({ id: row.id, subject: row.subject }, 'dropping an outbox job that is not JSON');
      return;
    }
    await this.opts.bus.enqueue(row.subject, payload, { dedupId: row.dedup_id });
  }
}
