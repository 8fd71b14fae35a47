import { describe, expect, it } from 'vitest';
import {
  CursorError,
  decodeIdCursor,
  decodePhotoCursor,
  encodeCursor,
  encodeIdCursor,
  encodePhotoCursor,
  type PhotoCursor,
  randomShuffleSeed,
  SHUFFLE_MODULUS,
  shuffleKey,
  shuffleParams,
} from '../src/index.ts';

describe('photo cursors', () => {
  const cursors: PhotoCursor[] = [
    { s: 'DateTakenDesc', d: '2024-04-25T10:00:00.000Z', id: 17 },
    { s: 'DateTakenAsc', d: null, id: 3 },
    { s: 'NameAsc', f: 'IMG_0001.JPG', r: '2024/été/IMG_0001.JPG', id: 9 },
    { s: 'NameDesc', f: 'a"b\\c.jpg', r: 'x/a"b\\c.jpg', id: 1 },
    { s: 'TagCountDesc', c: 0, id: 5 },
    { s: 'TagCountAsc', c: 12, id: 50_000 },
    { s: 'Shuffle', seed: 'abc-DEF_123', m: 0, p: 0, k: SHUFFLE_MODULUS - 1, id: 2 },
    { s: 'Shuffle', seed: 'x', m: 24, p: 2 ** 24 - 1, k: 0, id: 7 },
  ];
  it.each(cursors)('round-trips %j as URL-safe text', (cursor) => {
    const text = encodePhotoCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePhotoCursor(text)).toEqual(cursor);
    expect(decodePhotoCursor(text, { sort: cursor.s })).toEqual(cursor);
  });

  const b64 = (text: string) => Buffer.from(text).toString('base64url');
  it.each([
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['not JSON', b64('{nope')],
    ['JSON but not an object', b64('42')],
    ['no version', b64(JSON.stringify({ s: 'NameAsc', f: 'a', r: 'a', id: 1 }))],
    ['another version', b64(JSON.stringify({ v: 2, s: 'NameAsc', f: 'a', r: 'a', id: 1 }))],
    ['unknown sort', encodeCursor({ s: 'Random', id: 1 })],
    ['missing key', encodeCursor({ s: 'NameAsc', f: 'a', id: 1 })],
    ['id not a positive integer', encodeCursor({ s: 'TagCountAsc', c: 1, id: 0 })],
    ['fractional count', encodeCursor({ s: 'TagCountAsc', c: 1.5, id: 1 })],
    [
      'shuffle key out of range',
      encodeCursor({ s: 'Shuffle', seed: 'x', m: 0, p: 0, k: SHUFFLE_MODULUS, id: 1 }),
    ],
    ['bad seed', encodeCursor({ s: 'Shuffle', seed: 'a b', m: 0, p: 0, k: 1, id: 1 })],
    ['shuffle of the old format (no m, p)', encodeCursor({ s: 'Shuffle', seed: 'x', k: 1, id: 1 })],
    ['shuffle block bits above 24', encodeCursor({ s: 'Shuffle', seed: 'x', m: 25, p: 0, k: 1, id: 1 })],
    ['fractional block bits', encodeCursor({ s: 'Shuffle', seed: 'x', m: 1.5, p: 0, k: 1, id: 1 })],
    [
      'block position past the last block',
      encodeCursor({ s: 'Shuffle', seed: 'x', m: 3, p: 8, k: 1, id: 1 }),
    ],
    ['negative block position', encodeCursor({ s: 'Shuffle', seed: 'x', m: 3, p: -1, k: 1, id: 1 })],
    ['date as number', encodeCursor({ s: 'DateTakenAsc', d: 5, id: 1 })],
    ['far too long', 'A'.repeat(9000)],
  ])('rejects %s', (_name, text) => {
    expect(() => decodePhotoCursor(text)).toThrow(CursorError);
  });

  it.each([
    [{ s: 'NameAsc', f: 'a', r: 'a', id: 1 } as PhotoCursor, { sort: 'NameDesc' as const }],
    [
      { s: 'Shuffle', seed: 'one', m: 0, p: 0, k: 1, id: 1 } as PhotoCursor,
      { sort: 'Shuffle' as const, seed: 'two' },
    ],
  ])('rejects %j when the query expects %j', (cursor, expect_) => {
    expect(() => decodePhotoCursor(encodePhotoCursor(cursor), expect_)).toThrow(CursorError);
  });

  it('id cursors round-trip and are validated', () => {
    expect(decodeIdCursor(encodeIdCursor({ id: 42 }))).toEqual({ id: 42 });
    expect(() => decodeIdCursor(encodeCursor({ id: -1 }))).toThrow(CursorError);
  });
});

