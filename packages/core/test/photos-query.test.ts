import { describe, expect, it } from 'vitest';
import {
  cleanTagName,
  encodePhotoCursor,
  favoritesQuerySchema,
  memoriesQuerySchema,
  normalizeTagName,
  parseIsoInstant,
  photoRefSchema,
  photosQuerySchema,
  splitTagRefs,
  tagLinkBodySchema,
  tagNameSchema,
  tagsBatchBodySchema,
  toPhotoSearch,
} from '../src/index.ts';

/** The parameter names a failed parse complains about. */
function issuePaths(result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }): string[] {
  return result.success ? [] : (result.error?.issues ?? []).map((issue) => issue.path.join('.'));
}

describe('parseIsoInstant', () => {
  it.each([
    ['2024-05-01', 'start', '2024-05-01T00:00:00.000Z'],
    ['2024-05-01', 'end', '2024-05-01T23:59:59.999Z'],
    ['2024-02-29', 'end', '2024-02-29T23:59:59.999Z'],
    ['2024-05-01T10:20:30Z', 'start', '2024-05-01T10:20:30.000Z'],
    ['2024-05-01T10:20:30.5Z', 'end', '2024-05-01T10:20:30.500Z'],
    ['2024-05-01T10:20', 'start', '2024-05-01T10:20:00.000Z'],
    ['2024-05-01 10:20:30', 'start', '2024-05-01T10:20:30.000Z'],
    ['2024-05-01T00:30:00+02:00', 'start', '2024-04-30T22:30:00.000Z'],
    ['2024-05-01T23:30:00-0530', 'start', '2024-05-02T05:00:00.000Z'],
    ['2024-05-01T10:00:00.123456789+01', 'start', '2024-05-01T09:00:00.123Z'],
  ] as const)('%s (%s) -> %s', (text, edge, expected) => {
    expect(parseIsoInstant(text, edge)).toBe(expected);
  });

  it.each([
    ['2023-02-29'],
    ['2024-13-01'],
    ['2024-04-31'],
    ['2024-05-01T24:00'],
    ['2024-05-01T10:60'],
    ['2024-05-01T10:00:00+15:00'],
    ['May 1st'],
    ['1714550400'],
    [''],
    ['2024-05-01T10:00:00Zjunk'],
  ])('rejects %j', (text) => {
    expect(parseIsoInstant(text)).toBeNull();
  });
});

