import { withTimeout as withCoreTimeout } from '@lumen/core';
import { MediaTimeoutError } from './media-error.ts';

/** `withTimeout` of @lumen/core that rejects with a MediaTimeoutError naming the operation and the file. */
export function withTimeout<T>(
  work: Promise<T>,
  timeoutMs: number,
  operation: string,
  path: string,
): Promise<T> {
  return withCoreTimeout(work, timeoutMs, () => new MediaTimeoutError(operation, path, timeoutMs));
}
