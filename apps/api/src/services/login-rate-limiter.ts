/**
 * Failed-login limiter per key (see LoginLockout for the keys): a sliding-window log in memory.
 * Pure logic: the caller passes the clock.
 *
 * Race-free use: `begin()` counts the attempt as a failure before the (slow) password
 * check, so parallel guesses cannot slip past the limit; `forgive()` takes it back when
 * the login succeeds.
 */

export type LoginGate = { allowed: true; at: number } | { allowed: false; retryAfterSeconds: number };

export interface LoginRateLimiterOptions {
  /** Failures allowed within the window; the next attempt is refused. */
  maxFailures: number;
  windowMs?: number;
  /** Above this many tracked addresses, expired ones are swept out. */
  sweepAbove?: number;
}

export class LoginRateLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly sweepAbove: number;

  constructor(opts: LoginRateLimiterOptions) {
    this.maxFailures = opts.maxFailures;
    this.windowMs = opts.windowMs ?? 60_000;
    this.sweepAbove = opts.sweepAbove ?? 10_000;
  }

  /** Refuse when `maxFailures` failures happened in the last window; else count this attempt. */
  begin(key: string, now: number): LoginGate {
    const gate = this.peek(key, now);
    if (!gate.allowed) return gate;
    const times = this.live(key, now);
    times.push(now);
    this.failures.set(key, times);
    if (this.failures.size > this.sweepAbove) this.sweep(now);
    return { allowed: true, at: now };
  }

  /** What `begin` would answer now, without counting anything. */
  peek(key: string, now: number): LoginGate {
    const times = this.live(key, now);
    if (times.length >= this.maxFailures) {
      const oldest = times[0] ?? now;
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000)),
      };
    }
    return { allowed: true, at: now };
  }

  /** Forget the failures of `key` counted at or before `upTo` (a lifted lockout); returns how many. */
  clearUpTo(key: string, upTo: number): number {
    const times = this.failures.get(key);
    if (!times) return 0;
    let cleared = 0;
    while (cleared < times.length && (times[cleared] ?? 0) <= upTo) cleared++;
    times.splice(0, cleared);
    if (times.length === 0) this.failures.delete(key);
    return cleared;
  }

  /** The keys with failures (some may have left the window). */
  keys(): string[] {
    return [...this.failures.keys()];
  }

  /** The attempt begun at `at` succeeded: it is not a failure. */
  forgive(key: string, at: number): void {
    const times = this.failures.get(key);
    if (!times) return;
    const index = times.indexOf(at);
    if (index >= 0) times.splice(index, 1);
    if (times.length === 0) this.failures.delete(key);
  }

  /** Failures of `key` inside the window ending at `now`. */
  failureCount(key: string, now: number): number {
    return this.live(key, now).length;
  }

  /** Number of addresses currently tracked. */
  get size(): number {
    return this.failures.size;
  }

  /** Drop every address whose failures all left the window. */
  sweep(now: number): void {
    for (const key of [...this.failures.keys()]) {
      if (this.live(key, now).length === 0) this.failures.delete(key);
    }
  }

  private live(key: string, now: number): number[] {
    const times = this.failures.get(key) ?? [];
    const cutoff = now - this.windowMs;
    let expired = 0;
    while (expired < times.length && (times[expired] ?? 0) <= cutoff) expired++;
    if (expired > 0) times.splice(0, expired);
    if (times.length === 0) this.failures.delete(key);
    return times;
  }
}