describe('photosQuerySchema', () => {
  it('applies the defaults', () => {
    expect(photosQuerySchema.parse({})).toEqual({
      recursive: false,
      sort: 'DateTakenDesc',
      tag_mode: 'any',
      media_type: 'all',
      limit: 100,
    });
  });

  it.each([
    [{ path: './2024//summer/' }, { path: '2024/summer' }],
    [{ path: '' }, { path: '' }],
    [{ recursive: 'true' }, { recursive: true }],
    [{ recursive: '0' }, { recursive: false }],
    [{ favorite: '1' }, { favorite: true }],
    [{ camera_make: '  Canon ' }, { camera_make: 'Canon' }],
    [
      { gps_lat: '-33.5', gps_lon: '151', gps_radius_km: '10' },
      { gps_lat: -33.5, gps_lon: 151, gps_radius_km: 10 },
    ],
    [
      { date_from: '2024-01-01', date_to: '2024-01-31' },
      { date_from: '2024-01-01T00:00:00.000Z', date_to: '2024-01-31T23:59:59.999Z' },
    ],
    [
      { date_from: '2024-01-01', date_to: '2024-01-01' },
      { date_from: '2024-01-01T00:00:00.000Z', date_to: '2024-01-01T23:59:59.999Z' },
    ],
    [{ tag_ids: '3,1,3' }, { tag_ids: [3, 1] }],
    [{ tag_ids: ['1', '2,4'] }, { tag_ids: [1, 2, 4] }],
    [{ tag_mode: 'all' }, { tag_mode: 'all' }],
    [{ media_type: 'video' }, { media_type: 'video' }],
    [{ limit: '500' }, { limit: 500 }],
    [
      { sort: 'Shuffle', seed: 'abc' },
      { sort: 'Shuffle', seed: 'abc' },
    ],
    [{ library: 'main' }, { library: 'main' }],
  ] as [Record<string, unknown>, Record<string, unknown>][])('%j -> %j', (input, expected) => {
    expect(photosQuerySchema.parse(input)).toMatchObject(expected);
  });

  it.each([
    [{ path: '../etc' }, ['path']],
    [{ path: '/abs' }, ['path']],
    [{ recursive: 'yes' }, ['recursive']],
    [{ sort: 'Random' }, ['sort']],
    [{ seed: 'has space' }, ['seed']],
    [{ camera_make: '   ' }, ['camera_make']],
    [{ camera_make: 'Can\0on' }, ['camera_make']],
    [{ library: 'ma\0in' }, ['library']],
    [{ gps_lat: '91', gps_lon: '0', gps_radius_km: '1' }, ['gps_lat']],
    [{ gps_lat: '0', gps_lon: '-180.5', gps_radius_km: '1' }, ['gps_lon']],
    [{ gps_lat: '0', gps_lon: '0', gps_radius_km: '0' }, ['gps_radius_km']],
    [{ gps_lat: '0', gps_lon: '0', gps_radius_km: 'ten' }, ['gps_radius_km']],
    [{ gps_lat: '', gps_lon: '0', gps_radius_km: '1' }, ['gps_lat']],
    [{ gps_lat: '10' }, ['gps_lon', 'gps_radius_km']],
    [{ date_from: 'yesterday' }, ['date_from']],
    [{ date_from: '2024-02-01', date_to: '2024-01-01' }, ['date_to']],
    [{ tag_ids: '1,x' }, ['tag_ids']],
    [{ tag_ids: '0' }, ['tag_ids']],
    [{ tag_ids: '2147483648' }, ['tag_ids']], // ids are 4-byte integers on PostgreSQL
    [{ person: '2147483648' }, ['person']],
    [{ tag_ids: ',' }, ['tag_ids']],
    [{ tag_ids: Array.from({ length: 101 }, (_, i) => String(i + 1)).join(',') }, ['tag_ids']],
    [{ tag_mode: 'some' }, ['tag_mode']],
    [{ media_type: 'raw' }, ['media_type']],
    [{ limit: '0' }, ['limit']],
    [{ limit: '501' }, ['limit']],
    [{ limit: '1.5' }, ['limit']],
    [{ cursor: 'garbage!' }, ['cursor']],
    [{ sort: 'NameAsc', cursor: encodePhotoCursor({ s: 'NameDesc', f: 'a', r: 'a', id: 1 }) }, ['cursor']],
    [
      {
        sort: 'Shuffle',
        seed: 'two',
        cursor: encodePhotoCursor({ s: 'Shuffle', seed: 'one', m: 0, p: 0, k: 5, id: 1 }),
      },
      ['cursor'],
    ],
  ] as [Record<string, unknown>, string[]][])('rejects %j naming %j', (input, paths) => {
    expect(issuePaths(photosQuerySchema.safeParse(input))).toEqual(paths);
  });

  it('accepts a cursor of the same sort and decodes it', () => {
    const cursor = { s: 'NameAsc' as const, f: 'a.jpg', r: 'x/a.jpg', id: 4 };
    expect(photosQuerySchema.parse({ sort: 'NameAsc', cursor: encodePhotoCursor(cursor) }).cursor).toEqual(
      cursor,
    );
  });
});

describe('toPhotoSearch', () => {
  it('maps every parameter onto the repository search', () => {
    const query = photosQuerySchema.parse({
      path: '2024',
      recursive: 'true',
      sort: 'NameAsc',
      camera_make: 'Canon',
      camera_model: 'EOS R5',
      lens: 'RF 50',
      gps_lat: '1',
      gps_lon: '2',
      gps_radius_km: '3',
      date_from: '2024-01-01',
      date_to: '2024-12-31',
      tag_ids: '5,6',
      tag_mode: 'all',
      media_type: 'photo',
      favorite: 'true',
      limit: '20',
    });
    expect(toPhotoSearch(query, { libraryIds: [1, 2], userId: 7 })).toEqual({
      libraryIds: [1, 2],
      folder: { dir: '2024', recursive: true },
      cameraMake: 'Canon',
      cameraModel: 'EOS R5',
      lens: 'RF 50',
      gps: { lat: 1, lon: 2, radiusKm: 3 },
      dateFrom: '2024-01-01T00:00:00.000Z',
      dateTo: '2024-12-31T23:59:59.999Z',
      tags: { ids: [5, 6], mode: 'all' },
      mediaType: 'photo',
      favoriteOf: 7,
      userId: 7,
      sort: 'NameAsc',
      limit: 20,
    });
  });

  it.each([
    [{ sort: 'Shuffle', seed: 'mine' }, 'mine'],
    [
      {
        sort: 'Shuffle',
        cursor: encodePhotoCursor({ s: 'Shuffle', seed: 'fromcursor', m: 0, p: 0, k: 1, id: 1 }),
      },
      'fromcursor',
    ],
  ])('Shuffle seed from %j is %s', (input, seed) => {
    expect(toPhotoSearch(photosQuerySchema.parse(input), { libraryIds: [1] }).seed).toBe(seed);
  });

  it('gives a Shuffle without a seed a random one, and other sorts none', () => {
    const a = toPhotoSearch(photosQuerySchema.parse({ sort: 'Shuffle' }), { libraryIds: [1] }).seed;
    const b = toPhotoSearch(photosQuerySchema.parse({ sort: 'Shuffle' }), { libraryIds: [1] }).seed;
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(toPhotoSearch(photosQuerySchema.parse({ seed: 'x' }), { libraryIds: [1] }).seed).toBeUndefined();
  });

  it('refuses favorite=true without a user', () => {
    expect(() => toPhotoSearch(photosQuerySchema.parse({ favorite: 'true' }), { libraryIds: [1] })).toThrow();
  });
});

