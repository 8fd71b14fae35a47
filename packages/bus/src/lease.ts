import { LEASES_BUCKET, type LeaseValue, nextLeaseStep, parseLeaseValue } from '@lumen/core';
import type { Bus } from './bus.ts';
import type { BusLogger } from './bus-logger.ts';
import type { KeyValueStore } from './key-value.ts';
import { withTimeout } from './timeouts.ts';

export interface LeaseOptions {
  store: KeyValueStore;
  /** The key in the store, e.g. `watcher`. */
  key: string;
  /** Who we are (a replica id: host and pid by default). */
  holder: string;
  /** How long an acquired or renewed lease lasts without a renewal, ms. */
  ttlMs: number;
  logger: BusLogger;
  now?: () => number;
}

/**
 * One lease in a shared key-value store (NATS KV across replicas): `acquire()` creates, renews or
 * takes over an expired lease with a compare-and-swap, so at most one replica holds it at a time
 * (give or take clock skew between hosts); `keepRenewed()` renews it every third of its time in the
 * background, so a long tick never lets it lapse; `release()` frees it at stop so another replica
 * takes over at once instead of after the lease time. A replica that dies frees it by expiry.
 */
export class Lease {
  private revision: number | undefined;
  private expiresAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: LeaseOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** True while we hold it (by our own clock). */
  held(): boolean {
    return this.revision !== undefined && this.now() < this.expiresAt;
  }

  /** Try to hold it now; true when we do. A store that does not answer counts as not held. */
  async acquire(): Promise<boolean> {
    const { store, key, holder, ttlMs, logger } = this.opts;
    const wasHeld = this.held();
    try {
      const entry = await store.get(key);
      const step = nextLeaseStep(entry && { value: parseLeaseValue(entry.value) }, holder, this.now());
      if (step.kind === 'held') {
        this.lost(wasHeld, step.by);
        return false;
      }
      const value: LeaseValue = { holder, expiresAt: this.now() + ttlMs };
      const text = JSON.stringify(value);
      const revision =
        step.kind === 'create'
          ? await store.create(key, text)
          : await store.update(key, text, entry!.revision);
      if (revision === undefined) {
        this.lost(wasHeld, 'another replica');
        return false; // another replica wrote first
      }
      this.revision = revision;
      this.expiresAt = value.expiresAt;
      if (!wasHeld) {
        logger.info(
          { key, holder, ...(step.kind === 'take-over' ? { from: step.from } : {}) },
          step.kind === 'take-over' ? 'lease taken over from an expired holder' : 'lease acquired',
        );
      }
      return true;
    } catch (err) {
      logger.warn({ err, key }, 'lease store did not answer; not holding the lease');
      this.lost(wasHeld, undefined);
      return false;
    }
  }

  /** Renew every third of the lease time until `release()`. */
  keepRenewed(): void {
    if (this.timer) return;
    this.timer = setInterval(
      () => {
        if (this.held()) void this.acquire();
      },
      Math.max(50, Math.floor(this.opts.ttlMs / 3)),
    );
    this.timer.unref();
  }

  /** Stop renewing and free the lease if we hold it (so another replica need not wait for expiry). */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const revision = this.revision;
    this.revision = undefined;
    if (revision === undefined) return;
    await this.opts.store.delete(this.opts.key, revision).catch((err: unknown) => {
      this.opts.logger.warn({ err, key: this.opts.key }, 'could not release the lease; it expires by itself');
    });
  }

  private lost(wasHeld: boolean, to: string | undefined): void {
    this.revision = undefined;
    if (wasHeld) this.opts.logger.warn({ key: this.opts.key, to }, 'lease lost');
  }
}

/** Who holds `key` in `store` now (undefined: nobody, or an expired holder). */
export async function leaseHolder(
  store: KeyValueStore,
  key: string,
  now = Date.now(),
): Promise<LeaseValue | undefined> {
  const value = parseLeaseValue((await store.get(key))?.value);
  return value && value.expiresAt > now ? value : undefined;
}

/** Who holds the lease `key` of `bus`'s lease bucket now, within `timeoutMs` (throws TimeoutError). */
export async function currentLeaseHolder(
  bus: Bus,
  key: string,
  timeoutMs = 2_000,
): Promise<string | undefined> {
  const read = async () => (await leaseHolder(await bus.keyValue(LEASES_BUCKET), key))?.holder;
  return withTimeout(read(), timeoutMs, `reading the lease ${key}`);
}
