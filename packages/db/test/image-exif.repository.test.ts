import SQLite from 'better-sqlite3';
import { type CompiledQuery, Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Database,
  type DB,
  type ImageExifInput,
  ImageExifRepository,
  LibrariesRepository,
  type LibraryRow,
} from '../src/index.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';

let temp: ReturnType<typeof tempSqliteFolder>;
let database: Database;
let images: ImageExifRepository;
let main: LibraryRow;
let archive: LibraryRow;

beforeEach(async () => {
  temp = tempSqliteFolder();
  database = await temp.open();
  images = new ImageExifRepository(database.db);
  const libraries = new LibrariesRepository(database.db);
  main = await libraries.create({ name: 'main', root: '/photos' });
  archive = await libraries.create({ name: 'archive', root: '/archive' });
});
afterEach(() => temp.cleanup());

function file(libraryId: number, relPath: string, extra: Partial<ImageExifInput> = {}): ImageExifInput {
  const slash = relPath.lastIndexOf('/');
  return {
    library_id: libraryId,
    rel_path: relPath,
    dir: slash < 0 ? '' : relPath.slice(0, slash),
    file_name: relPath.slice(slash + 1),
    media_type: 'photo',
    size_bytes: 1000,
    mtime_ms: 1_714_000_000_000,
    ...extra,
  };
}

const hash = (n: number) => `xxh3-128:${n.toString(16).padStart(32, '0')}`;

describe('ImageExifRepository.upsert', () => {
  it('inserts new rows with every metadata column and returns where they went', async () => {
    const written = await images.upsert([
      file(main.id, '2024/a.jpg', {
        mime_type: 'image/jpeg',
        content_hash: hash(1),
        camera_make: 'SONY',
        camera_model: 'ILCE-7M3',
        lens_model: 'FE 35mm F1.8',
        width: 6000,
        height: 4000,
        orientation: 6,
        gps_lat: 48.858370123456,
        gps_lon: 2.294481234567,
        gps_alt: 35.5,
        focal_length: 35,
        aperture: 1.8,
        exposure_time: 1 / 250,
        iso: 100,
        date_taken: '2024-04-25T10:00:00.000Z',
        date_taken_offset: '+02:00',
        date_taken_source: 'exif',
        size_bytes: 12_345_678_901,
      }),
      file(main.id, 'b.mp4', {
        media_type: 'video',
        duration_sec: 12.5,
        video_codec: 'h264',
        audio_codec: 'aac',
      }),
    ]);
    expect(written.map((w) => [w.library_id, w.rel_path])).toEqual([
      [main.id, '2024/a.jpg'],
      [main.id, 'b.mp4'],
    ]);
    const a = await images.findByPath(main.id, '2024/a.jpg');
    expect(a).toMatchObject({
      id: written[0]!.id,
      dir: '2024',
      file_name: 'a.jpg',
      content_hash: hash(1),
      gps_lat: 48.858370123456,
      gps_lon: 2.294481234567,
      exposure_time: 1 / 250,
      size_bytes: 12_345_678_901,
      mtime_ms: 1_714_000_000_000,
      thumb_status: 'pending',
      preview_status: 'pending',
      ingest_error: null,
    });
    expect(a?.updated_at).toBe(a?.created_at);
    expect(await images.findByPath(main.id, 'b.mp4')).toMatchObject({
      dir: '',
      media_type: 'video',
      duration_sec: 12.5,
      camera_make: null,
    });
  });

  it('updates an existing (library_id, rel_path) in place: same id, created_at kept, all metadata replaced', async () => {
    const [first] = await images.upsert([
      file(main.id, 'a.jpg', { content_hash: hash(1), camera_make: 'SONY', thumb_status: 'ready' }),
    ]);
    const before = await images.findByPath(main.id, 'a.jpg');
    await new Promise((resolve) => setTimeout(resolve, 5));

    const [second] = await images.upsert([
      file(main.id, 'a.jpg', { content_hash: hash(2), size_bytes: 2000, ingest_error: 'exif: truncated' }),
    ]);
    expect(second?.id).toBe(first?.id);
    const after = await images.findByPath(main.id, 'a.jpg');
    expect(after).toMatchObject({
      id: first?.id,
      content_hash: hash(2),
      size_bytes: 2000,
      camera_make: null,
      thumb_status: 'pending',
      ingest_error: 'exif: truncated',
      created_at: before?.created_at,
    });
    expect(after!.updated_at > before!.updated_at).toBe(true);
    expect(await images.countByLibrary(main.id)).toBe(1);
  });

  it('keeps the same rel_path apart in different libraries, and the last of duplicates in one batch', async () => {
    await images.upsert([
      file(main.id, 'a.jpg', { size_bytes: 1 }),
      file(archive.id, 'a.jpg', { size_bytes: 2 }),
      file(main.id, 'a.jpg', { size_bytes: 3 }),
    ]);
    expect((await images.findByPath(main.id, 'a.jpg'))?.size_bytes).toBe(3);
    expect((await images.findByPath(archive.id, 'a.jpg'))?.size_bytes).toBe(2);
    expect(await images.countByLibrary(main.id)).toBe(1);
  });

  it('writes thousands of rows across several statements', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) =>
      file(main.id, `d${i % 7}/f${i}.jpg`, { content_hash: hash(i) }),
    );
    const written = await images.upsert(rows);
    expect(written).toHaveLength(2500);
    expect(new Set(written.map((w) => w.id)).size).toBe(2500);
    expect(await images.countByLibrary(main.id)).toBe(2500);
    expect(await images.upsert([])).toEqual([]);
  });

  it('runs in one transaction: a bad row in a later statement leaves nothing written', async () => {
    const rows = Array.from({ length: 1500 }, (_, i) => file(main.id, `f${i}.jpg`));
    rows.push(file(main.id + 1000, 'no-such-library.jpg'));
    await expect(images.upsert(rows)).rejects.toThrow(/FOREIGN KEY/);
    expect(await images.countByLibrary(main.id)).toBe(0);
  });
});

