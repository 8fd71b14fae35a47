/** A promise that did not settle in time (`withTimeout`). */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * Settles like `work`, or rejects after `ms`: with a `TimeoutError` saying "`what` timed out after
 * `ms` ms", or with the error `what()` makes. The work itself is not cancelled (pass it an
 * AbortSignal where it takes one); its late result is ignored and a late rejection swallowed, so it
 * cannot become an unhandled rejection. The timer never keeps the process alive.
 *
 * The one copy for the whole repo (the bus, media tools, uploads and the missing-file scan used to
 * carry their own).
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string | (() => Error)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(typeof what === 'string' ? new TimeoutError(`${what} timed out after ${ms} ms`) : what()),
      ms,
    );
    timer.unref();
  });
  work.catch(() => {});
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
