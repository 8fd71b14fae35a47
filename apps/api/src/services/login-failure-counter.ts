import type { KeyValueStore } from '@lumen/bus';
import { withTimeout } from '@lumen/core';
import type { Logger } from 'pino';
import { z } from 'zod';
import { type LoginGate, LoginRateLimiter } from './login-rate-limiter.ts';

/**
 * Failed logins per key over a sliding window, for the LoginLockout: in this process
 * (LocalFailureCounter) or shared by every api replica in a NATS KV bucket (SharedFailureCounter).
 * `begin` checks and counts in one step, so parallel guesses cannot slip past the limit.
 */
export interface FailureCounter {
  /** Refused when `maxFailures` failures are in the window; else this attempt is counted at `now`. */
  begin(key: string, now: number): Promise<LoginGate>;
  /** The attempt counted at `at` was no failure. */
  forgive(key: string, at: number): Promise<void>;
  /** Forget the failures of `key` counted at or before `upTo`; returns how many. */
  clearUpTo(key: string, upTo: number): Promise<number>;
  /** The keys with failures (some may have left the window). */
  keys(): Promise<string[]>;
  /** The keys at the limit now, with their failures and when they free up. */
  locked(now: number): Promise<{ key: string; failures: number; retryAfterSeconds: number }[]>;
}

export interface FailureCounterOptions {
  maxFailures: number;
  windowMs: number;
}

/** The per-process counter (standalone, the in-memory bus, and the fallback of the shared one). */
export class LocalFailureCounter implements FailureCounter {
  private readonly limiter: LoginRateLimiter;

  constructor(opts: FailureCounterOptions) {
    this.limiter = new LoginRateLimiter(opts);
  }

  async begin(key: string, now: number): Promise<LoginGate> {
    return this.limiter.begin(key, now);
  }

  async forgive(key: string, at: number): Promise<void> {
    this.limiter.forgive(key, at);
  }

  async clearUpTo(key: string, upTo: number): Promise<number> {
    return this.limiter.clearUpTo(key, upTo);
  }

  async keys(): Promise<string[]> {
    return this.limiter.keys();
  }

  async locked(now: number) {
    const out: { key: string; failures: number; retryAfterSeconds: number }[] = [];
    for (const key of this.limiter.keys()) {
      const gate = this.limiter.peek(key, now);
      if (!gate.allowed) {
        out.push({
          key,
          failures: this.limiter.failureCount(key, now),
          retryAfterSeconds: gate.retryAfterSeconds,
        });
      }
    }
    return out;
  }
}

/** The KV bucket of the shared counters (`<prefix>_login-failures` on NATS). */
export const LOGIN_FAILURES_BUCKET = 'login-failures';
/** A compare-and-swap that lost this many times in a row to other replicas gives up (fallback). */
const MAX_CAS_ATTEMPTS = 20;
/** Every shared operation (a few KV round trips) within this, else the local counter answers. */
const SHARED_TIMEOUT_MS = 2_000;
/** After a failure, the KV is tried again this much later; meanwhile the local counter answers at once. */
const SHARED_RETRY_MS = 5_000;

/** A KV value: the failure times (ms since the epoch, ascending). */
const storedTimes = z.array(z.number().int()).catch([]);

/** The failures of `times` still inside the window ending at `now`. */
export function liveTimes(times: readonly number[], now: number, windowMs: number): number[] {
  const cutoff = now - windowMs;
  return times.filter((t) => t > cutoff);
}

/** The gate for live failure times (ascending): refused at `maxFailures`, until the oldest leaves. */
export function gateOf(live: readonly number[], now: number, opts: FailureCounterOptions): LoginGate {
  if (live.length < opts.maxFailures) return { allowed: true, at: now };
  const oldest = live[0] ?? now;
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + opts.windowMs - now) / 1000)) };
}

/**
 * Counters shared by every api replica on one NATS: one KV entry per key (`<namespace>.k<base64url
 * of the key>`) holding its failure times, changed by compare-and-swap on the entry's revision and
 * retried when another replica wrote first. NATS 2.9 has no per-key TTL: failures expire by their
 * times, and the bucket's TTL (the window) drops an entry nobody wrote for a whole window.
 *
 * When the KV does not answer (NATS down, timeout) the replica falls back to its own in-process
 * counter, logs a warning once, and logs again when the KV answers: during an outage each replica
 * enforces the limit on its own (N replicas allow up to N times the attempts), never unlimited and
 * never locking everyone out.
 */
export class SharedFailureCounter implements FailureCounter {
  private readonly fallback: LocalFailureCounter;
  private degraded = false;
  /** While degraded: when to try the KV again (so a login does not wait for a dead KV every time). */
  private retryAt = 0;

