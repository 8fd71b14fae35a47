import type { LoginLockoutLiftRow, LoginLockoutLiftsRepository } from '@lumen/db';
import { LoginRateLimiter } from './login-rate-limiter.ts';

/**
 * The login lockout (issue 11). Failed password checks are counted in memory, per api process,
 * over a sliding minute:
 * - per user name and address: LOGIN_MAX_FAILURES_PER_MINUTE. A locked pair is refused even with
 *   the right password: were the right password let through, the lock would not slow guessing at
 *   all (a guess answered 200 instead of 429 is the answer). Other users at the same address
 *   (behind one NAT or proxy) are not locked out by it.
 * - per address, whatever the name: ADDRESS_FAILURE_FACTOR times that, so trying many names from
 *   one address is bounded too.
 * An admin lifts a lockout for a name, an address or both (`POST /login-lockouts/lift`,
 * `cli lockout lift`). A lift is a database row, read by every api process when it is about to
 * refuse a login; the process that took the request applies it at once.
 */

/** The address limit is this many times the per-name limit. */
export const ADDRESS_FAILURE_FACTOR = 5;
export const LOCKOUT_WINDOW_MS = 60_000;
/** Lift rows older than this are deleted when a new lift is made (they no longer matter). */
const LIFT_ROWS_KEPT_MS = 24 * 60 * 60 * 1000;

export type LoginAttempt =
  | { allowed: true; at: number; username: string; address: string }
  | { allowed: false; retryAfterSeconds: number; scope: 'user-and-address' | 'address' };

export interface ActiveLock {
  /** Null: the address is locked for every name. */
  username: string | null;
  address: string;
  failures: number;
  retryAfterSeconds: number;
}

export interface LiftRequest {
  username?: string | undefined;
  address?: string | undefined;
}

export interface LiftResult {
  lift: LoginLockoutLiftRow;
  /** Failures forgotten by this process (other processes apply the lift when they next need it). */
  forgotten: number;
}

function pairKey(address: string, username: string): string {
  return `${address}\u0000${username}`;
}

function splitPairKey(key: string): { address: string; username: string } {
  const cut = key.indexOf('\u0000');
  return { address: key.slice(0, cut), username: key.slice(cut + 1) };
}

export class LoginLockout {
  private readonly pairs: LoginRateLimiter;
  private readonly addresses: LoginRateLimiter;
  private readonly windowMs: number;

  constructor(
    private readonly lifts: LoginLockoutLiftsRepository,
    opts: { maxFailures: number; windowMs?: number },
  ) {
    const windowMs = opts.windowMs ?? LOCKOUT_WINDOW_MS;
    this.pairs = new LoginRateLimiter({ maxFailures: opts.maxFailures, windowMs });
    this.addresses = new LoginRateLimiter({
      maxFailures: opts.maxFailures * ADDRESS_FAILURE_FACTOR,
      windowMs,
    });
    this.windowMs = windowMs;
  }

  /**
   * Before a password check: refused when the name at this address, or the address, is locked
   * (after applying the lifts an admin made); else the attempt is counted as a failure until
   * `succeeded` takes it back, so parallel guesses cannot slip past the limit.
   */
  async begin(username: string, address: string, now = Date.now()): Promise<LoginAttempt> {
    if (this.refusal(username, address, now)) {
      for (const lift of await this.lifts.matching(now - this.windowMs, username, address)) {
        this.apply(lift);
      }
    }
    // No await between this check and the counting below: they are one step.
    const refused = this.refusal(username, address, now);
    if (refused) return refused;
    this.pairs.begin(pairKey(address, username), now);
    this.addresses.begin(address, now);
    return { allowed: true, at: now, username, address };
  }

  /** The password was right: the attempt was no failure. */
  succeeded(attempt: Extract<LoginAttempt, { allowed: true }>): void {
    this.pairs.forgive(pairKey(attempt.address, attempt.username), attempt.at);
    this.addresses.forgive(attempt.address, attempt.at);
  }

  /**
   * Lift the lockout of a user name (on every address), an address (every name there, and its
   * address limit), or a name at an address (and that address's limit): failures counted until
   * now are forgotten, here and, through the row written, in every other api process.
   */
  async lift(request: LiftRequest, liftedBy: string, now = Date.now()): Promise<LiftResult> {
    if (request.username === undefined && request.address === undefined) {
      throw new Error('a lift needs a user name, an address or both');
    }
    const lift = await this.lifts.add({ ...request, liftedAtMs: now, liftedBy });
    await this.lifts.prune(now - LIFT_ROWS_KEPT_MS);
    return { lift, forgotten: this.apply(lift) };
  }

  /** The lockouts in force in this process: a name at an address, or a whole address (`username` null). */
  locks(now = Date.now()): ActiveLock[] {
    const out: ActiveLock[] = [];
    for (const key of this.pairs.keys()) {
      const gate = this.pairs.peek(key, now);
      if (gate.allowed) continue;
      const { address, username } = splitPairKey(key);
      out.push({
        username,
        address,
        failures: this.pairs.failureCount(key, now),
        retryAfterSeconds: gate.retryAfterSeconds,
      });
    }
    for (const address of this.addresses.keys()) {
      const gate = this.addresses.peek(address, now);
      if (gate.allowed) continue;
      out.push({
        username: null,
        address,
        failures: this.addresses.failureCount(address, now),
        retryAfterSeconds: gate.retryAfterSeconds,
      });
    }
    return out;
  }

  private refusal(
    username: string,
    address: string,
    now: number,
  ): Extract<LoginAttempt, { allowed: false }> | undefined {
    const pair = this.pairs.peek(pairKey(address, username), now);
    if (!pair.allowed) return { ...pair, scope: 'user-and-address' };
    const whole = this.addresses.peek(address, now);
    if (!whole.allowed) return { ...whole, scope: 'address' };
    return undefined;
  }

  /** Forget what `lift` covers, counted at or before it was made; returns how many failures. */
  private apply(lift: LoginLockoutLiftRow): number {
    let forgotten = 0;
    for (const key of this.pairs.keys()) {
      const { address, username } = splitPairKey(key);
      if (lift.username !== null && lift.username !== username) continue;
      if (lift.address !== null && lift.address !== address) continue;
      forgotten += this.pairs.clearUpTo(key, lift.lifted_at_ms);
    }
    if (lift.address !== null) this.addresses.clearUpTo(lift.address, lift.lifted_at_ms);
    return forgotten;
  }
}
