import {
  PHOTO_SORTS,
  type PhotoFilters,
  type PhotoSearch,
  type PhotoSort,
  photosQuerySchema,
  scrambleId,
  shuffleBlockBits,
} from '@lumen/core';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, ImageExifRepository, type PhotoItem, PhotosRepository } from '../src/index.ts';
import { escapeLike, scrambledIdSql } from '../src/repositories/photo-filters.ts';
import {
  destination,
  type FixturePhoto,
  hash,
  PARIS,
  referenceFilter,
  referenceSort,
  type SeededLibrary,
  seedPhotoLibrary,
  toImageRow,
} from './photo-fixtures.ts';
import { ENGINES, openEngine } from './test-engines.ts';

describe('escapeLike', () => {
  it.each([
    ['plain', 'plain'],
    ['100%', '100\\%'],
    ['a_b', 'a\\_b'],
    ['back\\slash', 'back\\\\slash'],
    ['%_\\', '\\%\\_\\\\'],
  ])('%j -> %j', (input, expected) => {
    expect(escapeLike(input)).toBe(expected);
  });
});

const PLANS = ENGINES.flatMap((engine) => [
  { engine, plan: 'default plan', sortIndexMinMatches: undefined },
  { engine, plan: 'sort-index plan', sortIndexMinMatches: 0 },
]);

