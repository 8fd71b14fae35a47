import type { KeyValueStore } from '@lumen/bus';
import type { LoginLockoutLiftRow, LoginLockoutLiftsRepository } from '@lumen/db';
import type { Logger } from 'pino';
import { type FailureCounter, LocalFailureCounter, SharedFailureCounter } from './login-failure-counter.ts';

/**
 * The login lockout (issue 11). Failed password checks are counted over a sliding minute, in this
 * api process (standalone, in-memory bus) or, on NATS, in a KV bucket shared by every api replica
 * (issue 15; see SharedFailureCounter for what happens when NATS does not answer):
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
  private readonly pairs: FailureCounter;
  private readonly addresses: FailureCounter;
  private readonly windowMs: number;

  constructor(
    private readonly lifts: LoginLockoutLiftsRepository,
    opts: {
      maxFailures: number;
      windowMs?: number;
      /** Counters shared by the api replicas (NATS KV); without it, counted in this process. */
      shared?: { openStore: () => Promise<KeyValueStore>; logger: Logger };
    },
  ) {
    const windowMs = opts.windowMs ?? LOCKOUT_WINDOW_MS;
    const counter = (namespace: string, maxFailures: number): FailureCounter =>
      opts.shared
        ? new SharedFailureCounter(opts.shared.openStore, namespace, {
            maxFailures,
            windowMs,
            logger: opts.shared.logger,
          })
        : new LocalFailureCounter({ maxFailures, windowMs });
    this.pairs = counter('pair', opts.maxFailures);
    this.addresses = counter('address', opts.maxFailures * ADDRESS_FAILURE_FACTOR);
    this.windowMs = windowMs;
  }

  /**
   * Before a password check: refused when the name at this address, or the address, is locked
   * (after applying the lifts an admin made); else the attempt is counted as a failure until
   * `succeeded` takes it back, so parallel guesses cannot slip past the limit.
   */
  async begin(username: string, address: string, now = Date.now()): Promise<LoginAttempt> {
    let refused = await this.count(username, address, now);
    if (refused) {
      const lifts = await this.lifts.matching(now - this.windowMs, username, address);
      if (lifts.length === 0) return refused;
      for (const lift of lifts) await this.apply(lift);
      refused = await this.count(username, address, now);
      if (refused) return refused;
    }
    return { allowed: true, at: now, username, address };
  }

  /** The password was right: the attempt was no failure. */
  async succeeded(attempt: Extract<LoginAttempt, { allowed: true }>): Promise<void> {
    await this.pairs.forgive(pairKey(attempt.address, attempt.username), attempt.at);
    await this.addresses.forgive(attempt.address, attempt.at);
  }

  /**
   * Lift the lockout of a user name (on every address), an address (every name there, and its
   * address limit), or a name at an address (and that address's limit): failures counted until
   * now are forgotten, here (and in the shared counters) and, through the row written, in every
   * other api process.
   */
  async lift(request: LiftRequest, liftedBy: string, now = Date.now()): Promise<LiftResult> {
    if (request.username === undefined && request.address === undefined) {
      throw new Error('a lift needs a user name, an address or both');
    }
    const lift = await this.lifts.add({ ...request, liftedAtMs: now, liftedBy });
    await this.lifts.prune(now - LIFT_ROWS_KEPT_MS);
    return { lift, forgotten: await this.apply(lift) };
  }

  /**
   * The lockouts in force (in this process, or across the replicas with shared counters): a name
   * at an address, or a whole address (`username` null).
   */
  async locks(now = Date.now()): Promise<ActiveLock[]> {
    const out: ActiveLock[] = [];
    for (const lock of await this.pairs.locked(now)) {
      const { address, username } = splitPairKey(lock.key);
      out.push({ username, address, failures: lock.failures, retryAfterSeconds: lock.retryAfterSeconds });
    }
    for (const lock of await this.addresses.locked(now)) {
      out.push({
        username: null,
        address: lock.key,
        failures: lock.failures,
        retryAfterSeconds: lock.retryAfterSeconds,
      });
    }
    return out;
  }

  /**
   * Count the attempt against the name at the address, then the address (each a check-and-count in
   * one step); a refusal by the address takes the name's count back. Undefined: counted.
   */
  private async count(
    username: string,
    address: string,
    now: number,
  ): Promise<Extract<LoginAttempt, { allowed: false }> | undefined> {
    const key = pairKey(address, username);
    const pair = await this.pairs.begin(key, now);
    if (!pair.allowed) return { ...pair, scope: 'user-and-address' };
    const whole = await this.addresses.begin(address, now);
    if (!whole.allowed) {
      await this.pairs.forgive(key, now);
      return { ...whole, scope: 'address' };
    }
    return undefined;
  }

  /** Forget what `lift` covers, counted at or before it was made; returns how many failures. */
  private async apply(lift: LoginLockoutLiftRow): Promise<number> {
    let forgotten = 0;
    for (const key of await this.pairs.keys()) {
      const { address, username } = splitPairKey(key);
      if (lift.username !== null && lift.username !== username) continue;
      if (lift.address !== null && lift.address !== address) continue;
      forgotten += await this.pairs.clearUpTo(key, lift.lifted_at_ms);
    }
    if (lift.address !== null) await this.addresses.clearUpTo(lift.address, lift.lifted_at_ms);
    return forgotten;
  }
}
