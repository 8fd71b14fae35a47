import { describe, expect, it } from 'vitest';
import {
  blockAtPosition,
  blockOfScramble,
  blockPosition,
  blockScrambleRange,
  compareShuffleRank,
  MAX_SHUFFLE_BLOCK_BITS,
  scrambleId,
  shuffleBlockBits,
  shuffleBlockOrder,
  shuffleKey,
  shuffleOrder,
  shuffleParams,
  shuffleRank,
} from '../src/index.ts';

const SEEDS = ['a', 'seed-42', 'Zz_-09', 'é'];
const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('scrambleId', () => {
  it.each([
    [0, 0],
    [1, 2_654_435_761],
    [2, 2 * 2_654_435_761 - 2 ** 32],
    [3, 3 * 2_654_435_761 - 2 ** 32],
    // Computed by Postgres: select ((2147483647::int4 % 2147483648) * 2654435761) % 4294967296
    [2 ** 31 - 1, 3_788_015_183],
    [2 ** 31, 0],
    [2 ** 31 + 1, 2_654_435_761],
  ])('scrambles id %d to %d', (id, expected) => {
    expect(scrambleId(id)).toBe(expected);
  });

  it('gives distinct ids distinct scrambles in [0, 2^32)', () => {
    const scrambles = ids(100_000).map(scrambleId);
    expect(new Set(scrambles).size).toBe(100_000);
    expect(Math.min(...scrambles)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...scrambles)).toBeLessThan(2 ** 32);
  });

  it('spreads consecutive ids evenly over the blocks, each block drawing from the whole id range', () => {
    const bits = 6;
    const byBlock = new Map<number, number[]>();
    for (const id of ids(6400)) {
      const block = blockOfScramble(scrambleId(id), bits);
      byBlock.set(block, [...(byBlock.get(block) ?? []), id]);
    }
    expect(byBlock.size).toBe(64);
    for (const members of byBlock.values()) {
      expect(members.length).toBeGreaterThanOrEqual(90);
      expect(members.length).toBeLessThanOrEqual(110);
      expect(Math.max(...members) - Math.min(...members)).toBeGreaterThan(6000);
    }
  });
});

describe('shuffleBlockBits', () => {
  it.each([
    [0, 64, 0],
    [63, 64, 0],
    [64, 64, 0],
    [127, 64, 0],
    [128, 64, 1],
    [255, 64, 1],
    [256, 64, 2],
    [100_000, 64, 10],
    [1e12, 64, MAX_SHUFFLE_BLOCK_BITS],
    [Number.MAX_SAFE_INTEGER, 64, MAX_SHUFFLE_BLOCK_BITS],
    [1, 1, 0],
    [2, 1, 1],
    [25, 1, 4],
    [25, 2, 3],
    [3, 2, 0],
    [4, 2, 1],
  ])('%d matches at %d rows per block: %d bits', (total, rowsPerBlock, bits) => {
    expect(shuffleBlockBits(total, rowsPerBlock)).toBe(bits);
  });

  it('uses 64 rows per block by default, and refuses a block size of 0', () => {
    expect(shuffleBlockBits(100_000)).toBe(10);
    expect(() => shuffleBlockBits(10, 0)).toThrow(RangeError);
  });
});