describe('memoriesQuerySchema', () => {
  it('applies the defaults', () => {
    expect(memoriesQuerySchema.parse({})).toEqual({
      recursive: true,
      span: 'week',
      tz: 'UTC',
      media_type: 'all',
      limit_per_year: 50,
    });
  });
  it.each([
    [{ span: 'year' }, ['span']],
    [{ tz: 'Nowhere/City' }, ['tz']],
    [{ limit_per_year: '501' }, ['limit_per_year']],
    [{ path: 'a/../b' }, ['path']],
  ] as [Record<string, unknown>, string[]][])('rejects %j naming %j', (input, paths) => {
    expect(issuePaths(memoriesQuerySchema.safeParse(input))).toEqual(paths);
  });
});

describe('tag names', () => {
  it.each([
    ['Summer', 'Summer', 'summer'],
    ['  Summer   Trip\t2024 ', 'Summer Trip 2024', 'summer trip 2024'],
    ['Cafe\u0301', 'Café', 'café'],
    ['ÉTÉ', 'ÉTÉ', 'été'],
  ])('%j shows as %j, unique as %j', (input, clean, normalized) => {
    expect(cleanTagName(input)).toBe(clean);
    expect(normalizeTagName(input)).toBe(normalized);
    expect(tagNameSchema.parse(input)).toBe(clean);
  });
  it.each([[''], ['   '], ['x'.repeat(101)], ['bad\u0000name'], ['bell\u0007']])('rejects %j', (input) => {
    expect(tagNameSchema.safeParse(input).success).toBe(false);
  });
});

describe('tag and favorite bodies', () => {
  it.each([
    [{ path: 'a/b.jpg', tag_id: 3 }, true],
    [{ path: 'a/b.jpg', library: 'main', tag_name: 'Beach' }, true],
    [{ path: 'a/b.jpg', library: 2, tag_name: 'Beach' }, true],
    [{ path: 'a/b.jpg' }, false],
    [{ path: 'a/b.jpg', tag_id: 3, tag_name: 'Beach' }, false],
    [{ path: '', tag_id: 3 }, false],
    [{ path: '../b.jpg', tag_id: 3 }, false],
    [{ path: 'a/b.jpg', tag_id: 0 }, false],
    [{ path: 'a/b.jpg', tag_id: '3' }, false],
  ])('tag link body %j valid: %s', (body, valid) => {
    expect(tagLinkBodySchema.safeParse(body).success).toBe(valid);
  });

  it('batch bodies: ids and names in add, defaults, limits', () => {
    expect(tagsBatchBodySchema.parse({ items: [{ path: 'a.jpg' }], add: [1, ' New  Tag ', 1] })).toEqual({
      items: [{ path: 'a.jpg' }],
      add: [1, 'New Tag', 1],
      remove: [],
    });
    expect(splitTagRefs([1, 'New Tag', 1, 2])).toEqual({ ids: [1, 2], names: ['New Tag'] });
    expect(issuePaths(tagsBatchBodySchema.safeParse({ items: [{ path: 'a.jpg' }] }))).toEqual(['add']);
    expect(issuePaths(tagsBatchBodySchema.safeParse({ items: [], add: [1] }))).toEqual(['items']);
    expect(
      issuePaths(tagsBatchBodySchema.safeParse({ items: [{ path: 'a.jpg' }], add: [1], remove: ['x'] })),
    ).toEqual(['remove.0']);
  });

  it('photo refs normalize the path and take a library name or id', () => {
    expect(photoRefSchema.parse({ path: 'x//y.jpg', library: 4 })).toEqual({ path: 'x/y.jpg', library: '4' });
  });

  it('favorites list query', () => {
    expect(favoritesQuerySchema.parse({})).toEqual({ limit: 100 });
    expect(favoritesQuerySchema.safeParse({ cursor: 'nope!' }).success).toBe(false);
  });
});