describe('shuffle keys', () => {
  /** FNV-1a (32 bit) in BigInt, as an independent reference for the seed mapping. */
  function fnv1a(text: string): bigint {
    let hash = 0x811c9dc5n;
    for (const byte of Buffer.from(text, 'utf8')) hash = ((hash ^ BigInt(byte)) * 0x01000193n) % 2n ** 32n;
    return hash;
  }
  const expectedParam = (salt: string, seed: string) =>
    Number(fnv1a(`${salt}:${seed}`) % BigInt(SHUFFLE_MODULUS - 1)) + 1;

  it.each([['a'], ['seed-42'], ['Zz_-09'], ['é']])(
    'params of %j come from FNV-1a of the seed, in [1, P-1]',
    (seed) => {
      const params = shuffleParams(seed);
      expect(params).toEqual({
        a: expectedParam('a', seed),
        b: expectedParam('b', seed),
        c: expectedParam('c', seed),
      });
      for (const value of Object.values(params)) {
        expect(Number.isInteger(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(1);
        expect(value).toBeLessThan(SHUFFLE_MODULUS);
      }
    },
  );

  it.each([
    [1, { a: 2, b: 3, c: 5 }, (2 * 1 + 3) ** 2 + 5],
    [10, { a: 2, b: 3, c: 5 }, (2 * 10 + 3) ** 2 + 5],
    [SHUFFLE_MODULUS, { a: 7, b: 11, c: 13 }, 11 * 11 + 13],
    [SHUFFLE_MODULUS + 1, { a: 7, b: 11, c: 13 }, 18 * 18 + 13],
  ])('key of id %d with %j is %d', (id, params, expected) => {
    expect(shuffleKey(id, params)).toBe(expected);
  });

  it('stays exact where doubles would round (products near 2^62)', () => {
    const params = { a: SHUFFLE_MODULUS - 1, b: SHUFFLE_MODULUS - 2, c: SHUFFLE_MODULUS - 3 };
    const p = BigInt(SHUFFLE_MODULUS);
    for (const id of [1, 2, 1_000_003, 2 ** 40 + 7]) {
      const x = ((BigInt(id) % p) * (p - 1n) + (p - 2n)) % p;
      expect(shuffleKey(id, params)).toBe(Number((x * x + (p - 3n)) % p));
    }
  });

  function order(seed: string, n: number): number[] {
    const params = shuffleParams(seed);
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    return ids
      .map((id) => [shuffleKey(id, params), id] as const)
      .sort((x, y) => x[0] - y[0] || x[1] - y[1])
      .map(([, id]) => id);
  }

  function rankCorrelation(a: number[], b: number[]): number {
    const n = a.length;
    const mean = (n - 1) / 2;
    const rankB = new Map(b.map((id, i) => [id, i]));
    let num = 0;
    let den = 0;
    a.forEach((id, i) => {
      num += (i - mean) * ((rankB.get(id) ?? 0) - mean);
      den += (i - mean) ** 2;
    });
    return num / den;
  }

  it('looks random: unrelated to id order, to neighbouring ids, and to other seeds', () => {
    const n = 20_000;
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    const a = order('alpha', n);
    const b = order('beta', n);
    expect(Math.abs(rankCorrelation(a, ids))).toBeLessThan(0.05);
    expect(Math.abs(rankCorrelation(a, b))).toBeLessThan(0.05);
    // An affine map alone puts ids at a handful of fixed distances (three-gap theorem).
    const gaps = new Set(a.slice(1).map((id, i) => id - (a[i] ?? 0)));
    expect(gaps.size).toBeGreaterThan(n / 2);
    expect(new Set(a).size).toBe(n);
  });

  it('random seeds are valid seeds and differ', () => {
    const seeds = new Set(Array.from({ length: 50 }, randomShuffleSeed));
    expect(seeds.size).toBe(50);
    for (const seed of seeds) expect(seed).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });
});
