import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Database, ImageExifRepository, LibrariesRepository } from '../src/index.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';
import { openEngine } from './test-engines.ts';

let temp: ReturnType<typeof tempSqliteFolder>;
let database: Database;
let libraries: LibrariesRepository;
beforeEach(async () => {
  temp = tempSqliteFolder();
  database = await temp.open();
  libraries = new LibrariesRepository(database.db);
});
afterEach(() => temp.cleanup());

describe('LibrariesRepository', () => {
  it('creates libraries online, lists them by id and finds them by id or name', async () => {
    const main = await libraries.create({ name: 'Main', root: '/photos' });
    const archive = await libraries.create({ name: '2020', root: '/archive' });
    expect(main).toMatchObject({ name: 'Main', root: '/photos', status: 'online', status_reason: null });
    expect(await libraries.list()).toEqual([main, archive]);

    expect(await libraries.findById(main.id)).toEqual(main);
    expect(await libraries.findByName('main')).toEqual(main);
    expect(await libraries.findByName('MAIN')).toEqual(main);
    expect(await libraries.findByName('other')).toBeUndefined();

    expect(await libraries.findByIdOrName(String(main.id))).toEqual(main);
    expect(await libraries.findByIdOrName('mAiN')).toEqual(main);
    expect(await libraries.findByIdOrName('2020')).toEqual(archive); // no id 2020: falls back to the name
    expect(await libraries.findByIdOrName('nope')).toBeUndefined();
  });

  it('rejects a duplicate name', async () => {
    await libraries.create({ name: 'Main', root: '/a' });
    await expect(libraries.create({ name: 'Main', root: '/b' })).rejects.toThrow(/UNIQUE/);
  });

  it('upsertConfigured inserts missing libraries, updates roots and leaves unlisted ones alone', async () => {
    const old = await libraries.create({ name: 'old', root: '/old' });
    const first = await libraries.upsertConfigured([
      { name: 'Main', root: '/photos' },
      { name: 'Archive', root: '/archive' },
    ]);
    expect(first.map((l) => [l.name, l.root])).toEqual([
      ['old', '/old'],
      ['Main', '/photos'],
      ['Archive', '/archive'],
    ]);

    const second = await libraries.upsertConfigured([
      { name: 'main', root: '/mnt/photos' },
      { name: 'Archive', root: '/archive' },
    ]);
    expect(second.map((l) => [l.id, l.name, l.root])).toEqual([
      [old.id, 'old', '/old'],
      [first[1]!.id, 'main', '/mnt/photos'],
      [first[2]!.id, 'Archive', '/archive'],
    ]);
    expect(await libraries.upsertConfigured([])).toEqual(second);
  });

  it('setStatus moves status_changed_at only when the status changes', async () => {
    const lib = await libraries.create({ name: 'nas', root: '/mnt/nas' });
    expect(await libraries.setStatus(lib.id, 'online', null)).toBe(false);
    expect((await libraries.findById(lib.id))?.status_changed_at).toBeNull();

    expect(await libraries.setStatus(lib.id, 'stale', 'root lists empty')).toBe(true);
    const stale = await libraries.findById(lib.id);
    expect(stale).toMatchObject({ status: 'stale', status_reason: 'root lists empty' });
    expect(stale?.status_changed_at).toMatch(/Z$/);

    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await libraries.setStatus(lib.id, 'stale', 'ENOENT')).toBe(false);
    const stillStale = await libraries.findById(lib.id);
    expect(stillStale).toMatchObject({
      status_reason: 'ENOENT',
      status_changed_at: stale?.status_changed_at,
    });

    expect(await libraries.setStatus(lib.id, 'online', null)).toBe(true);
    expect(await libraries.findById(lib.id)).toMatchObject({ status: 'online', status_reason: null });
    expect(await libraries.setStatus(lib.id + 100, 'stale', 'x')).toBe(false);
  });

  it('markScanned sets the quick or full scan time', async () => {
    const lib = await libraries.create({ name: 'main', root: '/p' });
    await libraries.markScanned(lib.id, 'quick', '2024-05-01T10:00:00.000Z');
    expect(await libraries.findById(lib.id)).toMatchObject({
      last_quick_scan_at: '2024-05-01T10:00:00.000Z',
      last_full_scan_at: null,
    });
    await libraries.markScanned(lib.id, 'full', '2024-05-01T11:00:00.000Z');
    expect(await libraries.findById(lib.id)).toMatchObject({
      last_quick_scan_at: '2024-05-01T10:00:00.000Z',
      last_full_scan_at: '2024-05-01T11:00:00.000Z',
    });
  });

  it('counts files per library and media type', async () => {
    const a = await libraries.create({ name: 'a', root: '/a' });
    const b = await libraries.create({ name: 'b', root: '/b' });
    const empty = await libraries.create({ name: 'empty', root: '/e' });
    const file = (libraryId: number, relPath: string, mediaType: string) => ({
      library_id: libraryId,
      rel_path: relPath,
      dir: '',
      file_name: relPath,
      media_type: mediaType,
      size_bytes: 1,
      mtime_ms: 1,
    });
    await new ImageExifRepository(database.db).upsert([
      file(a.id, '1.jpg', 'photo'),
      file(a.id, '2.jpg', 'photo'),
      file(a.id, '3.nef', 'raw'),
      file(a.id, '4.mp4', 'video'),
      file(b.id, '1.mov', 'video'),
    ]);
    expect(await libraries.countFiles(a.id)).toBe(4);
    expect(await libraries.countFiles(empty.id)).toBe(0);
    expect(await libraries.countFilesByMediaType(a.id)).toEqual({ photo: 2, raw: 1, video: 1, total: 4 });
    expect(await libraries.countFilesByMediaType(empty.id)).toEqual({ photo: 0, raw: 0, video: 0, total: 0 });
    expect(await libraries.fileCountsByLibrary()).toEqual(
      new Map([
        [a.id, { photo: 2, raw: 1, video: 1, total: 4 }],
        [b.id, { photo: 0, raw: 0, video: 1, total: 1 }],
      ]),
    );
  });
});

// PostgreSQL only: SQLite connections in one process block each other's thread (better-sqlite3 is
// synchronous), so a race between them cannot be played here; across processes SQLite serializes
// the transactions, which write first (see upsertConfigured).
describe('LibrariesRepository on postgres', () => {
  it('replicas starting at once (one connection each) all get the same libraries, none fails', async () => {
    const { database: first, openAnother, cleanup } = await openEngine('postgres');
    try {
      // Four processes' connections to one database, as three watchers and an api starting together.
      const others = [await openAnother(), await openAnother(), await openAnother()];
      const specs = [
        { name: 'main', root: '/photos' },
        { name: 'archive', root: '/archive' },
      ];
      const results = await Promise.all(
        [first, ...others].map((db) => new LibrariesRepository(db.db).upsertConfigured(specs)),
      );
      for (const rows of results) {
        expect(rows.map((r) => [r.name, r.root])).toEqual([
          ['main', '/photos'],
          ['archive', '/archive'],
        ]);
        expect(rows.map((r) => r.id)).toEqual(results[0]?.map((r) => r.id));
      }
    } finally {
      await cleanup();
    }
  });
});
