/**
 * One lock per insight (keyed by the photo's content hash: amend writes a new row for the same
 * photo, so the key must outlive a row). Turns on one insight run one after the other, in arrival
 * order; a waiter whose client goes away leaves the queue.
 */
export class InsightLocks {
  readonly #tails = new Map<string, Promise<void>>();

  async acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    if (signal) {
      const aborted = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
      try {
        await Promise.race([previous, aborted]);
      } catch (err) {
        // Let the ones queued behind go once the holder is done.
        void previous.then(release);
        throw err;
      }
    } else await previous;
    return release;
  }

  /** Whether someone holds or waits for the lock (tests, metrics). */
  busy(key: string): boolean {
    return this.#tails.has(key);
  }
}
