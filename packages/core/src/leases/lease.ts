import { z } from 'zod';

/**
 * A lease held in a shared key-value store: who holds it and until when (ms since the epoch, by
 * the holder's clock). NATS 2.9 has no per-key TTL, so expiry is this timestamp, and every change
 * is a compare-and-swap on the entry's revision: two replicas never both win the same step.
 * Replicas' clocks must agree to well within the lease time (NTP does).
 */
/** The key-value bucket of every lease (NATS KV `<prefix>_leases`). */
export const LEASES_BUCKET = 'leases';
/** The lease of the watcher replica that watches every library. */
export const WATCHER_LEASE_KEY = 'watcher';

export interface LeaseValue {
  holder: string;
  expiresAt: number;
}

export const leaseValueSchema = z.object({
  holder: z.string().min(1),
  expiresAt: z.number().int().nonnegative(),
});

/** The stored text as a lease, or undefined when it is not one (treated as free). */
export function parseLeaseValue(text: string | undefined): LeaseValue | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = leaseValueSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export type LeaseStep =
  /** Nobody holds it: create it (fails if another creates it first). */
  | { kind: 'create' }
  /** We hold it: extend it at its revision. */
  | { kind: 'renew' }
  /** Its holder let it expire (or it is unreadable): take it at its revision. */
  | { kind: 'take-over'; from: string | undefined }
  /** Another replica holds it until `expiresAt`. */
  | { kind: 'held'; by: string; expiresAt: number };

/** What `me` should do about a lease whose stored value is `current` (undefined: no entry). */
export function nextLeaseStep(
  current: { value: LeaseValue | undefined } | undefined,
  me: string,
  now: number,
): LeaseStep {
  if (current === undefined) return { kind: 'create' };
  const value = current.value;
  if (value === undefined) return { kind: 'take-over', from: undefined };
  if (value.holder === me) return { kind: 'renew' };
  if (value.expiresAt <= now) return { kind: 'take-over', from: value.holder };
  return { kind: 'held', by: value.holder, expiresAt: value.expiresAt };
}