describe('ImageExifRepository reads', () => {
  it('listDirectory returns the rows of exactly one folder with the comparison columns', async () => {
    await images.upsert([
      file(main.id, 'root.jpg'),
      file(main.id, '2024/b.jpg', { content_hash: hash(2), thumb_status: 'ready' }),
      file(main.id, '2024/a.jpg'),
      file(main.id, '2024/sub/c.jpg'),
      file(archive.id, '2024/x.jpg'),
    ]);
    const listing = await images.listDirectory(main.id, '2024');
    // By id (insertion order here), not by name: see the query-plan test below.
    expect(listing.map((r) => r.rel_path)).toEqual(['2024/b.jpg', '2024/a.jpg']);
    expect(Object.keys(listing[0]!).sort()).toEqual(
      [
        'content_hash',
        'file_name',
        'id',
        'mtime_ms',
        'preview_status',
        'rel_path',
        'size_bytes',
        'thumb_status',
      ].sort(),
    );
    expect(listing[0]).toMatchObject({
      file_name: 'b.jpg',
      size_bytes: 1000,
      mtime_ms: 1_714_000_000_000,
      content_hash: hash(2),
      thumb_status: 'ready',
      preview_status: 'pending',
    });
    expect((await images.listDirectory(main.id, '')).map((r) => r.rel_path)).toEqual(['root.jpg']);
    expect(await images.listDirectory(main.id, 'gone')).toEqual([]);
  });

  it('listDirectory reads one folder through the (library_id, dir) index, not the whole library', async () => {
    // 2,000 rows in 20 folders; ANALYZE as after a bulk load (the plan must hold with and without stats).
    await images.upsert(
      Array.from({ length: 2000 }, (_, i) => file(main.id, `d${i % 20}/f${String(i).padStart(5, '0')}.jpg`)),
    );
    const plans = [await listDirectoryPlan(main.id, 'd7')];
    await sql`analyze`.execute(database.db);
    plans.push(await listDirectoryPlan(main.id, 'd7'));
    for (const plan of plans) {
      expect(plan).toEqual([
        'SEARCH image_exif USING INDEX image_exif_library_id_dir_idx (library_id=? AND dir=?)',
      ]);
    }
    expect(await images.listDirectory(main.id, 'd7')).toHaveLength(100);
  });

  it('pendingPreviewsPage pages through rows with a thumbnail and no preview yet, by id', async () => {
    const written = await images.upsert([
      file(main.id, 'p1.jpg', { content_hash: hash(1), thumb_status: 'ready' }),
      file(main.id, 'done.jpg', { content_hash: hash(2), thumb_status: 'ready', preview_status: 'ready' }),
      file(archive.id, 'p2.jpg', { content_hash: hash(3), thumb_status: 'ready', orientation: 6 }),
      file(main.id, 'no-thumb.jpg', { content_hash: hash(4) }),
      file(main.id, 'broken.jpg', {
        content_hash: hash(5),
        thumb_status: 'failed',
        preview_status: 'failed',
      }),
      file(main.id, 'p3.mp4', {
        content_hash: hash(6),
        thumb_status: 'ready',
        media_type: 'video',
        duration_sec: 2.5,
      }),
    ]);
    const id = (rel: string) => written.find((w) => w.rel_path === rel)!.id;
    const first = await images.pendingPreviewsPage(0, 2);
    expect(first).toEqual([
      {
        id: id('p1.jpg'),
        library_id: main.id,
        rel_path: 'p1.jpg',
        content_hash: hash(1),
        media_type: 'photo',
        orientation: null,
        duration_sec: null,
      },
      {
        id: id('p2.jpg'),
        library_id: archive.id,
        rel_path: 'p2.jpg',
        content_hash: hash(3),
        media_type: 'photo',
        orientation: 6,
        duration_sec: null,
      },
    ]);
    const second = await images.pendingPreviewsPage(first[1]!.id, 2);
    expect(second.map((r) => [r.rel_path, r.duration_sec])).toEqual([['p3.mp4', 2.5]]);
    expect(await images.pendingPreviewsPage(second[0]!.id, 2)).toEqual([]);
  });

  it('knownDirs yields every distinct folder of one library, sorted, across pages', async () => {
    await images.upsert([
      file(main.id, 'root.jpg'),
      file(main.id, 'b/1.jpg'),
      file(main.id, 'b/2.jpg'),
      file(main.id, 'a/1.jpg'),
      file(main.id, 'a/deep/1.jpg'),
      file(main.id, 'c/1.jpg'),
      file(archive.id, 'z/1.jpg'),
    ]);
    const expected = ['', 'a', 'a/deep', 'b', 'c'];
    for (const pageSize of [1, 2, 5, 1000]) {
      const dirs: string[] = [];
      for await (const dir of images.knownDirs(main.id, pageSize)) dirs.push(dir);
      expect(dirs).toEqual(expected);
    }
    expect(await images.knownDirsPage(main.id, undefined, 2)).toEqual(['', 'a']);
    expect(await images.knownDirsPage(main.id, 'a', 2)).toEqual(['a/deep', 'b']);
    expect(await images.knownDirsPage(main.id, 'c', 2)).toEqual([]);
  });

  it('findByHash returns every location of a content hash', async () => {
    await images.upsert([
      file(main.id, 'a.jpg', { content_hash: hash(7) }),
      file(archive.id, 'old/a.jpg', { content_hash: hash(7) }),
      file(main.id, 'b.jpg', { content_hash: hash(8) }),
    ]);
    const found = await images.findByHash(hash(7));
    expect(found.map((r) => [r.library_id, r.rel_path])).toEqual([
      [main.id, 'a.jpg'],
      [archive.id, 'old/a.jpg'],
    ]);
    expect(await images.findByHash(hash(9))).toEqual([]);
    expect(await images.findByPath(main.id, 'missing.jpg')).toBeUndefined();
  });

  it('pageForMissingScan walks a library by id after a cursor', async () => {
    const written = await images.upsert([
      ...Array.from({ length: 5 }, (_, i) => file(main.id, `m${i}.jpg`)),
      file(archive.id, 'other.jpg'),
    ]);
    const mainIds = written.filter((w) => w.library_id === main.id).map((w) => w.id);
    const page1 = await images.pageForMissingScan(main.id, 0, 2);
    expect(page1).toEqual([
      { id: mainIds[0], rel_path: 'm0.jpg', dir: '', content_hash: null },
      { id: mainIds[1], rel_path: 'm1.jpg', dir: '', content_hash: null },
    ]);
    const page2 = await images.pageForMissingScan(main.id, page1[1]!.id, 2);
    expect(page2.map((r) => r.rel_path)).toEqual(['m2.jpg', 'm3.jpg']);
    const page3 = await images.pageForMissingScan(main.id, page2[1]!.id, 2);
    expect(page3.map((r) => r.rel_path)).toEqual(['m4.jpg']);
    expect(await images.pageForMissingScan(main.id, page3[0]!.id, 2)).toEqual([]);
  });
});

