/**
 * Two-lane bounded concurrency: at most `concurrency` tasks run at once; a `low` task (previews)
 * starts only when no `high` task (thumbnails, metadata) is waiting, so a new library becomes
 * browsable before the slower previews are made. Tasks handle their own errors; one that throws
 * anyway is reported to `onError` and never stops the scheduler.
 */
export type Task = () => Promise<void>;

export interface WorkSchedulerOptions {
  concurrency: number;
  /** Low-priority tasks kept waiting at most; more are dropped (and counted). Default 10 000. */
  maxLowPending?: number;
  onError?: (err: unknown) => void;
}

export class WorkScheduler {
  readonly concurrency: number;
  /** Low-priority tasks kept waiting at most. */
  readonly maxLowPending: number;
  private readonly onError: (err: unknown) => void;
  private readonly high: Task[] = [];
  private readonly low: Task[] = [];
  private running = 0;
  private waiters: (() => void)[] = [];
  /** Low-priority tasks dropped because the low lane was full. */
  droppedLow = 0;

  constructor(opts: WorkSchedulerOptions) {
    this.concurrency = Math.max(1, opts.concurrency);
    this.maxLowPending = opts.maxLowPending ?? 10_000;
    this.onError = opts.onError ?? (() => {});
  }

  get pendingHigh(): number {
    return this.high.length;
  }

  get pendingLow(): number {
    return this.low.length;
  }

  get active(): number {
    return this.running;
  }

  runHigh(task: Task): void {
    this.high.push(task);
    this.pump();
  }

  /** Returns false when the low lane is full and the task was dropped. */
  runLow(task: Task): boolean {
    if (this.low.length >= this.maxLowPending) {
      this.droppedLow++;
      return false;
    }
    this.low.push(task);
    this.pump();
    return true;
  }

  /** Drop every waiting low-priority task; returns how many. */
  clearLow(): number {
    const n = this.low.length;
    this.low.length = 0;
    this.notify();
    return n;
  }

  /** Drop every waiting high-priority task; returns how many. */
  clearHigh(): number {
    const n = this.high.length;
    this.high.length = 0;
    this.notify();
    return n;
  }

  /** Resolves once fewer than `maxPending` high-priority tasks wait (producer backpressure). */
  async waitForRoom(maxPending: number): Promise<void> {
    while (this.high.length >= maxPending) await this.nextChange();
  }

  /** Resolves when `done()` holds; re-checked whenever a task starts or ends. */
  async until(done: () => boolean): Promise<void> {
    while (!done()) await this.nextChange();
  }

  /** Nothing waiting and nothing running. */
  isIdle(): boolean {
    return this.running === 0 && this.high.length === 0 && this.low.length === 0;
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const task = this.high.shift() ?? this.low.shift();
      if (!task) break;
      this.running++;
      void this.execute(task);
    }
    this.notify();
  }

  private async execute(task: Task): Promise<void> {
    try {
      await task();
    } catch (err) {
      this.onError(err);
    } finally {
      this.running--;
      this.pump();
    }
  }
}
