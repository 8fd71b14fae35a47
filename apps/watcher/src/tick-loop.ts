import type { Logger } from '@lumen/runtime';

export interface TickLoopOptions {
  intervalMs: number;
  /** One tick; `signal` aborts when the loop stops. */
  tick: (signal: AbortSignal) => Promise<void>;
  logger: Logger;
}

/**
 * Runs `tick` every `intervalMs` (measured from the start of the previous tick), never two at
 * once: a tick that runs long delays the next instead of overlapping it. Errors are logged and
 * the loop goes on.
 */
export class TickLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(private readonly opts: TickLoopOptions) {}

  /** Start ticking; the first tick runs at once. */
  start(): void {
    this.schedule(0);
  }

  /** Run a tick now (after the one in progress, if any) and resolve when it is done. */
  async tickNow(): Promise<void> {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running) await this.running;
    if (this.stopped) return;
    await this.runOnce();
  }

  /** Stop ticking, abort the tick in progress and wait for it at most `graceMs`. */
  async stop(graceMs: number): Promise<boolean> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort(new Error('watcher stopping'));
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      this.running.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    return finished;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running) return; // tickNow() is running one; it schedules the next
      void this.runOnce();
    }, delayMs);
  }

  private async runOnce(): Promise<void> {
    const startedAt = Date.now();
    const run = (async () => {
      try {
        await this.opts.tick(this.abort.signal);
      } catch (err) {
        if (!this.stopped) this.opts.logger.error({ err }, 'watcher tick failed');
      }
    })();
    this.running = run;
    try {
      await run;
    } finally {
      this.running = undefined;
      this.schedule(Math.max(0, this.opts.intervalMs - (Date.now() - startedAt)));
    }
  }
}
