import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  binaryCode,
  type CodeBlock,
  candidatesFor,
  codeWords,
  meanOfUnitVectors,
  nearestCodes,
  popcount32,
} from '../src/index.ts';

const v = (...xs: number[]) => Float32Array.from(xs);

describe('popcount32', () => {
  it.each<[number, number]>([
    [0, 0],
    [1, 1],
    [0xff, 8],
    [0x80000000, 1],
    [0xffffffff, 32],
    [-1, 32],
    [0x55555555, 16],
    [0x12345678, 13],
  ])('popcount32(%i) = %i', (word, bits) => {
    expect(popcount32(word)).toBe(bits);
  });

  it('agrees with counting bit by bit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (word) => {
        let n = 0;
        for (let i = 0; i < 32; i++) n += (word >>> i) & 1;
        expect(popcount32(word)).toBe(n);
      }),
    );
  });
});

describe('codeWords', () => {
  it.each<[number, number]>([
    [1, 1],
    [32, 1],
    [33, 2],
    [512, 16],
    [1024, 32],
  ])('%i dimensions -> %i words', (dim, words) => expect(codeWords(dim)).toBe(words));
});

describe('meanOfUnitVectors', () => {
  it.each<[string, Float32Array[], number[] | undefined]>([
    ['none', [], undefined],
    ['one vector, made unit', [v(3, 4)], [0.6, 0.8]],
    ['two opposite', [v(1, 0), v(-2, 0)], [0, 0]],
    ['zero vectors skipped', [v(0, 0), v(0, 5)], [0, 1]],
    ['only zero vectors', [v(0, 0)], undefined],
    ['other lengths skipped', [v(1, 0), v(1, 1, 1)], [1, 0]],
  ])('%s', (_name, vectors, expected) => {
    const mean = meanOfUnitVectors(vectors);
    if (expected === undefined) expect(mean).toBeUndefined();
    else expect(Array.from(mean ?? []).map((x) => Number(x.toFixed(6)))).toEqual(expected);
  });
});

describe('binaryCode', () => {
  it.each<[string, Float32Array, Float32Array, number[]]>([
    ['above a zero center', v(1, -1, 0.5, -0.5), v(0, 0, 0, 0), [0b0101]],
    ['measured after making the vector unit', v(3, 4), v(0.5, 0.9), [0b01]],
    ['centered: all positive values still split', v(0.1, 0.5, 0.2, 0.8), v(0.3, 0.3, 0.3, 0.3), [0b1010]],
    [
      'bit 32 in the second word',
      Float32Array.from({ length: 33 }, (_, i) => (i === 32 ? 1 : 0)),
      new Float32Array(33),
      [0, 1],
    ],
    [
      'bit 31 stays unsigned',
      Float32Array.from({ length: 32 }, (_, i) => (i === 31 ? 1 : 0)),
      new Float32Array(32),
      [0x80000000],
    ],
  ])('%s', (_name, vector, center, words) => {
    expect(Array.from(binaryCode(vector, center))).toEqual(words);
  });

  it('writes into a shared buffer at an offset, clearing what was there', () => {
    const out = new Uint32Array(3).fill(0xffffffff);
    binaryCode(v(1, -1), v(0, 0), out, 1);
    expect(Array.from(out)).toEqual([0xffffffff, 1, 0xffffffff]);
  });

  it('refuses a center of another length', () => {
    expect(() => binaryCode(v(1, 2), v(0))).toThrow(/center of 1/);
  });
});

function block(entries: [number, number][]): CodeBlock {
  return {
    ids: Uint32Array.from(entries.map((e) => e[0])),
    codes: Uint32Array.from(entries.map((e) => e[1])),
  };
}

describe('nearestCodes', () => {
  const blocks = [
    block([
      [1, 0b0000],
      [2, 0b0001],
      [3, 0b0011],
    ]),
    block([
      [4, 0b0111],
      [5, 0b1111],
      [6, 0b0001],
    ]),
  ];
  it.each<[string, number, number | undefined, number[]]>([
    ['the single nearest', 1, undefined, [1]],
    ['ties at the cut all kept', 2, undefined, [1, 2, 6]],
    ['three: the tie already covers it', 3, undefined, [1, 2, 6]],
    ['four', 4, undefined, [1, 2, 3, 6]],
    ['more than there are: every id', 10, undefined, [1, 2, 3, 4, 5, 6]],
    ['excluded id never returned', 1, 1, [2, 6]],
    ['zero wanted: only distance-0 codes', 0, undefined, [1]],
  ])('%s', (_name, count, exclude, ids) => {
    expect(nearestCodes(blocks, Uint32Array.of(0), count, exclude).sort((a, b) => a - b)).toEqual(ids);
  });

  it('empty blocks and no blocks give nothing', () => {
    expect(nearestCodes([], Uint32Array.of(0), 5)).toEqual([]);
    expect(nearestCodes([block([])], Uint32Array.of(0), 5)).toEqual([]);
  });

  it('holds the exact nearest by Hamming distance for random codes (model check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })), {
          maxLength: 60,
        }),
        fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })),
        fc.integer({ min: 1, max: 20 }),
        (codes, query, count) => {
          const ids = Uint32Array.from(codes.map((_, i) => i + 1));
          const b: CodeBlock = { ids, codes: Uint32Array.from(codes.flat()) };
          const q = Uint32Array.from(query);
          const dist = codes.map((c) => popcount32(c[0] ^ query[0]) + popcount32(c[1] ^ query[1]));
          const found = new Set(nearestCodes([b], q, count));
          expect(found.size).toBe(Math.min(codes.length, Math.max(count, found.size)));
          // Everything strictly nearer than the farthest returned code is returned.
          const farthest = Math.max(-1, ...[...found].map((id) => dist[id - 1] as number));
          dist.forEach((d, i) => {
            if (d < farthest) expect(found.has(i + 1)).toBe(true);
          });
          if (codes.length >= count) expect(found.size).toBeGreaterThanOrEqual(count);
        },
      ),
    );
  });
});

describe('candidatesFor', () => {
  it.each<[number, number]>([
    [1, 256],
    [10, 256],
    [13, 260],
    [100, 2000],
  ])('k=%i -> %i candidates', (k, n) => expect(candidatesFor(k)).toBe(n));
});
