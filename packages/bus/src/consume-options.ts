import type { ConsumeOptions } from './bus.ts';

export type ResolvedConsumeOptions = Required<ConsumeOptions>;

export const CONSUME_DEFAULTS: ResolvedConsumeOptions = {
  concurrency: 1,
  maxAttempts: 5,
  ackWaitMs: 30_000,
  backoffMs: [1000, 5000, 30_000],
  stopGraceMs: 10_000,
};

/** Fills defaults and rejects nonsense (a zero concurrency would never take a job). */
export function resolveConsumeOptions(opts: ConsumeOptions = {}): ResolvedConsumeOptions {
  const resolved: ResolvedConsumeOptions = {
    concurrency: opts.concurrency ?? CONSUME_DEFAULTS.concurrency,
    maxAttempts: opts.maxAttempts ?? CONSUME_DEFAULTS.maxAttempts,
    ackWaitMs: opts.ackWaitMs ?? CONSUME_DEFAULTS.ackWaitMs,
    backoffMs: opts.backoffMs ?? CONSUME_DEFAULTS.backoffMs,
    stopGraceMs: opts.stopGraceMs ?? CONSUME_DEFAULTS.stopGraceMs,
  };
  const positiveInt = (n: number) => Number.isInteger(n) && n >= 1;
  if (!positiveInt(resolved.concurrency)) throw new Error('concurrency must be an integer >= 1');
  if (!positiveInt(resolved.maxAttempts)) throw new Error('maxAttempts must be an integer >= 1');
  if (!(resolved.ackWaitMs >= 1)) throw new Error('ackWaitMs must be >= 1');
  if (!(resolved.stopGraceMs >= 0)) throw new Error('stopGraceMs must be >= 0');
  if (!resolved.backoffMs.every((ms) => ms >= 0)) throw new Error('backoffMs entries must be >= 0');
  return resolved;
}

/** Delay before redelivering after a failed attempt (1-based); the last entry repeats. */
export function backoffDelay(backoffMs: readonly number[], attempt: number): number {
  if (backoffMs.length === 0) return 0;
  return backoffMs[Math.min(attempt, backoffMs.length) - 1] ?? 0;
}

/** The text a DeadLetter carries for a thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
