import type {
  FollowedEdit,
  ImageExifInput,
  ImageExifRepository,
  JobOutboxRow,
  OutboxJobInput,
} from '@lumen/db';
import type { Logger } from '@lumen/runtime';

/** A row waiting to be written, with whatever the caller needs once it has its id. */
export interface PendingRow<M> {
  row: ImageExifInput;
  meta: M;
  /** A bus job about the row, stored in the outbox in the row's transaction. */
  job?: OutboxJobInput;
}

export interface WrittenRow<M> extends PendingRow<M> {
  id: number;
}

export interface IngestRowWriterOptions<M> {
  imageExif: ImageExifRepository;
  logger: Logger;
  /**
   * Called after each successful flush with the rows just written (events, previews) and the
   * outbox jobs stored with them (to enqueue, then delete).
   */
  onWritten: (rows: WrittenRow<M>[], outbox: JobOutboxRow[]) => Promise<void>;
  /** Flush at this many rows... */
  maxRows?: number;
  /** ...or this long after the first waiting row. */
  maxDelayMs?: number;
}

/**
 * Batches ingest results into one upsert transaction per flush (default every 50 rows or
 * 250 ms): SQLite writes one transaction of 50 rows far faster than 50 autocommits. Rows whose
 * content hash changed in place take the derived rows of their old hash along (see
 * `ImageExifRepository.upsertFollowingEdits` and docs/operations.md, "What follows an edited file").
 * A failed flush is logged and its rows dropped: no row means the next full scan finds the
 * files again as new.
 */
export class IngestRowWriter<M> {
  private pending: PendingRow<M>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Settles after the flush that takes the rows waiting now. */
  private nextFlush: Promise<void>;
  private settleNextFlush: () => void = () => {};
  private readonly maxRows: number;
  private readonly maxDelayMs: number;

  constructor(private readonly opts: IngestRowWriterOptions<M>) {
    this.maxRows = opts.maxRows ?? 50;
    this.maxDelayMs = opts.maxDelayMs ?? 250;
    this.nextFlush = this.newFlushPromise();
  }

  private newFlushPromise(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.settleNextFlush = resolve;
    });
  }

  get waiting(): number {
    return this.pending.length;
  }

  /**
   * Queue a row (and a job about it, committed with it); resolves once the flush that wrote it (or
   * failed to) is done. Never rejects.
   */
  add(row: ImageExifInput, meta: M, job?: OutboxJobInput): Promise<void> {
    this.pending.push({ row, meta, ...(job ? { job } : {}) });
    if (this.pending.length >= this.maxRows) return this.flush();
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.maxDelayMs);
      this.timer.unref();
    }
    return this.nextFlush;
  }

  /** Write everything added so far; resolves when it (and every earlier flush) is done. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    const settle = this.settleNextFlush;
    this.nextFlush = this.newFlushPromise();
    // Flushes run one after another, so rows are written (and announced) in the order they came.
    this.flushing = this.flushing
      .then(() => (batch.length > 0 ? this.write(batch) : undefined))
      .finally(settle);
    return this.flushing;
  }

  private async write(batch: PendingRow<M>[]): Promise<void> {
    let written: WrittenRow<M>[];
    let outbox: JobOutboxRow[];
    // One job per dedup id (a file twice in a batch, or two paths of one content).
    const jobs = [
      ...new Map(batch.flatMap((p) => (p.job ? [[p.job.dedupId, p.job] as const] : []))).values(),
    ];
    try {
      // A file rewritten in place (new hash at the same path) takes its tags, favorites, faces and
      // insights along, in the same transaction as its row.
      const {
        written: result,
        edits,
        outbox: stored,
      } = await this.opts.imageExif.upsertFollowingEdits(
        batch.map((p) => p.row),
        jobs,
      );
      outbox = stored;
      for (const edit of edits) logFollowedEdit(this.opts.logger, edit);
      const ids = new Map(result.map((r) => [`${r.library_id}\u0000${r.rel_path}`, r.id]));
      written = [];
      for (const p of batch) {
        const id = ids.get(`${p.row.library_id}\u0000${p.row.rel_path}`);
        if (id !== undefined) written.push({ ...p, id });
      }
    } catch (err) {
      this.opts.logger.error(
        { err, rows: batch.length, first: batch[0]?.row.rel_path },
        'writing ingested rows failed; the files are picked up again by the next full scan',
      );
      return;
    }
    try {
      await this.opts.onWritten(written, outbox);
    } catch (err) {
      this.opts.logger.error({ err }, 'after-write step of ingested rows failed');
    }
  }
}

function logFollowedEdit(logger: Logger, edit: FollowedEdit): void {
  const { result } = edit;
  const where = {
    libraryId: edit.libraryId,
    path: edit.relPath,
    oldHash: edit.oldHash,
    newHash: edit.newHash,
  };
  if (result.oldHashLivesOn) {
    logger.info(
      { ...where, copied: result.rekeyed },
      'file edited in place; its old content lives on elsewhere: both keep the tags, favorites, faces and insights',
    );
    return;
  }
  const moved = Object.values(result.rekeyed).reduce((sum, n) => sum + n, 0);
  const dropped = Object.values(result.dropped).reduce((sum, n) => sum + n, 0);
  if (moved + dropped === 0) return;
  logger.info(
    { ...where, rekeyed: result.rekeyed, dropped: result.dropped },
    'file edited in place: its tags, favorites, faces and insights follow the new content',
  );
}
