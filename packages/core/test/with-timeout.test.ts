import { describe, expect, it } from 'vitest';
import { TimeoutError, withTimeout } from '../src/index.ts';

const later = <T>(ms: number, value: T, fail = false) =>
  new Promise<T>((resolve, reject) => setTimeout(() => (fail ? reject(value) : resolve(value)), ms));

describe('withTimeout', () => {
  it('settles like the work when it is in time', async () => {
    await expect(withTimeout(later(5, 'done'), 1_000, 'work')).resolves.toBe('done');
    await expect(withTimeout(later(5, new Error('boom'), true), 1_000, 'work')).rejects.toThrow('boom');
  });

  it('rejects with a TimeoutError naming the work, or with the error given', async () => {
    const slow = withTimeout(later(1_000, 'late'), 20, 'the probe');
    await expect(slow).rejects.toBeInstanceOf(TimeoutError);
    await expect(slow).rejects.toThrow('the probe timed out after 20 ms');
    class Custom extends Error {}
    await expect(withTimeout(later(1_000, 'late'), 20, () => new Custom('mine'))).rejects.toBeInstanceOf(
      Custom,
    );
  });

  it('swallows a rejection that comes after the timeout', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(withTimeout(later(30, new Error('late failure'), true), 5, 'work')).rejects.toThrow(
        TimeoutError,
      );
      await later(60, null);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
