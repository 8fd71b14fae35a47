import { LibrariesRepository } from '@lumen/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PhotoItemView } from '../src/services/photo-item-view.ts';
import {
  distanceKm,
  libraryModel,
  type ModelPhoto,
  type PhotoLibrary,
  startPhotoLibrary,
} from './photo-library-fixture.ts';
import { problemOf } from './test-api.ts';

interface Page {
  items: PhotoItemView[];
  total: number;
  next_cursor: string | null;
  seed?: string;
}

const keyOf = (p: { library: string; path: string }) => `${p.library}:${p.path}`;
const sortedKeys = (list: { library: string; path: string }[]) => list.map(keyOf).sort();

describe('GET /photos on a library built from the corpus', () => {
  let lib: PhotoLibrary;
  let model: ModelPhoto[];

  /** Every page of a query (small pages), checking that no item repeats and `total` holds throughout. */
  async function allPages(
    query: string,
    limit = 4,
  ): Promise<{ items: PhotoItemView[]; total: number; pages: number }> {
    const items: PhotoItemView[] = [];
    let cursor: string | null = null;
    let total = -1;
    let pages = 0;
    do {
      const page: Page = await lib.getJson<Page>(
        `/photos?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      pages++;
      if (total >= 0) expect(page.total).toBe(total);
      total = page.total;
      expect(page.items.length).toBeLessThanOrEqual(limit);
      items.push(...page.items);
      cursor = page.next_cursor;
      if (pages > 100) throw new Error('paging does not end');
    } while (cursor);
    const keys = items.map(keyOf);
    expect(new Set(keys).size, `no repeats in ${query}`).toBe(keys.length);
    expect(items.length).toBe(total);
    return { items, total, pages };
  }

  /** The model entries a query should return (both libraries are Online). */
  const expectKeys = (predicate: (p: ModelPhoto) => boolean) => sortedKeys(model.filter(predicate));

  beforeAll(async () => {
    lib = await startPhotoLibrary();
    model = libraryModel(lib);
  });
  afterAll(async () => {
    await lib?.close();
  });

  it('lists every file of every Online library, each item as ingested from the file', async () => {
    const { items } = await allPages('sort=NameAsc', 7);
    expect(sortedKeys(items)).toEqual(sortedKeys(model));
    for (const item of items) {
      const m = model.find((p) => p.library === item.library && p.path === item.path)!;
      expect(item.file_name).toBe(m.fileName);
      expect(item.media_type).toBe(m.mediaType);
      expect(item.camera_make).toBe(m.make);
      expect(item.camera_model).toBe(m.model);
      expect([item.width, item.height]).toEqual([m.width, m.height]);
      if (m.lat === null) expect(item.gps).toBeNull();
      else {
        expect(item.gps!.lat).toBeCloseTo(m.lat, 9);
        expect(item.gps!.lon).toBeCloseTo(m.lon!, 9);
      }
      // exiftool reports whole seconds; some files add sub-seconds.
      if (m.date !== null)
        expect(Math.abs(Date.parse(item.date_taken!) - Date.parse(m.date))).toBeLessThan(1000);
      expect(item.tag_ids).toEqual([]);
      expect(item.favorite).toBe(false);
      expect(item.content_hash).toMatch(/^xxh3-128:[0-9a-f]{32}$/);
      expect(item.thumbnail_url).toBe(
        `/image?path=${encodeURIComponent(item.path)}&library=${item.library_id}&size=thumb`,
      );
    }
  });

  it('serves the thumbnail an item points at', async () => {
    const page = await lib.getJson<Page>('/photos?path=travel&limit=1');
    const res = await fetch(`${lib.t.url}${page.items[0]!.thumbnail_url}`, { headers: lib.auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100);
  });

  it('limits a search to one library by name or id, and leaves Stale libraries out by default', async () => {
    const archive = await lib.getJson<Page>('/photos?library=archive&limit=500');
    expect(sortedKeys(archive.items)).toEqual(expectKeys((p) => p.library === 'archive'));
    const archiveId = archive.items[0]!.library_id;
    const byId = await lib.getJson<Page>(`/photos?library=${archiveId}&limit=500`);
    expect(sortedKeys(byId.items)).toEqual(sortedKeys(archive.items));
    const main = await lib.getJson<Page>('/photos?library=MAIN&limit=500');
    expect(sortedKeys(main.items)).toEqual(expectKeys((p) => p.library === 'main'));

    const unknown = await problemOf(await lib.send('GET', '/photos?library=nope'));
    expect(unknown.status).toBe(404);
    expect(unknown.errors?.[0]?.name).toBe('library');

    const libraries = new LibrariesRepository(lib.t.database.db);
    await lib.t.database.db
      .updateTable('libraries')
      .set({ status: 'stale' })
      .where('id', '=', archiveId)
      .execute();
    try {
      const online = await lib.getJson<Page>('/photos?limit=500');
      expect(sortedKeys(online.items)).toEqual(expectKeys((p) => p.library === 'main'));
      // Named explicitly, a Stale library is still searched (its rows are in the database).
      expect((await lib.getJson<Page>('/photos?library=archive')).total).toBe(archive.total);
    } finally {
      await lib.t.database.db
        .updateTable('libraries')
        .set({ status: 'online' })
        .where('id', '=', archiveId)
        .execute();
    }
    expect((await libraries.findById(archiveId))?.status).toBe('online');
  });

  it.each([
    ['path=2008', (p: ModelPhoto) => p.dir === '2008'],
    ['path=2008&recursive=true', (p: ModelPhoto) => p.dir === '2008' || p.dir.startsWith('2008/')],
    ['path=travel/&recursive=1', (p: ModelPhoto) => p.dir.startsWith('travel')],
    ['path=travel&recursive=false', (p: ModelPhoto) => p.dir === 'travel'],
    ['path=&recursive=false', (p: ModelPhoto) => p.dir === ''],
    ['path=&recursive=true', () => true],
    ['path=./travel//madrid', (p: ModelPhoto) => p.dir === 'travel/madrid'],
    ['path=trav', () => false],
  ])('folder filter %s', async (query, predicate) => {
    const { items } = await allPages(query);
    expect(sortedKeys(items)).toEqual(expectKeys(predicate));
  });

  it.each([
    ['camera_make=canon', (p: ModelPhoto) => p.make?.toLowerCase() === 'canon'],
    ['camera_make=NIKON%20CORPORATION', (p: ModelPhoto) => p.make === 'NIKON CORPORATION'],
    ['camera_make=nikon', (p: ModelPhoto) => p.make?.toLowerCase() === 'nikon'],
    ['camera_make=Apple', (p: ModelPhoto) => p.make === 'Apple'],
    ['camera_make=Leica', () => false],
    ['camera_model=Canon%20EOS%2040D', (p: ModelPhoto) => p.model === 'Canon EOS 40D'],
    [
      'camera_make=apple&camera_model=iphone%204',
      (p: ModelPhoto) => p.make === 'Apple' && p.model === 'iPhone 4',
    ],
    [
      'lens=Pixel%208%20Pro%20back%20camera%206.9mm%20f%2F1.68',
      (p: ModelPhoto) => p.lens === 'Pixel 8 Pro back camera 6.9mm f/1.68',
    ],
    ['media_type=video', (p: ModelPhoto) => p.mediaType === 'video'],
    ['media_type=photo', (p: ModelPhoto) => p.mediaType === 'photo'],
    [
      'camera_make=NIKON%20CORPORATION&path=travel&recursive=true',
      (p: ModelPhoto) => p.make === 'NIKON CORPORATION' && p.dir.startsWith('travel'),
    ],
    ['camera_make=canon&library=archive', (p: ModelPhoto) => p.make === 'Canon' && p.library === 'archive'],
  ])('camera, lens and media filters: %s', async (query, predicate) => {
    const { items } = await allPages(query);
    const wanted = expectKeys(predicate);
    expect(sortedKeys(items)).toEqual(wanted);
    if (!query.includes('Leica')) expect(wanted.length).toBeGreaterThan(0);
  });

  describe('GPS radius', () => {
    const centres = {
      florence: [43.7696, 11.2558],
      madrid: [40.4168, -3.7038],
      frankfurt: [50.1109, 8.6821],
      nairobi: [-1.2921, 36.8219],
      newYork: [40.7128, -74.006],
    } as const;
    const cases: [string, number][] = [];
    for (const name of Object.keys(centres))
      for (const km of [3, 10, 100, 500, 2000, 8000]) cases.push([name, km]);

    it.each(cases)('around %s within %d km, by haversine over expected.json', async (name, km) => {
      const [lat, lon] = centres[name as keyof typeof centres];
      const distances = model
        .filter((p) => p.lat !== null && p.lon !== null)
        .map((p) => ({ p, d: distanceKm(lat, lon, p.lat!, p.lon!) }));
      // No file sits on the edge, where float rounding could decide.
      for (const { d } of distances) expect(Math.abs(d - km) / km).toBeGreaterThan(0.001);
      const { items } = await allPages(`gps_lat=${lat}&gps_lon=${lon}&gps_radius_km=${km}`);
      expect(sortedKeys(items)).toEqual(sortedKeys(distances.filter(({ d }) => d <= km).map(({ p }) => p)));
    });

    it('finds the expected neighbours (sanity of the independent computation)', async () => {
      const { items } = await allPages(
        `gps_lat=${centres.madrid[0]}&gps_lon=${centres.madrid[1]}&gps_radius_km=10`,
      );
      expect(items.map((i) => i.path).sort()).toEqual([
        'travel/madrid/google.jpg',
        'travel/madrid/iphone-hdr.jpg',
      ]);
    });

    it('combines with other filters', async () => {
      const [lat, lon] = centres.florence;
      const { items } = await allPages(`gps_lat=${lat}&gps_lon=${lon}&gps_radius_km=300&camera_make=nikon`);
      const wanted = model.filter(
        (p) =>
          p.lat !== null && distanceKm(lat, lon, p.lat, p.lon!) <= 300 && p.make?.toLowerCase() === 'nikon',
      );
      expect(sortedKeys(items)).toEqual(sortedKeys(wanted));
      expect(wanted.length).toBe(1);
    });
  });

  describe('date range', () => {
    const within = (from: string | null, to: string | null) => (p: ModelPhoto) =>
      p.date !== null && (from === null || p.date >= from) && (to === null || p.date <= to);
    it.each([
      [
        'date_from=2008-01-01&date_to=2008-12-31',
        within('2008-01-01T00:00:00.000Z', '2008-12-31T23:59:59.999Z'),
      ],
      [
        'date_from=2005-01-01&date_to=2005-12-31',
        within('2005-01-01T00:00:00.000Z', '2005-12-31T23:59:59.999Z'),
      ],
      ['date_to=2006-01-01', within(null, '2006-01-01T23:59:59.999Z')],
      [
        'date_from=2004-08-27T13:52:55Z&date_to=2004-08-27T13:52:55Z',
        within('2004-08-27T13:52:55.000Z', '2004-08-27T13:52:55.000Z'),
      ],
      [
        'date_from=2010-01-01T00:00:00%2B02:00&date_to=2011-12-31',
        within('2009-12-31T22:00:00.000Z', '2011-12-31T23:59:59.999Z'),
      ],
      [
        'date_from=1990-01-01&date_to=1999-12-31',
        within('1990-01-01T00:00:00.000Z', '1999-12-31T23:59:59.999Z'),
      ],
    ])('%s', async (query, predicate) => {
      const { items } = await allPages(query);
      expect(sortedKeys(items)).toEqual(expectKeys(predicate));
    });

    it('compares in UTC: a photo taken at 22:53 at +02:00 is at 20:53Z', async () => {
      // travel/madrid/google.jpg: DateTimeOriginal 2023:10:06 22:53:51, OffsetTimeOriginal +02:00.
      const at = (from: string, to: string) =>
        allPages(
          `date_from=${encodeURIComponent(from)}&date_to=${encodeURIComponent(to)}&path=travel&recursive=true`,
        );
      expect(
        (await at('2023-10-06T22:53:00+02:00', '2023-10-06T22:55:00+02:00')).items.map((i) => i.path),
      ).toEqual(['travel/madrid/google.jpg']);
      expect((await at('2023-10-06T20:54:00Z', '2023-10-07')).items).toEqual([]);
    });
  });

  describe('sorts', () => {
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

    it.each(['NameAsc', 'NameDesc'])('%s: by file name, then path, then id', async (sort) => {
      const { items } = await allPages(`sort=${sort}`, 5);
      const dir = sort === 'NameAsc' ? 1 : -1;
      for (let i = 1; i < items.length; i++) {
        const a = items[i - 1]!;
        const b = items[i]!;
        const order = cmp(a.file_name, b.file_name) || cmp(a.path, b.path) || Math.sign(a.id - b.id);
        expect(order * dir, `${keyOf(a)} before ${keyOf(b)}`).toBe(-1);
      }
      expect(sortedKeys(items)).toEqual(sortedKeys(model));
    });

    it.each(['DateTakenAsc', 'DateTakenDesc'])('%s: by date taken, then id', async (sort) => {
      const { items } = await allPages(`sort=${sort}`, 3);
      const dir = sort === 'DateTakenAsc' ? 1 : -1;
      for (let i = 1; i < items.length; i++) {
        const a = items[i - 1]!;
        const b = items[i]!;
        const order = cmp(a.date_taken!, b.date_taken!) || Math.sign(a.id - b.id);
        expect(order * dir).toBe(-1);
      }
      // The order the model predicts (by exiftool's dates; the mtime-dated file is the newest).
      const predicted = [...model]
        .sort((a, b) => cmp(a.date ?? '9999', b.date ?? '9999') * dir)
        .map((p) => p.date ?? 'now');
      expect(items.map((i) => model.find((p) => keyOf(p) === keyOf(i))!.date ?? 'now')).toEqual(predicted);
    });

    it('Shuffle with a seed: the same order every time, pages never repeat or skip', async () => {
      const first = await allPages('sort=Shuffle&seed=holiday', 4);
      const again = await allPages('sort=Shuffle&seed=holiday', 6);
      expect(again.items.map(keyOf)).toEqual(first.items.map(keyOf));
      expect(sortedKeys(first.items)).toEqual(sortedKeys(model));
      const other = await allPages('sort=Shuffle&seed=winter', 4);
      expect(sortedKeys(other.items)).toEqual(sortedKeys(model));
      expect(other.items.map(keyOf)).not.toEqual(first.items.map(keyOf));
      // Neither seed gives the name or id order.
      expect(first.items.map((i) => i.id)).not.toEqual(
        [...first.items.map((i) => i.id)].sort((a, b) => a - b),
      );
    });

    it('Shuffle without a seed picks one, returns it, and its cursors keep to it', async () => {
      const page: Page = await lib.getJson<Page>('/photos?sort=Shuffle&limit=5');
      expect(page.seed).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      const rest: PhotoItemView[] = [...page.items];
      let cursor = page.next_cursor;
      while (cursor) {
        const next: Page = await lib.getJson<Page>(`/photos?sort=Shuffle&limit=5&cursor=${cursor}`);
        expect(next.seed).toBe(page.seed);
        rest.push(...next.items);
        cursor = next.next_cursor;
      }
      const replay = await allPages(`sort=Shuffle&seed=${page.seed}`, 9);
      expect(rest.map(keyOf)).toEqual(replay.items.map(keyOf));
    });

    it('a cursor belongs to its sort and seed', async () => {
      const page = await lib.getJson<Page>('/photos?sort=NameAsc&limit=2');
      const wrongSort = await problemOf(
        await lib.send('GET', `/photos?sort=DateTakenAsc&cursor=${page.next_cursor}`),
      );
      expect(wrongSort.status).toBe(400);
      expect(wrongSort.errors?.map((e) => e.name)).toContain('cursor');
      const shuffled = await lib.getJson<Page>('/photos?sort=Shuffle&seed=a&limit=2');
      const wrongSeed = await problemOf(
        await lib.send('GET', `/photos?sort=Shuffle&seed=b&cursor=${shuffled.next_cursor}`),
      );
      expect(wrongSeed.errors?.map((e) => e.name)).toContain('cursor');
    });
  });

  it('pages with limit up to 500 and reports the total', async () => {
    const big = await lib.getJson<Page>('/photos?limit=500');
    expect(big.items.length).toBe(model.length);
    expect(big.total).toBe(model.length);
    expect(big.next_cursor).toBeNull();
    const small = await lib.getJson<Page>('/photos?limit=1');
    expect(small.items.length).toBe(1);
    expect(small.total).toBe(model.length);
    expect(small.next_cursor).toEqual(expect.any(String));
    const tooMany = await problemOf(await lib.send('GET', '/photos?limit=501'));
    expect(tooMany.errors?.[0]).toMatchObject({ in: 'query', name: 'limit' });
  });

  it('needs a token', async () => {
    const res = await fetch(`${lib.t.url}/photos`);
    expect((await problemOf(res)).status).toBe(401);
  });
});