describe.each(PLANS)('PhotosRepository on $engine, $plan', ({ engine, sortIndexMinMatches }) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  let seed: SeededLibrary;
  let photos: PhotosRepository;
  let all: number[];

  beforeAll(async () => {
    ({ database, cleanup } = await openEngine(engine));
    seed = await seedPhotoLibrary(database);
    photos = new PhotosRepository(database.db, database.kind, { sortIndexMinMatches });
    all = [seed.libraries.main, seed.libraries.archive];
  });
  afterAll(() => cleanup?.());

  /** Every page of a search, following nextCursor; checks each page's total and size. */
  async function collect(
    search: PhotoSearch,
    repository = photos,
  ): Promise<{ items: PhotoItem[]; pages: number; total: number }> {
    const items: PhotoItem[] = [];
    let cursor: PhotoSearch['cursor'];
    let pages = 0;
    let total = -1;
    for (;;) {
      const page = await repository.search({ ...search, ...(cursor ? { cursor } : {}) });
      pages++;
      expect(page.items.length).toBeLessThanOrEqual(search.limit);
      if (total === -1) total = page.total;
      expect(page.total).toBe(total);
      items.push(...page.items);
      if (page.nextCursor === null) break;
      expect(page.items).toHaveLength(search.limit);
      // Round-trip through the HTTP schema, as a client would send it back.
      const query = photosQuerySchema.parse({ sort: search.sort, cursor: page.nextCursor });
      cursor = query.cursor;
      expect(pages).toBeLessThan(100);
    }
    return { items, pages, total };
  }

  const paths = (items: { library_id: number; rel_path: string }[]) =>
    items.map((item) => `${item.library_id === seed.libraries.main ? 'main' : 'archive'}:${item.rel_path}`);

  type Case = [string, (s: SeededLibrary) => Omit<PhotoFilters, 'libraryIds'> & { libraryIds?: number[] }];
  const cases: Case[] = [
    ['no filter', () => ({})],
    ['one library', (s) => ({ libraryIds: [s.libraries.archive] })],
    ['no library', () => ({ libraryIds: [] })],
    ['root folder only', () => ({ folder: { dir: '', recursive: false } })],
    ['root folder, recursive', () => ({ folder: { dir: '', recursive: true } })],
    ['folder 2024', () => ({ folder: { dir: '2024', recursive: false } })],
    ['folder 2024, recursive (not 2024x)', () => ({ folder: { dir: '2024', recursive: true } })],
    [
      'folder 2024/summer, recursive (not 2024/Summer)',
      () => ({ folder: { dir: '2024/summer', recursive: true } }),
    ],
    [
      'folder 100%_done, recursive (LIKE wildcards are literal)',
      () => ({ folder: { dir: '100%_done', recursive: true } }),
    ],
    ['folder a_b, recursive', () => ({ folder: { dir: 'a_b', recursive: true } })],
    ['folder a, recursive (no such folder)', () => ({ folder: { dir: 'a', recursive: true } })],
    ['camera make, any case', () => ({ cameraMake: 'canon' })],
    ['camera make and model', () => ({ cameraMake: 'CANON', cameraModel: 'EOS R5' })],
    ['lens', () => ({ lens: 'FE 35MM F1.8' })],
    ['GPS 10 km around Paris', () => ({ gps: { ...PARIS, radiusKm: 10 } })],
    ['GPS 0.001 km around Paris', () => ({ gps: { ...PARIS, radiusKm: 0.001 } })],
    ['GPS 60 km around Paris', () => ({ gps: { ...PARIS, radiusKm: 60 } })],
    ['GPS across the antimeridian', () => ({ gps: { lat: -17.8, lon: 179.99, radiusKm: 5 } })],
    ['GPS across the antimeridian, west side', () => ({ gps: { lat: -17.8, lon: -179.999, radiusKm: 60 } })],
    ['GPS around the north pole', () => ({ gps: { lat: 89.99, lon: -120, radiusKm: 12.2 } })],
    [
      'GPS around the north pole, one point 12.1 km away left out',
      () => ({ gps: { lat: 89.99, lon: -120, radiusKm: 12 } }),
    ],
    ['GPS whole planet', () => ({ gps: { lat: 0, lon: 0, radiusKm: 30_000 } })],
    ['dates from', () => ({ dateFrom: '2021-03-15T10:00:00.000Z' })],
    ['dates to (inclusive)', () => ({ dateTo: '2017-12-31T23:59:59.999Z' })],
    ['dates between', () => ({ dateFrom: '2016-01-01T00:00:00.000Z', dateTo: '2020-12-31T23:59:59.999Z' })],
    ['tags any', (s) => ({ tags: { ids: [s.tags.beach, s.tags.city], mode: 'any' } })],
    ['tags all', (s) => ({ tags: { ids: [s.tags.beach, s.tags.family], mode: 'all' } })],
    [
      'tags all of three',
      (s) => ({ tags: { ids: [s.tags.beach, s.tags.family, s.tags.city], mode: 'all' } }),
    ],
    ['tags all, one unused', (s) => ({ tags: { ids: [s.tags.beach, s.tags.unused], mode: 'all' } })],
    // Postgres writes "all" as one EXISTS per tag, SQLite as a count of links per hash: a repeated
    // id must neither be required twice nor make the count unreachable.
    [
      'tags all, an id repeated',
      (s) => ({ tags: { ids: [s.tags.beach, s.tags.family, s.tags.beach], mode: 'all' } }),
    ],
    ['photos (RAW included)', () => ({ mediaType: 'photo' })],
    ['videos', () => ({ mediaType: 'video' })],
    ['favorites of alice', (s) => ({ favoriteOf: s.users.alice })],
    ['favorites of bob', (s) => ({ favoriteOf: s.users.bob })],
    [
      'combined: folder, make, dates, tags, favorites',
      (s) => ({
        folder: { dir: '', recursive: true },
        cameraMake: 'canon',
        dateFrom: '2021-01-01T00:00:00.000Z',
        tags: { ids: [s.tags.family], mode: 'any' },
        favoriteOf: s.users.alice,
        libraryIds: [s.libraries.main],
      }),
    ],
  ];

  describe.each(cases)('filter: %s', (_name, build) => {
    it.each([...PHOTO_SORTS])(
      'sort %s: every page in order, no repeats or skips, right total',
      async (sort) => {
        const filters = { libraryIds: all, ...build(seed) } as PhotoFilters;
        const expected = referenceSort(seed, referenceFilter(seed, filters), sort, 'fixed-seed');
        const search: PhotoSearch = {
          ...filters,
          sort,
          limit: 4,
          ...(sort === 'Shuffle' ? { seed: 'fixed-seed' } : {}),
        };
        const { items, total, pages } = await collect(search);
        expect(paths(items)).toEqual(
          paths(expected.map((p) => ({ library_id: seed.libraries[p.library], rel_path: p.path }))),
        );
        expect(total).toBe(expected.length);
        expect(pages).toBe(Math.max(1, Math.ceil(expected.length / 4)));
        expect(await photos.count(filters)).toBe(expected.length);
      },
    );

    // The fixture is small enough for one block at 64 rows per block; these make 4-16 blocks.
    it.each([1, 2, 5])(
      'sort Shuffle with %d rows per block: every page in order, no repeats or skips',
      async (rowsPerBlock) => {
        const filters = { libraryIds: all, ...build(seed) } as PhotoFilters;
        const matches = referenceFilter(seed, filters);
        const bits = shuffleBlockBits(matches.length, rowsPerBlock);
        const expected = referenceSort(seed, matches, 'Shuffle', 'fixed-seed', bits);
        const repository = new PhotosRepository(database.db, database.kind, {
          sortIndexMinMatches,
          shuffleRowsPerBlock: rowsPerBlock,
        });
        const search: PhotoSearch = { ...filters, sort: 'Shuffle', seed: 'fixed-seed', limit: 3 };
        const { items, total, pages } = await collect(search, repository);
        expect(paths(items)).toEqual(
          paths(expected.map((p) => ({ library_id: seed.libraries[p.library], rel_path: p.path }))),
        );
        expect(total).toBe(expected.length);
        expect(pages).toBe(Math.max(1, Math.ceil(expected.length / 3)));
      },
    );
  });

  it('the Shuffle matrix has many blocks with few rows per block (the test above can fail)', () => {
    expect(shuffleBlockBits(seed.photos.length, 1)).toBe(4);
    expect(shuffleBlockBits(seed.photos.length, 2)).toBe(3);
    // With several blocks the order is not the one-block (plain key) order.
    const oneBlock = referenceSort(seed, seed.photos, 'Shuffle', 'fixed-seed', 0);
    expect(referenceSort(seed, seed.photos, 'Shuffle', 'fixed-seed', 4)).not.toEqual(oneBlock);
  });

  it('SQL scrambles ids exactly as scrambleId does', async () => {
    const ids = [1, 2, 3, 77, 65_536, 1_000_003, 2 ** 31 - 1];
    for (const id of ids) {
      const scramble = sql<number>`(select ${scrambledIdSql('ie.id')} from (select ${sql.lit(id)} as id) ie)`;
      const row = await sql<{ scr: number }>`select ${scramble} as scr`.execute(database.db);
      expect(Number(row.rows[0]?.scr)).toBe(scrambleId(id));
    }
  });

  it('the filters narrow things down (the fixture is not trivially matched)', () => {
    const count = (f: Omit<PhotoFilters, 'libraryIds'>) =>
      referenceFilter(seed, { libraryIds: all, ...f }).length;
    expect(count({ gps: { ...PARIS, radiusKm: 10 } })).toBe(3);
    expect(count({ gps: { lat: -17.8, lon: 179.99, radiusKm: 5 } })).toBe(2);
    expect(count({ gps: { lat: 89.99, lon: -120, radiusKm: 12.2 } })).toBe(3);
    expect(count({ gps: { lat: 89.99, lon: -120, radiusKm: 12 } })).toBe(2);
    expect(count({ folder: { dir: '100%_done', recursive: true } })).toBe(1);
    expect(count({ cameraMake: 'canon' })).toBe(4);
    expect(count({ tags: { ids: [seed.tags.beach, seed.tags.family], mode: 'all' } })).toBe(2);
  });

  it('items carry library, media type, tags and the favorite flag of the asking user', async () => {
    const base: PhotoSearch = {
      libraryIds: all,
      sort: 'NameAsc',
      limit: 100,
      folder: { dir: '', recursive: true },
    };
    const forAlice = await photos.search({ ...base, userId: seed.users.alice });
    const root = forAlice.items.find((i) => i.rel_path === 'root.jpg')!;
    const dup = forAlice.items.find((i) => i.rel_path === '2024/dup-of-root.jpg')!;
    const raw = forAlice.items.find((i) => i.rel_path === '2024/b.arw')!;
    const video = forAlice.items.find((i) => i.rel_path === 'clip.mov')!;
    const archived = forAlice.items.find((i) => i.library === 'archive' && i.rel_path === '2024/a.jpg')!;
    expect(root).toMatchObject({
      library: 'main',
      library_id: seed.libraries.main,
      file_name: 'root.jpg',
      media_type: 'photo',
      is_raw: false,
      camera_make: 'Canon',
      lens_model: 'RF 50mm F1.2',
      gps_lat: PARIS.lat,
      gps_lon: PARIS.lon,
      date_taken: '2021-03-15T10:00:00.000Z',
      width: 4000,
      height: 3000,
      content_hash: hash(1),
      tag_ids: [seed.tags.beach, seed.tags.family, seed.tags.city].sort((a, b) => a - b),
      favorite: true,
    });
    // Tags and favorites follow the content hash to the duplicate.
    expect(dup).toMatchObject({ tag_ids: root.tag_ids, favorite: true });
    expect(raw).toMatchObject({ media_type: 'photo', is_raw: true, favorite: false });
    expect(video).toMatchObject({ media_type: 'video', is_raw: false, tag_ids: [] });
    expect(archived).toMatchObject({ library: 'archive', tag_ids: [seed.tags.family], favorite: false });

    const forBob = await photos.search({ ...base, userId: seed.users.bob });
    expect(forBob.items.filter((i) => i.favorite).map((i) => i.rel_path)).toEqual(['2024/a.jpg']);
    const anonymous = await photos.search(base);
    expect(anonymous.items.some((i) => i.favorite)).toBe(false);
  });

  it.each([undefined, 2])(
    'Shuffle (%s rows per block): the same seed gives the same order, another seed another order',
    async (shuffleRowsPerBlock) => {
      const repository = new PhotosRepository(database.db, database.kind, {
        sortIndexMinMatches,
        shuffleRowsPerBlock,
      });
      const base = { libraryIds: all, sort: 'Shuffle' as PhotoSort, limit: 5 };
      const a1 = paths((await collect({ ...base, seed: 'alpha' }, repository)).items);
      const a2 = paths((await collect({ ...base, seed: 'alpha' }, repository)).items);
      const b = paths((await collect({ ...base, seed: 'beta' }, repository)).items);
      expect(a1).toEqual(a2);
      expect(b).not.toEqual(a1);
      expect([...b].sort()).toEqual([...a1].sort());
      expect(new Set(a1).size).toBe(seed.photos.length);
      const first = await repository.search({ ...base, seed: 'alpha' });
      expect(first.seed).toBe('alpha');
    },
  );

  it('a Shuffle whose blocks came up mostly empty (rows deleted since page one) still pages through every row', async () => {
    // 4096 blocks for 25 rows: the page reads ever wider windows, then the rest in one query.
    const cursor = { s: 'Shuffle' as const, seed: 'sparse', m: 12, p: 0, k: 0, id: 1 };
    const expected = referenceSort(seed, seed.photos, 'Shuffle', 'sparse', 12);
    const first = await photos.search({ libraryIds: all, sort: 'Shuffle', seed: 'sparse', limit: 4, cursor });
    const firstIndex = expected.findIndex((p) => p.path === first.items[0]?.rel_path);
    const { items } = await collect({ libraryIds: all, sort: 'Shuffle', seed: 'sparse', limit: 4, cursor });
    expect(paths(items)).toEqual(
      paths(
        expected.slice(firstIndex).map((p) => ({ library_id: seed.libraries[p.library], rel_path: p.path })),
      ),
    );
    // Only rows in block position 0 with a key of 0 could come before the cursor.
    expect(firstIndex).toBe(0);
  });

  it('Shuffle pages neither repeat nor skip rows when new rows arrive between pages', async () => {
    const repository = new PhotosRepository(database.db, database.kind, {
      sortIndexMinMatches,
      shuffleRowsPerBlock: 2,
    });
    const search: PhotoSearch = { libraryIds: all, sort: 'Shuffle', seed: 'late', limit: 6 };
    const first = await repository.search(search);
    const bits = shuffleBlockBits(seed.photos.length, 2);
    const images = new ImageExifRepository(database.db);
    const extras: FixturePhoto[] = Array.from({ length: 30 }, (_, i) => ({
      ...seed.photos[0]!,
      path: `late/new-${i}.jpg`,
      dir: 'late',
      fileName: `new-${i}.jpg`,
      hash: null,
    }));
    const written = await images.upsert(extras.map((p) => toImageRow(seed.libraries.main, p)));
    for (const extra of extras) {
      extra.id = written.find((w) => w.rel_path === extra.path)!.id;
    }
    try {
      const rest: PhotoItem[] = [];
      let cursor = photosQuerySchema.parse({ sort: 'Shuffle', cursor: first.nextCursor }).cursor;
      while (cursor) {
        const page = await repository.search({ ...search, cursor });
        rest.push(...page.items);
        cursor = page.nextCursor
          ? photosQuerySchema.parse({ sort: 'Shuffle', cursor: page.nextCursor }).cursor
          : undefined;
      }
      // The order of the first page's shuffle (same blocks) over old and new rows; a new row
      // shows up exactly when it comes after the last row of the first page.
      const order = referenceSort(seed, [...seed.photos, ...extras], 'Shuffle', 'late', bits);
      const lastOfFirst = first.items[first.items.length - 1]!;
      const cut = order.findIndex(
        (p) => seed.libraries[p.library] === lastOfFirst.library_id && p.path === lastOfFirst.rel_path,
      );
      const expected = [
        ...order.slice(0, cut + 1).filter((p) => !extras.includes(p)),
        ...order.slice(cut + 1),
      ];
      expect(paths([...first.items, ...rest])).toEqual(
        paths(expected.map((p) => ({ library_id: seed.libraries[p.library], rel_path: p.path }))),
      );
      // Some new rows land before the cut and some after, so both cases are exercised.
      const shown = rest.filter((item) => item.rel_path.startsWith('late/')).length;
      expect(shown).toBeGreaterThan(0);
      expect(shown).toBeLessThan(extras.length);
    } finally {
      await images.deleteByIds(extras.map((p) => p.id));
    }
  });

  it('a page limit above 500 is capped, below 1 raised', async () => {
    const big = await photos.search({ libraryIds: all, sort: 'NameAsc', limit: 10_000 });
    expect(big.items).toHaveLength(seed.photos.length);
    const small = await photos.search({ libraryIds: all, sort: 'NameAsc', limit: 0 });
    expect(small.items).toHaveLength(1);
  });

  it('keyset pages neither repeat nor skip rows when new rows arrive between pages', async () => {
    const search: PhotoSearch = { libraryIds: all, sort: 'DateTakenDesc', limit: 6 };
    const first = await photos.search(search);
    const images = new ImageExifRepository(database.db);
    const extra = {
      id: 0,
      library: 'main' as const,
      path: 'late/new.jpg',
      dir: 'late',
      fileName: 'new.jpg',
      mediaType: 'photo' as const,
      hash: hash(99),
      make: null,
      model: null,
      lens: null,
      lat: null,
      lon: null,
      date: '2099-01-01T00:00:00.000Z',
      offset: null,
      source: 'exif',
    };
    await images.upsert([toImageRow(seed.libraries.main, extra)]);
    try {
      const rest: PhotoItem[] = [];
      let cursor = photosQuerySchema.parse({ sort: 'DateTakenDesc', cursor: first.nextCursor }).cursor;
      while (cursor) {
        const page = await photos.search({ ...search, cursor });
        rest.push(...page.items);
        cursor = page.nextCursor
          ? photosQuerySchema.parse({ sort: 'DateTakenDesc', cursor: page.nextCursor }).cursor
          : undefined;
      }
      const expected = referenceSort(seed, seed.photos, 'DateTakenDesc');
      expect(paths([...first.items, ...rest])).toEqual(
        paths(expected.map((p) => ({ library_id: seed.libraries[p.library], rel_path: p.path }))),
      );
    } finally {
      const row = await images.findByPath(seed.libraries.main, 'late/new.jpg');
      await images.deleteByIds([row!.id]);
    }
  });

  it('explains the page and count queries it runs', async () => {
    const plan = await photos.explainSearch({
      libraryIds: all,
      sort: 'DateTakenDesc',
      limit: 10,
      cameraMake: 'canon',
    });
    expect(plan.page.length).toBeGreaterThan(0);
    expect(plan.count.length).toBeGreaterThan(0);
    expect(plan.count.join('\n')).toMatch(engine === 'sqlite' ? /image_exif_lower_camera_idx/ : /image_exif/);
  });

  it('locates photos one at a time, across libraries and in batches', async () => {
    const root = await photos.locate(seed.libraries.main, 'root.jpg');
    expect(root).toMatchObject({
      library_id: seed.libraries.main,
      rel_path: 'root.jpg',
      content_hash: hash(1),
    });
    expect(await photos.locate(seed.libraries.main, 'missing.jpg')).toBeUndefined();
    const both = await photos.locateInLibraries('2024/a.jpg', [seed.libraries.archive, seed.libraries.main]);
    expect(both.map((l) => l.library_id)).toEqual(
      [seed.libraries.main, seed.libraries.archive].sort((a, b) => a - b),
    );
    const many = await photos.locateMany([
      { libraryId: seed.libraries.archive, relPath: 'old/scan.tif' },
      { libraryId: seed.libraries.main, relPath: 'nope.jpg' },
      { libraryId: seed.libraries.main, relPath: 'nohash.jpg' },
    ]);
    expect(many.map((l) => l?.rel_path)).toEqual(['old/scan.tif', undefined, 'nohash.jpg']);
    expect(many[2]?.content_hash).toBeNull();
    const item = await photos.findItem(seed.libraries.main, '2024/summer/d.jpg', seed.users.alice);
    expect(item).toMatchObject({ date_taken_offset: '+02:00', favorite: true, tag_ids: [seed.tags.beach] });
    expect(await photos.findItem(seed.libraries.main, 'missing.jpg')).toBeUndefined();
  });

  it('GPS distances agree with an independent computation at the edges of the radius', async () => {
    const inside = destination(PARIS, 123, 9.999);
    const outside = destination(PARIS, 123, 10.001);
    const images = new ImageExifRepository(database.db);
    const make = (path: string, p: { lat: number; lon: number }) => ({
      ...toImageRow(seed.libraries.main, {
        ...seed.photos[0]!,
        path,
        dir: 'edge',
        fileName: path.slice(5),
        hash: null,
        lat: p.lat,
        lon: p.lon,
      }),
    });
    const written = await images.upsert([make('edge/in.jpg', inside), make('edge/out.jpg', outside)]);
    try {
      const page = await photos.search({
        libraryIds: all,
        sort: 'NameAsc',
        limit: 50,
        folder: { dir: 'edge', recursive: false },
        gps: { ...PARIS, radiusKm: 10 },
      });
      expect(page.items.map((i) => i.rel_path)).toEqual(['edge/in.jpg']);
    } finally {
      await images.deleteByIds(written.map((w) => w.id));
    }
  });
});
