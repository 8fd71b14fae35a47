/** Bounded concurrency for benchmarks and their data generators. */

/**
 * Runs `worker` over `items` with at most `concurrency` calls in flight, in order of the items;
 * resolves when every call is done and rejects with the first error.
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await worker(items[index]!, index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
}
