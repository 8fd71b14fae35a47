import { MediaTimeoutError } from './media-error.ts';

/**
 * Resolves or rejects like `work`, or rejects with a MediaTimeoutError after `timeoutMs`.
 * The work itself is not cancelled (pass an AbortSignal to it where it takes one); its late
 * result is ignored and a late rejection is swallowed so it cannot become an unhandled rejection.
 */
export async function withTimeout<T>(
  work: Promise<T>,
  timeoutMs: number,
  operation: string,
  path: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MediaTimeoutError(operation, path, timeoutMs)), timeoutMs);
  });
  work.catch(() => {});
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