describe('ImageExifRepository writes', () => {
  it('setThumbStatus changes one row; preview_status only when given', async () => {
    const [a] = await images.upsert([file(main.id, 'a.jpg'), file(main.id, 'b.jpg')]);
    expect(await images.setThumbStatus(a!.id, 'ready')).toBe(true);
    expect(await images.findByPath(main.id, 'a.jpg')).toMatchObject({
      thumb_status: 'ready',
      preview_status: 'pending',
    });
    expect(await images.setThumbStatus(a!.id, 'unsupported', 'failed')).toBe(true);
    expect(await images.findByPath(main.id, 'a.jpg')).toMatchObject({
      thumb_status: 'unsupported',
      preview_status: 'failed',
    });
    expect(await images.findByPath(main.id, 'b.jpg')).toMatchObject({ thumb_status: 'pending' });
    expect(await images.setThumbStatus(a!.id + 1000, 'ready')).toBe(false);
  });

  it('setThumbStatusByHash changes every location of the hash', async () => {
    await images.upsert([
      file(main.id, 'a.jpg', { content_hash: hash(1) }),
      file(archive.id, 'a.jpg', { content_hash: hash(1) }),
      file(main.id, 'b.jpg', { content_hash: hash(2) }),
    ]);
    expect(await images.setThumbStatusByHash(hash(1), 'ready', 'ready')).toBe(2);
    expect((await images.findByHash(hash(1))).map((r) => [r.thumb_status, r.preview_status])).toEqual([
      ['ready', 'ready'],
      ['ready', 'ready'],
    ]);
    expect((await images.findByHash(hash(2)))[0]?.thumb_status).toBe('pending');
  });

  it('deleteByIds deletes in chunks and counts what it deleted', async () => {
    const written = await images.upsert(Array.from({ length: 1200 }, (_, i) => file(main.id, `f${i}.jpg`)));
    const doomed = written.slice(0, 1100).map((w) => w.id);
    expect(await images.deleteByIds([...doomed, 999_999])).toBe(1100);
    expect(await images.countByLibrary(main.id)).toBe(100);
    expect(await images.findByPath(main.id, 'f0.jpg')).toBeUndefined();
    expect(await images.findByPath(main.id, 'f1100.jpg')).toBeDefined();
    expect(await images.deleteByIds([])).toBe(0);
  });
});

/** EXPLAIN QUERY PLAN of exactly the statement `listDirectory` runs (captured from Kysely's log). */
async function listDirectoryPlan(libraryId: number, dir: string): Promise<string[]> {
  const sqlite = new SQLite(temp.file(), { readonly: true });
  const queries: CompiledQuery[] = [];
  const logged = new Kysely<DB>({
    dialect: new SqliteDialect({ database: sqlite }),
    log: (event) => {
      queries.push(event.query);
    },
  });
  try {
    await new ImageExifRepository(logged).listDirectory(libraryId, dir);
    expect(queries).toHaveLength(1);
    const { sql: statement, parameters } = queries[0]!;
    const rows = sqlite.prepare(`explain query plan ${statement}`).all(...parameters) as { detail: string }[];
    return rows.map((row) => row.detail);
  } finally {
    await logged.destroy();
  }
}
