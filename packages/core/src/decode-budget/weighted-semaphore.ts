/**
 * A first-come-first-served semaphore over a quantity (bytes of decode memory): `acquire(n)`
 * resolves when `n` more units fit under the capacity and everyone who asked earlier has been
 * served. Strict order: a large request at the head holds back smaller ones behind it, so a large
 * image is never starved by a stream of small ones.
 *
 * A request larger than the whole capacity can never be served and is refused at once
 * (`SemaphoreRefusal` with reason `too-large`); a request that waited `timeoutMs` without being
 * served, or whose signal aborted, is dropped from the line (reason `timeout` / `aborted`).
 */
export type SemaphoreRefusalReason = 'too-large' | 'timeout' | 'aborted';

export class SemaphoreRefusal extends Error {
  readonly reason: SemaphoreRefusalReason;
  constructor(reason: SemaphoreRefusalReason, message: string) {
    super(message);
    this.name = 'SemaphoreRefusal';
    this.reason = reason;
  }
}

export interface AcquireOptions {
  /** Longest wait in line, ms; undefined waits as long as it takes; 0 refuses unless it fits now. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Give back what `acquire` reserved; calling it again does nothing. */
export type Release = () => void;

interface Waiter {
  amount: number;
  grant: () => void;
  refuse: (refusal: SemaphoreRefusal) => void;
}

export class WeightedSemaphore {
  #capacity: number;
  #inUse = 0;
  readonly #line: Waiter[] = [];

  constructor(capacity: number) {
    this.#capacity = WeightedSemaphore.#checked(capacity);
  }

  get capacity(): number {
    return this.#capacity;
  }
  /** Units held by running work. */
  get inUse(): number {
    return this.#inUse;
  }
  /** Requests waiting in line. */
  get waiting(): number {
    return this.#line.length;
  }

  /**
   * A new capacity; waiting requests that now fit are served. Running work keeps what it holds,
   * so `inUse` may exceed a lowered capacity until it finishes. Waiters larger than the new
   * capacity are refused (`too-large`).
   */
  setCapacity(capacity: number): void {
    this.#capacity = WeightedSemaphore.#checked(capacity);
    this.#drain();
  }

  acquire(amount: number, options: AcquireOptions = {}): Promise<Release> {
    if (!Number.isFinite(amount) || amount < 0) {
      return Promise.reject(new RangeError(`amount must be a finite number >= 0, got ${amount}`));
    }
    if (amount > this.#capacity) {
      return Promise.reject(
        new SemaphoreRefusal(
          'too-large',
          `needs ${amount}, more than the whole capacity of ${this.#capacity}`,
        ),
      );
    }
    if (options.signal?.aborted) {
      return Promise.reject(new SemaphoreRefusal('aborted', 'aborted before it was served'));
    }
    if (this.#line.length === 0 && this.#inUse + amount <= this.#capacity) {
      this.#inUse += amount;
      return Promise.resolve(this.#releaser(amount));
    }
    if (options.timeoutMs !== undefined && options.timeoutMs <= 0) {
      return Promise.reject(new SemaphoreRefusal('timeout', 'no room now and no wait allowed'));
    }
    return new Promise<Release>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const leave = (refusal: SemaphoreRefusal) => {
        const index = this.#line.indexOf(waiter);
        if (index < 0) return;
        this.#line.splice(index, 1);
        cleanup();
        reject(refusal);
        // The head may have left: who is behind it may fit now.
        this.#drain();
      };
      const onAbort = () => leave(new SemaphoreRefusal('aborted', 'aborted while waiting'));
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        amount,
        grant: () => {
          cleanup();
          resolve(this.#releaser(amount));
        },
        refuse: (refusal) => {
          cleanup();
          reject(refusal);
        },
      };
      this.#line.push(waiter);
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(
          () => leave(new SemaphoreRefusal('timeout', `waited ${options.timeoutMs} ms without room`)),
          options.timeoutMs,
        );
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #releaser(amount: number): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inUse -= amount;
      this.#drain();
    };
  }

  #drain(): void {
    for (;;) {
      const head = this.#line[0];
      if (!head) return;
      if (head.amount > this.#capacity) {
        this.#line.shift();
        head.refuse(
          new SemaphoreRefusal(
            'too-large',
            `needs ${head.amount}, more than the whole capacity of ${this.#capacity}`,
          ),
        );
        continue;
      }
      if (this.#inUse + head.amount > this.#capacity) return;
      this.#line.shift();
      this.#inUse += head.amount;
      head.grant();
    }
  }

  static #checked(capacity: number): number {
    if (!Number.isFinite(capacity) || capacity <= 0) {
      throw new RangeError(`capacity must be a finite number > 0, got ${capacity}`);
    }
    return capacity;
  }
}
