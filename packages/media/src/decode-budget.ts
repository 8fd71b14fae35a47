import {
  type DecodeTarget,
  estimateDecodeBytes,
  type Release,
  SemaphoreRefusal,
  WeightedSemaphore,
} from '@lumen/core';
import sharp, { type Metadata } from 'sharp';
import { errorMessage, MediaError } from './media-error.ts';
import { withTimeout } from './timeout.ts';

const MiB = 1024 * 1024;

/** 384 MiB: with the ~300 MiB a running server holds, decodes fit in a 1 GiB container. */
export const DEFAULT_DECODE_MEMORY_BUDGET_BYTES = 384 * MiB;
/** How long a decode waits for room by default before it is refused. */
export const DEFAULT_DECODE_QUEUE_TIMEOUT_MS = 10_000;

/**
 * The decode memory budget of this process: every sharp decode of @lumen/media (thumbnails,
 * previews, RAW preview checks) reserves its estimated size (`estimateDecodeBytes`) here first,
 * first come first served, and gives it back when done. One per process, shared by the api and the
 * watcher when they run in one process (standalone). The composition roots set its size from
 * DECODE_MEMORY_BUDGET_MB (`configureDecodeBudget`).
 */
export const decodeBudget = new WeightedSemaphore(DEFAULT_DECODE_MEMORY_BUDGET_BYTES);

export function configureDecodeBudget(settings: { memoryBytes: number }): void {
  decodeBudget.setCapacity(settings.memoryBytes);
}

/**
 * A decode was not run because of the budget: `too-large`, the image alone needs more than the
 * whole budget (it is refused, never decoded alone: a 1 GiB container could not hold it);
 * `busy`, no room came in time (try again later).
 */
export class DecodeBudgetError extends MediaError {
  readonly reason: 'too-large' | 'busy';
  readonly bytes: number;

  constructor(reason: 'too-large' | 'busy', path: string, bytes: number, budgetBytes: number) {
    const mib = (n: number) => `${Math.ceil(n / MiB)} MiB`;
    super(
      'decode',
      path,
      reason === 'too-large'
        ? `decoding it needs about ${mib(bytes)}, more than the decode memory budget of ${mib(budgetBytes)} (DECODE_MEMORY_BUDGET_MB)`
        : `no room in the decode memory budget in time (it needs about ${mib(bytes)} of ${mib(budgetBytes)})`,
    );
    this.name = 'DecodeBudgetError';
    this.reason = reason;
    this.bytes = bytes;
  }
}

export interface ReserveDecodeOptions {
  /** What the decode is resized to (JPEG shrink-on-load makes it cheaper). */
  target?: DecodeTarget;
  /** Inputs larger than this are refused by sharp before decoding: they reserve nothing. */
  limitInputPixels?: number;
  /** Longest wait for room, ms; default DEFAULT_DECODE_QUEUE_TIMEOUT_MS. */
  queueTimeoutMs?: number;
  /** Limit of the header read, ms; default 30 000. */
  timeoutMs?: number;
  /** For error messages when `source` is a buffer. */
  sourcePath?: string;
  /** Names the step in a header-read error; default `decode header`. */
  operation?: string;
  /** Default: the process's `decodeBudget`. */
  budget?: WeightedSemaphore;
}

/**
 * Reads the header of `source` (no pixels) and reserves its estimated decode size in the budget.
 * Resolves with the function that gives it back; rejects with DecodeBudgetError when the image is
 * larger than the whole budget or no room came within the queue timeout, with MediaError when the
 * header cannot be read.
 */
export async function reserveDecode(
  source: string | Buffer,
  options: ReserveDecodeOptions = {},
): Promise<{ release: Release; bytes: number }> {
  const label = options.sourcePath ?? (typeof source === 'string' ? source : '<buffer>');
  const budget = options.budget ?? decodeBudget;
  const operation = options.operation ?? 'decode header';
  let header: Metadata;
  try {
    header = await withTimeout(sharp(source).metadata(), options.timeoutMs ?? 30_000, operation, label);
  } catch (error) {
    if (error instanceof MediaError) throw error;
    throw new MediaError(operation, label, errorMessage(error), { cause: error });
  }
  const pixels = (header.width ?? 0) * (header.height ?? 0);
  const limit = options.limitInputPixels;
  const bytes =
    limit !== undefined && limit > 0 && pixels > limit ? 0 : estimateDecodeBytes(header, options.target);
  try {
    const release = await budget.acquire(bytes, {
      timeoutMs: options.queueTimeoutMs ?? DEFAULT_DECODE_QUEUE_TIMEOUT_MS,
    });
    return { release, bytes };
  } catch (error) {
    if (error instanceof SemaphoreRefusal) {
      throw new DecodeBudgetError(
        error.reason === 'too-large' ? 'too-large' : 'busy',
        label,
        bytes,
        budget.capacity,
      );
    }
    throw error;
  }
}
