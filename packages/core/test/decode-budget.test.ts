import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DecodeHeader,
  type DecodeTarget,
  estimateDecodeBytes,
  jpegShrinkOnLoad,
  type Release,
  SemaphoreRefusal,
  WeightedSemaphore,
} from '../src/index.ts';

const thumb: DecodeTarget = { width: 200, height: 200, fit: 'cover' };
const preview: DecodeTarget = { width: 1440, height: 1440, fit: 'inside' };

describe('estimateDecodeBytes (table)', () => {
  it.each<[string, DecodeHeader, DecodeTarget | undefined, number]>([
    [
      'a GIF costs its full RGBA canvas whatever the header says (the issue-11 bomb)',
      { format: 'gif', width: 14_000, height: 14_000, channels: 3, depth: 'uchar' },
      thumb,
      14_000 * 14_000 * 4,
    ],
    [
      'a PNG costs its full size, bands x bytes per sample',
      { format: 'png', width: 1000, height: 500, channels: 4, depth: 'ushort' },
      thumb,
      1000 * 500 * 4 * 2,
    ],
    [
      'a camera JPEG shrinks on load by 8 for a thumbnail',
      { format: 'jpeg', width: 6000, height: 4000, channels: 3, depth: 'uchar' },
      thumb,
      750 * 500 * 3,
    ],
    [
      'a 102 MP JPEG shrinks on load by 8 for a preview too',
      { format: 'jpeg', width: 11_648, height: 8736, channels: 3, depth: 'uchar' },
      preview,
      1456 * 1092 * 3,
    ],
    [
      'a JPEG 2 to 4 times the preview shrinks by 2 (rounded up)',
      { format: 'jpeg', width: 3001, height: 2000, channels: 3 },
      preview,
      1501 * 1000 * 3,
    ],
    [
      'a small JPEG does not shrink',
      { format: 'jpeg', width: 300, height: 300, channels: 3 },
      thumb,
      300 * 300 * 3,
    ],
    [
      'a JPEG without a target costs its full size',
      { format: 'jpeg', width: 4000, height: 3000, channels: 3 },
      undefined,
      4000 * 3000 * 3,
    ],
    ['no size: nothing to reserve', { format: 'png' }, thumb, 0],
    ['unknown bands count as 4', { format: 'tiff', width: 10, height: 10 }, thumb, 400],
    [
      'float samples are 4 bytes',
      { format: 'tiff', width: 10, height: 10, channels: 1, depth: 'float' },
      thumb,
      400,
    ],
  ])('%s', (_name, header, target, bytes) => {
    expect(estimateDecodeBytes(header, target)).toBe(bytes);
  });

  it.each<[number, number, DecodeTarget, number]>([
    [6000, 4000, thumb, 8], // cover: min(30, 20) = 20
    [1500, 900, thumb, 4], // min(7.5, 4.5) = 4.5
    [700, 300, thumb, 1], // min(3.5, 1.5) = 1.5
    [3000, 1000, preview, 2], // inside: max(2.08, 0.69) = 2.08
    [1000, 1000, preview, 1], // never enlarged: 0.69
    [12_000, 1000, preview, 8],
  ])('jpegShrinkOnLoad(%i x %i) = %i', (width, height, target, shrink) => {
    expect(jpegShrinkOnLoad(width, height, target)).toBe(shrink);
  });
});

/** Settles pending promise callbacks. */
const tick = () => new Promise((r) => setImmediate(r));

describe('WeightedSemaphore', () => {
  it('serves at once while there is room, then in arrival order', async () => {
    const sem = new WeightedSemaphore(10);
    const first = await sem.acquire(6);
    const order: string[] = [];
    const served = (name: string) => (release: Release) => {
      order.push(name);
      return release;
    };
    const big = sem.acquire(8).then(served('big'));
    const small = sem.acquire(1).then(served('small'));
    await tick();
    // The small one would fit (6 + 1 <= 10) but waits behind the big one: no starvation.
    expect(order).toEqual([]);
    expect(sem.waiting).toBe(2);
    first();
    const releaseBig = await big;
    const releaseSmall = await small;
    expect(order).toEqual(['big', 'small']);
    expect(sem.inUse).toBe(9);
    releaseBig();
    releaseBig(); // twice does nothing
    releaseSmall();
    expect(sem.inUse).toBe(0);
  });

  it('refuses at once what is larger than the whole capacity', async () => {
    const sem = new WeightedSemaphore(10);
    await expect(sem.acquire(11)).rejects.toMatchObject({ reason: 'too-large' });
    expect(sem.waiting).toBe(0);
  });

  it('drops a request that waited too long, and lets those behind it in', async () => {
    const sem = new WeightedSemaphore(10);
    const held = await sem.acquire(5);
    const blocked = sem.acquire(10, { timeoutMs: 30 });
    const behind = sem.acquire(5);
    await expect(blocked).rejects.toBeInstanceOf(SemaphoreRefusal);
    await expect(blocked).rejects.toMatchObject({ reason: 'timeout' });
    (await behind)();
    held();
    expect(sem.inUse).toBe(0);
    expect(sem.waiting).toBe(0);
  });

  it('with a zero timeout, refuses unless it fits now', async () => {
    const sem = new WeightedSemaphore(10);
    const held = await sem.acquire(9);
    await expect(sem.acquire(2, { timeoutMs: 0 })).rejects.toMatchObject({ reason: 'timeout' });
    (await sem.acquire(1, { timeoutMs: 0 }))();
    held();
  });

  it('drops a request whose signal aborts', async () => {
    const sem = new WeightedSemaphore(1);
    const held = await sem.acquire(1);
    const controller = new AbortController();
    const waiting = sem.acquire(1, { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ reason: 'aborted' });
    expect(sem.waiting).toBe(0);
    held();
  });

  it('a lowered capacity refuses waiters that can no longer fit; a raised one lets them in', async () => {
    const sem = new WeightedSemaphore(10);
    const held = await sem.acquire(10);
    const eight = sem.acquire(8);
    sem.setCapacity(5);
    await expect(eight).rejects.toMatchObject({ reason: 'too-large' });
    const four = sem.acquire(4);
    sem.setCapacity(14);
    (await four)();
    held();
    expect(sem.inUse).toBe(0);
  });

  it('model: never holds more than its capacity, and serves everyone in arrival order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(
          fc.record({ amount: fc.integer({ min: 0, max: 25 }), holdTicks: fc.integer({ min: 0, max: 3 }) }),
          {
            maxLength: 30,
          },
        ),
        async (capacity, requests) => {
          const sem = new WeightedSemaphore(capacity);
          const served: number[] = [];
          let maxInUse = 0;
          await Promise.all(
            requests.map(async ({ amount, holdTicks }, index) => {
              let release: Release;
              try {
                release = await sem.acquire(amount);
              } catch (error) {
                expect(amount).toBeGreaterThan(capacity);
                expect((error as SemaphoreRefusal).reason).toBe('too-large');
                return;
              }
              served.push(index);
              maxInUse = Math.max(maxInUse, sem.inUse);
              for (let i = 0; i < holdTicks; i++) await tick();
              release();
            }),
          );
          expect(maxInUse).toBeLessThanOrEqual(capacity);
          const fitting = requests.flatMap((r, i) => (r.amount <= capacity ? [i] : []));
          expect(served).toEqual(fitting);
          expect(sem.inUse).toBe(0);
          expect(sem.waiting).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
