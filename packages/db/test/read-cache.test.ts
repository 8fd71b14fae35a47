import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, PhotosRepository, ReadCache } from '../src/index.ts';
import { seedPhotoLibrary, toImageRow } from './photo-fixtures.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';
import { openEngine } from './test-engines.ts';

describe('ReadCache with a fake stamp', () => {
  it.each<[string, (string | null)[], number]>([
    // stamps seen by successive lookups of one key -> how many times it was loaded
    ['same stamp: read once', ['a', 'a', 'a'], 1],
    ['stamp changes: read again', ['a', 'b', 'b'], 2],
    ['stamp changes back: still read again (entries keep one stamp)', ['a', 'b', 'a'], 3],
    ['no stamp (Postgres): read every time', [null, null, null], 3],
  ])('%s', async (_name, stamps, loads) => {
    let i = 0;
    const cache = new ReadCache(() => stamps[i] ?? null);
    let loaded = 0;
    for (i = 0; i < stamps.length; i++) {
      expect(await cache.get('k', async () => ++loaded)).toBe(loaded);
    }
    expect(loaded).toBe(loads);
  });

  it('drops the least recently used entry beyond its size', async () => {
    const cache = new ReadCache(() => 's', 2);
    const loads: string[] = [];
    const get = (key: string) => cache.get(key, async () => loads.push(key));
    await get('a');
    await get('b');
    await get('a'); // a is now the most recently used
    await get('c'); // drops b
    await get('a');
    await get('b');
    expect(loads).toEqual(['a', 'b', 'c', 'b']);
    expect(cache.size).toBe(2);
  });

  it('a failed read is not kept', async () => {
    const cache = new ReadCache(() => 's');
    await expect(cache.get('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.get('k', async () => 7)).toBe(7);
  });
});

describe('changeStamp on SQLite', () => {
  const temp = tempSqliteFolder();
  let api: Database;
  let other: Database;
  beforeAll(async () => {
    api = await temp.open();
    other = await temp.open(); // a second connection to the same file, like the watcher or the CLI
  });
  afterAll(() => temp.cleanup());

  const addLibrary = (database: Database, name: string) =>
    database.db
      .insertInto('libraries')
      .values({ name, root: `/srv/${name}`, created_at: new Date().toISOString() })
      .execute();

  it('stays the same while nothing is written', async () => {
    const before = api.changeStamp();
    await api.db.selectFrom('libraries').selectAll().execute();
    expect(api.changeStamp()).toBe(before);
  });

  it('changes when this connection writes', async () => {
    const before = api.changeStamp();
    await addLibrary(api, 'mine');
    expect(api.changeStamp()).not.toBe(before);
  });

  it('changes when another connection commits', async () => {
    const before = api.changeStamp();
    await addLibrary(other, 'theirs');
    expect(api.changeStamp()).not.toBe(before);
  });

  it('is null on Postgres (nothing is cached there)', async () => {
    const { database, cleanup } = await openEngine('postgres');
    try {
      expect(database.changeStamp()).toBeNull();
    } finally {
      await cleanup();
    }
  });
});

describe('PhotosRepository with a count cache', () => {
  const temp = tempSqliteFolder();
  afterAll(() => temp.cleanup());

  it('totals follow writes from this connection and from another one', async () => {
    const api = await temp.open();
    const watcher = await temp.open();
    const seed = await seedPhotoLibrary(api);
    const cache = new ReadCache(() => api.changeStamp());
    const photos = new PhotosRepository(api.db, api.kind, { countCache: cache });
    const search = { libraryIds: [seed.libraries.main], sort: 'NameAsc' as const, limit: 2 };
    const total = (await photos.search(search)).total;
    expect(total).toBeGreaterThan(2);
    // Paging reuses the count: the cache holds it.
    expect((await photos.search(search)).total).toBe(total);
    expect(cache.size).toBe(1);

    const template = seed.photos.find((p) => p.library === 'main')!;
    const row = (relPath: string) => ({
      ...toImageRow(seed.libraries.main, { ...template, path: relPath, fileName: relPath }),
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
    });
    await watcher.db.insertInto('image_exif').values(row('from-watcher.jpg')).execute();
    expect((await photos.search(search)).total).toBe(total + 1);
    await api.db.insertInto('image_exif').values(row('from-api.jpg')).execute();
    expect((await photos.search(search)).total).toBe(total + 2);
    await watcher.db.deleteFrom('image_exif').where('rel_path', '=', 'from-watcher.jpg').execute();
    expect((await photos.search(search)).total).toBe(total + 1);
  });
});