describe('block order', () => {
  const cases = SEEDS.flatMap((seed) => [0, 1, 2, 3, 5, 10].map((bits) => [seed, bits] as const));

  it.each(cases)(
    'seed %j, %d bits: positions are a bijection and blockAtPosition inverts it',
    (seed, bits) => {
      const order = shuffleBlockOrder(seed, bits);
      const size = 2 ** bits;
      expect(order.a % 2).toBe(1);
      expect(order.aInverse % 2).toBe(1);
      const positions = new Set<number>();
      for (let block = 0; block < size; block++) {
        const position = blockPosition(block, order);
        expect(position).toBeGreaterThanOrEqual(0);
        expect(position).toBeLessThan(size);
        positions.add(position);
        expect(blockAtPosition(position, order)).toBe(block);
        expect(blockPosition(blockAtPosition(block, order), order)).toBe(block);
      }
      expect(positions.size).toBe(size);
    },
  );

  it.each(SEEDS)('seed %j, 24 bits: exact (checked in BigInt) and inverse', (seed) => {
    const order = shuffleBlockOrder(seed, 24);
    const size = 2n ** 24n;
    expect((BigInt(order.a) * BigInt(order.aInverse)) % size).toBe(1n);
    for (const block of [0, 1, 2 ** 23, 2 ** 24 - 2, 2 ** 24 - 1, 12_345_678]) {
      const position = blockPosition(block, order);
      expect(BigInt(position)).toBe((BigInt(order.a) * BigInt(block) + BigInt(order.c)) % size);
      expect(blockAtPosition(position, order)).toBe(block);
    }
  });

  it('another seed, another order; bits out of range are refused', () => {
    const a = shuffleBlockOrder('one', 10);
    const b = shuffleBlockOrder('two', 10);
    expect([a.a, a.c]).not.toEqual([b.a, b.c]);
    for (const bits of [-1, 25, 1.5]) expect(() => shuffleBlockOrder('x', bits)).toThrow(RangeError);
  });
});

describe('block scramble ranges', () => {
  it.each([0, 1, 4, 10])('%d bits: the blocks tile [0, 2^32) in order', (bits) => {
    const size = 2 ** bits;
    let next = 0;
    for (let block = 0; block < size; block++) {
      const { lo, hi } = blockScrambleRange(block, bits);
      expect(lo).toBe(next);
      expect(hi).toBeGreaterThanOrEqual(lo);
      expect(blockOfScramble(lo, bits)).toBe(block);
      expect(blockOfScramble(hi, bits)).toBe(block);
      next = hi + 1;
    }
    expect(next).toBe(2 ** 32);
  });

  it.each([
    [0, 0, 0, 2 ** 32 - 1],
    [1, 1, 2 ** 31, 2 ** 32 - 1],
    [24, 0, 0, 255],
    [24, 2 ** 24 - 1, 2 ** 32 - 256, 2 ** 32 - 1],
  ])('%d bits, block %d: [%d, %d]', (bits, block, lo, hi) => {
    expect(blockScrambleRange(block, bits)).toEqual({ lo, hi });
  });
});

describe('shuffleOrder', () => {
  it.each([0, 1, 3, 6])('%d bits: a permutation, block by block in position order, by key inside', (bits) => {
    const all = ids(2000);
    const ordered = shuffleOrder(all, 'seed-42', bits);
    expect([...ordered].sort((x, y) => x - y)).toEqual(all);
    const key = shuffleParams('seed-42');
    const order = shuffleBlockOrder('seed-42', bits);
    const ranks = ordered.map((id) => shuffleRank(id, key, order));
    for (let i = 1; i < ranks.length; i++) {
      expect(compareShuffleRank(ranks[i - 1]!, ranks[i]!)).toBeLessThan(0);
      expect(ranks[i]!.position).toBeGreaterThanOrEqual(ranks[i - 1]!.position);
    }
    expect(new Set(ranks.map((r) => r.position)).size).toBe(2 ** bits);
  });

  it('with 0 bits it is the plain key order (key, id)', () => {
    const key = shuffleParams('abc');
    const byKey = ids(500).sort((x, y) => shuffleKey(x, key) - shuffleKey(y, key) || x - y);
    expect(shuffleOrder(ids(500), 'abc', 0)).toEqual(byKey);
  });

  it('the same seed gives the same order, another seed another', () => {
    expect(shuffleOrder(ids(1000), 'alpha', 4)).toEqual(shuffleOrder(ids(1000), 'alpha', 4));
    expect(shuffleOrder(ids(1000), 'alpha', 4)).not.toEqual(shuffleOrder(ids(1000), 'beta', 4));
  });

  it('does not follow id order (the first rows come from all over the library)', () => {
    const first = shuffleOrder(ids(100_000), 'x', shuffleBlockBits(100_000)).slice(0, 200);
    expect(Math.max(...first) - Math.min(...first)).toBeGreaterThan(90_000);
  });
});
