import { decodeIdCursor } from '@lumen/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Database,
  FavoritesRepository,
  ImageExifRepository,
  LibrariesRepository,
  TagsRepository,
  UnknownTagError,
  UsersRepository,
} from '../src/index.ts';
import { hash } from './photo-fixtures.ts';
import { ENGINES, openEngine } from './test-engines.ts';

describe.each(ENGINES)('tags and favorites on %s', (engine) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  let tags: TagsRepository;
  let favorites: FavoritesRepository;
  let libraryId: number;
  let alice: number;
  let bob: number;
  const photo = (n: number) => ({ libraryId, relPath: `p/${n}.jpg`, contentHash: hash(n) });

  beforeAll(async () => {
    ({ database, cleanup } = await openEngine(engine));
    tags = new TagsRepository(database.db);
    favorites = new FavoritesRepository(database.db);
    libraryId = (await new LibrariesRepository(database.db).create({ name: 'main', root: '/p' })).id;
    const users = new UsersRepository(database.db);
    alice = (await users.create({ username: 'alice', passwordHash: 'x', isAdmin: false })).id;
    bob = (await users.create({ username: 'bob', passwordHash: 'x', isAdmin: false })).id;
    await new ImageExifRepository(database.db).upsert([
      ...[1, 2, 3, 4].map((n) => ({
        library_id: libraryId,
        rel_path: `p/${n}.jpg`,
        dir: 'p',
        file_name: `${n}.jpg`,
        media_type: 'photo',
        size_bytes: 1,
        mtime_ms: 1,
        content_hash: hash(n),
      })),
      {
        library_id: libraryId,
        rel_path: 'p/nohash.jpg',
        dir: 'p',
        file_name: 'nohash.jpg',
        media_type: 'photo',
        size_bytes: 1,
        mtime_ms: 1,
      },
    ]);
  });
  afterAll(() => cleanup?.());

  beforeEach(async () => {
    await database.db.deleteFrom('tagged_photo').execute();
    await database.db.deleteFrom('tags').execute();
    await database.db.deleteFrom('favorites').execute();
  });

  describe('TagsRepository', () => {
    it('creates a tag once per normalized name', async () => {
      const first = await tags.create('  Summer   Trip ');
      expect(first.created).toBe(true);
      expect(first.tag).toMatchObject({ name: 'Summer Trip', name_normalized: 'summer trip' });
      for (const again of ['summer trip', 'SUMMER TRIP', 'Summer\tTrip']) {
        const result = await tags.create(again);
        expect(result).toMatchObject({ created: false, tag: { id: first.tag.id, name: 'Summer Trip' } });
      }
      expect((await tags.findByName('sUmMeR  tRiP'))?.id).toBe(first.tag.id);
      expect((await tags.findById(first.tag.id))?.name).toBe('Summer Trip');
      expect(await tags.findByName('winter')).toBeUndefined();
      expect(await tags.findById(first.tag.id + 1000)).toBeUndefined();
    });

    it('links tags by content hash, idempotently, and lists them per photo', async () => {
      const beach = (await tags.create('Beach')).tag.id;
      const alps = (await tags.create('alps')).tag.id;
      expect(await tags.addTag(beach, photo(1))).toBe(true);
      expect(await tags.addTag(beach, photo(1))).toBe(false);
      expect(await tags.addTag(alps, photo(1))).toBe(true);
      expect(await tags.tagsForPhoto(libraryId, 'p/1.jpg')).toEqual([
        { id: alps, name: 'alps' },
        { id: beach, name: 'Beach' },
      ]);
      expect(await tags.tagsForHash(hash(1))).toHaveLength(2);
      expect(await tags.tagsForPhoto(libraryId, 'p/2.jpg')).toEqual([]);
      expect(await tags.tagsForPhoto(libraryId, 'p/nohash.jpg')).toEqual([]);
      expect(await tags.tagsForPhoto(libraryId, 'p/missing.jpg')).toBeUndefined();
      await expect(tags.addTag(beach + alps + 1000, photo(2))).rejects.toBeInstanceOf(UnknownTagError);

      expect(await tags.removeTag(beach, hash(1))).toBe(true);
      expect(await tags.removeTag(beach, hash(1))).toBe(false);
      expect(await tags.tagsForHash(hash(1))).toEqual([{ id: alps, name: 'alps' }]);
    });

    it('lists every tag with its photo count, by name', async () => {
      const b = (await tags.create('b')).tag.id;
      const a = (await tags.create('A')).tag.id;
      const c = (await tags.create('c')).tag.id;
      await tags.batch({ items: [photo(1), photo(2), photo(3)], addTagIds: [b] });
      await tags.addTag(a, photo(1));
      expect(await tags.listAllWithCounts()).toEqual([
        { id: a, name: 'A', photo_count: 1 },
        { id: b, name: 'b', photo_count: 3 },
        { id: c, name: 'c', photo_count: 0 },
      ]);
      expect(await tags.tagCountsByHash([hash(1), hash(2), hash(4)])).toEqual(
        new Map([
          [hash(1), 2],
          [hash(2), 1],
        ]),
      );
      expect(await tags.tagIdsByHash([hash(1), hash(3)])).toEqual(
        new Map([
          [hash(1), [b, a].sort((x, y) => x - y)],
          [hash(3), [b]],
        ]),
      );
      expect(await tags.existingIds([a, c, c + 1000])).toEqual(expect.arrayContaining([a, c]));
    });

    it('batch adds (ids and new names) and removes on many photos in one go', async () => {
      const keep = (await tags.create('keep')).tag.id;
      const drop = (await tags.create('drop')).tag.id;
      await tags.batch({ items: [photo(1), photo(2)], addTagIds: [drop] });
      const result = await tags.batch({
        items: [photo(1), photo(2), photo(3), photo(3)],
        addTagIds: [keep],
        addTagNames: ['Fresh', 'KEEP'],
        removeTagIds: [drop],
      });
      const fresh = (await tags.findByName('fresh'))!.id;
      expect(result).toEqual({
        added: 6,
        removed: 2,
        createdTags: [{ id: fresh, name: 'Fresh' }],
        addedTagIds: [keep, fresh],
      });
      for (const n of [1, 2, 3]) {
        expect((await tags.tagsForHash(hash(n))).map((t) => t.name)).toEqual(['Fresh', 'keep']);
      }
      // Idempotent: running it again adds nothing.
      expect((await tags.batch({ items: [photo(1)], addTagIds: [keep, fresh] })).added).toBe(0);
    });

    it('batch with an unknown tag id changes nothing at all', async () => {
      const keep = (await tags.create('keep')).tag.id;
      const error = await tags
        .batch({
          items: [photo(1)],
          addTagIds: [keep],
          addTagNames: ['brand new'],
          removeTagIds: [keep + 999],
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnknownTagError);
      expect((error as UnknownTagError).tagIds).toEqual([keep + 999]);
      expect(await tags.tagsForHash(hash(1))).toEqual([]);
      expect(await tags.findByName('brand new')).toBeUndefined();
    });

    it('batch is atomic when the database refuses part of it', async () => {
      const keep = (await tags.create('keep')).tag.id;
      // The second item breaks NOT NULL on content_hash, after the new tag 'half' was created in the transaction.
      const bad = { libraryId, relPath: 'p/x.jpg', contentHash: null as unknown as string };
      await expect(
        tags.batch({ items: [photo(1), bad], addTagIds: [keep], addTagNames: ['half'] }),
      ).rejects.toThrow();
      expect(await tags.tagsForHash(hash(1))).toEqual([]);
      expect(await tags.findByName('half')).toBeUndefined();
    });
  });

  describe('FavoritesRepository', () => {
    it('adds idempotently per user and removes', async () => {
      expect(await favorites.add(alice, photo(1))).toBe(true);
      expect(await favorites.add(alice, photo(1))).toBe(false);
      expect(await favorites.add(bob, photo(1))).toBe(true);
      expect(await favorites.add(alice, photo(2))).toBe(true);
      expect(await favorites.favoriteHashes(alice, [hash(1), hash(2), hash(3)])).toEqual(
        new Set([hash(1), hash(2)]),
      );
      expect(await favorites.favoriteHashes(bob, [hash(1), hash(2), hash(3)])).toEqual(new Set([hash(1)]));
      expect(await favorites.count(alice)).toBe(2);
      expect(await favorites.remove(alice, hash(1))).toBe(true);
      expect(await favorites.remove(alice, hash(1))).toBe(false);
      expect(await favorites.favoriteHashes(alice, [hash(1)])).toEqual(new Set());
      expect(await favorites.favoriteHashes(bob, [hash(1)])).toEqual(new Set([hash(1)]));
    });

    it('lists newest first, a page at a time, without repeats or skips', async () => {
      for (const n of [1, 2, 3, 4]) await favorites.add(alice, photo(n));
      await favorites.add(bob, photo(1));
      const seen: string[] = [];
      let page = await favorites.list(alice, { limit: 3 });
      seen.push(...page.items.map((f) => f.content_hash));
      expect(page.nextCursor).not.toBeNull();
      page = await favorites.list(alice, { limit: 3, cursor: decodeIdCursor(page.nextCursor!) });
      seen.push(...page.items.map((f) => f.content_hash));
      expect(page.nextCursor).toBeNull();
      expect(seen).toEqual([hash(4), hash(3), hash(2), hash(1)]);
      expect(page.items[0]).toMatchObject({ user_id: alice, library_id: libraryId, rel_path: 'p/1.jpg' });
      expect((await favorites.list(bob, { limit: 10 })).items).toHaveLength(1);
    });
  });
});

describe('favorites follow the user', () => {
  let database: Database;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ database, cleanup } = await openEngine('sqlite'));
  });
  afterEach(() => cleanup());

  it('are deleted with the user (ON DELETE CASCADE)', async () => {
    const users = new UsersRepository(database.db);
    const carol = (await users.create({ username: 'carol', passwordHash: 'x', isAdmin: false })).id;
    const favorites = new FavoritesRepository(database.db);
    await favorites.add(carol, { libraryId: 1, relPath: 'a.jpg', contentHash: hash(1) });
    await database.db.deleteFrom('users').where('id', '=', carol).execute();
    expect(await favorites.count(carol)).toBe(0);
  });
});