  constructor(
    private readonly openStore: () => Promise<KeyValueStore>,
    private readonly namespace: string,
    private readonly opts: FailureCounterOptions & {
      logger: Logger;
      timeoutMs?: number;
      retryMs?: number;
    },
  ) {
    this.fallback = new LocalFailureCounter(opts);
  }

  begin(key: string, now: number): Promise<LoginGate> {
    return this.guarded(
      () =>
        this.change(key, (times) => {
          const live = liveTimes(times, now, this.opts.windowMs);
          const gate = gateOf(live, now, this.opts);
          // A refusal writes nothing (expired times go with the next write, or with the bucket TTL).
          return { next: gate.allowed ? [...live, now].sort((a, b) => a - b) : times, result: gate };
        }),
      () => this.fallback.begin(key, now),
    );
  }

  forgive(key: string, at: number): Promise<void> {
    return this.guarded(
      () =>
        this.change(key, (times) => {
          const index = times.indexOf(at);
          return { next: index < 0 ? times : times.filter((_, i) => i !== index), result: undefined };
        }),
      () => this.fallback.forgive(key, at),
    );
  }

  clearUpTo(key: string, upTo: number): Promise<number> {
    return this.guarded(
      () =>
        this.change(key, (times) => {
          const next = times.filter((t) => t > upTo);
          return { next, result: times.length - next.length };
        }),
      () => this.fallback.clearUpTo(key, upTo),
    );
  }

  keys(): Promise<string[]> {
    return this.guarded(
      async () => {
        const store = await this.openStore();
        return (await store.keys()).flatMap((k) => {
          const key = this.decode(k);
          return key === undefined ? [] : [key];
        });
      },
      () => this.fallback.keys(),
    );
  }

  locked(now: number) {
    return this.guarded(
      async () => {
        const store = await this.openStore();
        const out: { key: string; failures: number; retryAfterSeconds: number }[] = [];
        for (const k of await store.keys()) {
          const key = this.decode(k);
          const entry = key === undefined ? undefined : await store.get(k);
          if (key === undefined || !entry) continue;
          const live = liveTimes(storedTimes.parse(parseJson(entry.value)), now, this.opts.windowMs);
          const gate = gateOf(live, now, this.opts);
          if (!gate.allowed)
            out.push({ key, failures: live.length, retryAfterSeconds: gate.retryAfterSeconds });
        }
        return out;
      },
      () => this.fallback.locked(now),
    );
  }

  /**
   * The KV answers within the timeout, or the local counter does (logged once per outage); after a
   * failure the KV is skipped for SHARED_RETRY_MS, then tried again.
   */
  private async guarded<R>(shared: () => Promise<R>, local: () => Promise<R>): Promise<R> {
    if (this.degraded && Date.now() < this.retryAt) return local();
    try {
      const result = await withTimeout(
        shared(),
        this.opts.timeoutMs ?? SHARED_TIMEOUT_MS,
        'the shared login failure counter',
      );
      if (this.degraded) {
        this.degraded = false;
        this.opts.logger.info({ namespace: this.namespace }, 'shared login failure counter answers again');
      }
      return result;
    } catch (err) {
      this.retryAt = Date.now() + (this.opts.retryMs ?? SHARED_RETRY_MS);
      if (!this.degraded) {
        this.degraded = true;
        this.opts.logger.warn(
          { err, namespace: this.namespace },
          'shared login failure counter unavailable: counting failed logins in this replica only',
        );
      }
      return local();
    }
  }

  /** Read the times of `key`, compute the next ones, write them by CAS; retried on conflict. */
  private async change<R>(key: string, step: (times: number[]) => { next: number[]; result: R }): Promise<R> {
    const store = await this.openStore();
    const storeKey = this.encode(key);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const entry = await store.get(storeKey);
      const times = entry ? storedTimes.parse(parseJson(entry.value)) : [];
      const { next, result } = step(times);
      if (next === times) return result; // nothing to write
      let written: boolean;
      if (next.length === 0) {
        written = entry ? await store.delete(storeKey, entry.revision) : true;
      } else {
        const value = JSON.stringify(next);
        written =
          (entry
            ? await store.update(storeKey, value, entry.revision)
            : await store.create(storeKey, value)) !== undefined;
      }
      if (written) return result;
    }
    throw new Error(`login failure counter ${storeKey}: too many concurrent writes`);
  }

  private encode(key: string): string {
    return `${this.namespace}.k${Buffer.from(key, 'utf8').toString('base64url')}`;
  }

  private decode(storeKey: string): string | undefined {
    const head = `${this.namespace}.k`;
    if (!storeKey.startsWith(head)) return undefined;
    return Buffer.from(storeKey.slice(head.length), 'base64url').toString('utf8');
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
