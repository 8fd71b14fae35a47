import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Database,
  ImageExifRepository,
  LibrariesRepository,
  type LibraryRow,
  MaintenanceRepository,
  MissingFilesRepository,
  migrationsFor,
  PhotosRepository,
} from '../src/index.ts';
import { imageFile as file, hash } from './photo-fixtures.ts';
import { ENGINES, openEngine } from './test-engines.ts';

const LONG_AGO = '2000-01-01T00:00:00.000Z';
const FAR_FUTURE = '2999-01-01T00:00:00.000Z';

describe.each(ENGINES)('missing files (%s)', (engine) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  let images: ImageExifRepository;
  let missing: MissingFilesRepository;
  let maintenance: MaintenanceRepository;
  let libraries: LibrariesRepository;
  let main: LibraryRow;
  let tagId: number;

  beforeEach(async () => {
    ({ database, cleanup } = await openEngine(engine));
    images = new ImageExifRepository(database.db);
    missing = new MissingFilesRepository(database.db);
    maintenance = new MaintenanceRepository(database.db);
    libraries = new LibrariesRepository(database.db);
    main = await libraries.create({ name: 'main', root: '/photos' });
    const now = new Date().toISOString();
    tagId = (
      await database.db
        .insertInto('tags')
        .values({ name: 'trip', name_normalized: 'trip', created_at: now })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  });
  afterEach(() => cleanup());

  async function tag(relPath: string, contentHash: string): Promise<void> {
    await database.db
      .insertInto('tagged_photo')
      .values({
        tag_id: tagId,
        library_id: main.id,
        rel_path: relPath,
        content_hash: contentHash,
        created_at: new Date().toISOString(),
      })
      .execute();
  }

  const presentPaths = async () =>
    (await database.db.selectFrom('image_exif').select('rel_path').orderBy('rel_path').execute()).map(
      (r) => r.rel_path,
    );
  const missingPaths = async () =>
    (await database.db.selectFrom('image_exif_missing').select('rel_path').orderBy('rel_path').execute()).map(
      (r) => r.rel_path,
    );

  it('marking moves the whole row (same id, every column) and hides it from /photos', async () => {
    const [a, b] = await images.upsert([
      file(main.id, 'x/a.jpg', hash(1)),
      file(main.id, 'x/b.jpg', hash(2)),
    ]);
    const before = await images.findByPath(main.id, 'x/a.jpg');
    const moved = await missing.markMissing([a!.id], '2026-01-01T00:00:00.000Z', FAR_FUTURE);
    expect(moved).toEqual([a!.id]);
    expect(await presentPaths()).toEqual(['x/b.jpg']);
    const row = await missing.findByPath(main.id, 'x/a.jpg');
    expect(row).toEqual({ ...before, missing_since: '2026-01-01T00:00:00.000Z', confirmed_at: null });

    const photos = new PhotosRepository(database.db, database.kind);
    const page = await photos.search({
      libraryIds: [main.id],
      sort: 'NameAsc',
      limit: 50,
    });
    expect(page.items.map((item) => item.rel_path)).toEqual(['x/b.jpg']);
    expect(page.total).toBe(1);
    expect(b).toBeDefined();
  });

  it('reviving moves it back with its id; the photo is listed again', async () => {
    const [a] = await images.upsert([file(main.id, 'a.jpg', hash(1))]);
    const before = await images.findByPath(main.id, 'a.jpg');
    await missing.markMissing([a!.id], LONG_AGO, FAR_FUTURE);
    expect(await missing.revive([a!.id])).toBe(1);
    expect(await images.findByPath(main.id, 'a.jpg')).toEqual(before);
    expect(await missingPaths()).toEqual([]);
  });

  it('does not mark a row written after the stat (an upload or ingest raced the scan)', async () => {
    const [a] = await images.upsert([file(main.id, 'a.jpg', hash(1))]);
    const moved = await missing.markMissing([a!.id], LONG_AGO, LONG_AGO);
    expect(moved).toEqual([]);
    expect(await presentPaths()).toEqual(['a.jpg']);
  });

  it('marking twice or reviving twice changes nothing more', async () => {
    const [a] = await images.upsert([file(main.id, 'a.jpg', hash(1))]);
    expect(await missing.markMissing([a!.id], LONG_AGO, FAR_FUTURE)).toEqual([a!.id]);
    expect(await missing.markMissing([a!.id], LONG_AGO, FAR_FUTURE)).toEqual([]);
    expect(await missingPaths()).toEqual(['a.jpg']);
    expect(await missing.revive([a!.id])).toBe(1);
    expect(await missing.revive([a!.id])).toBe(0);
    expect(await presentPaths()).toEqual(['a.jpg']);
  });

  it('ingest writing the same location revives the row first: same id, and an edit takes the tags along', async () => {
    const [a] = await images.upsert([file(main.id, 'a.jpg', hash(1))]);
    await tag('a.jpg', hash(1));
    await missing.markMissing([a!.id], LONG_AGO, FAR_FUTURE);
    const result = await images.upsertFollowingEdits([file(main.id, 'a.jpg', hash(2), { size_bytes: 2000 })]);
    expect(result.written).toEqual([{ id: a!.id, library_id: main.id, rel_path: 'a.jpg' }]);
    expect(result.edits).toHaveLength(1);
    expect(await missingPaths()).toEqual([]);
    const tags = await database.db.selectFrom('tagged_photo').select('content_hash').execute();
    expect(tags).toEqual([{ content_hash: hash(2) }]);
  });

  it('a revived row gives way to a present row at its location', async () => {
    const [a] = await images.upsert([file(main.id, 'a.jpg', hash(1))]);
    await missing.markMissing([a!.id], LONG_AGO, FAR_FUTURE);
    // A present row at the same path (written without going through upsert's revival).
    await database.db
      .insertInto('image_exif')
      .values({
        ...file(main.id, 'a.jpg', hash(3)),
        thumb_status: 'pending',
        preview_status: 'pending',
        created_at: LONG_AGO,
        updated_at: LONG_AGO,
      })
      .execute();
    expect(await missing.revive([a!.id])).toBe(0);
    expect(await missingPaths()).toEqual([]);
    expect((await images.findByPath(main.id, 'a.jpg'))?.content_hash).toBe(hash(3));
  });

  it('the orphan GC sees the hash of a missing row as referenced', async () => {
    const [a] = await images.upsert([file(main.id, 'a.jpg', hash(1))]);
    await tag('a.jpg', hash(1));
    await missing.markMissing([a!.id], LONG_AGO, FAR_FUTURE);
    expect(await maintenance.findOrphanHashes(100)).toEqual([]);
    expect((await maintenance.deleteOrphanRows([hash(1)])).tagged_photo).toBe(0);
    expect(await database.db.selectFrom('tagged_photo').select('id').execute()).toHaveLength(1);

    // Deleted for good: now the tag is an orphan.
    await missing.deleteByIds([a!.id]);
    expect(await maintenance.findOrphanHashes(100)).toEqual([hash(1)]);
    expect((await maintenance.deleteOrphanRows([hash(1)])).tagged_photo).toBe(1);
  });

  it('an in-place edit of a copy shares, not takes, the derived rows of content a missing file still has', async () => {
    const [a] = await images.upsert([file(main.id, 'a.jpg', hash(1)), file(main.id, 'copy.jpg', hash(1))]);
    await tag('a.jpg', hash(1));
    await missing.markMissing([a!.id], LONG_AGO, FAR_FUTURE);
    const result = await images.upsertFollowingEdits([file(main.id, 'copy.jpg', hash(2))]);
    expect(result.edits[0]?.result).toMatchObject({ oldHashLivesOn: true });
    const tags = await database.db
      .selectFrom('tagged_photo')
      .select('content_hash')
      .orderBy('content_hash')
      .execute();
    expect(tags).toEqual([{ content_hash: hash(1) }, { content_hash: hash(2) }]);
  });

  it('the back-ref refresh repoints derived rows of a missing location at a present copy', async () => {
    const [a] = await images.upsert([
      file(main.id, 'old/a.jpg', hash(1)),
      file(main.id, 'new/a.jpg', hash(1)),
    ]);
    await tag('old/a.jpg', hash(1));
    await missing.markMissing([a!.id], LONG_AGO, FAR_FUTURE);
    await maintenance.refreshBackRefs();
    const tags = await database.db.selectFrom('tagged_photo').select('rel_path').execute();
    expect(tags).toEqual([{ rel_path: 'new/a.jpg' }]);
  });

  it('lists a folder, the folders, a page, and counts', async () => {
    const written = await images.upsert([
      file(main.id, 'x/a.jpg', hash(1)),
      file(main.id, 'x/b.jpg', hash(2)),
      file(main.id, 'y/c.jpg', hash(3)),
      file(main.id, 'z.jpg', hash(4)),
    ]);
    await missing.markMissing(
      written.slice(0, 3).map((w) => w.id),
      LONG_AGO,
      FAR_FUTURE,
    );
    expect((await missing.listDirectory(main.id, 'x')).map((r) => r.file_name)).toEqual(['a.jpg', 'b.jpg']);
    expect(await missing.dirs(main.id)).toEqual(['x', 'y']);
    const page = await missing.page(main.id, written[0]!.id, 10);
    expect(page.map((r) => r.rel_path)).toEqual(['x/b.jpg', 'y/c.jpg']);
    expect(await missing.countByLibrary()).toEqual(new Map([[main.id, 3]]));
    expect(await missing.reviveAt([{ library_id: main.id, rel_path: 'y/c.jpg' }])).toBe(1);
    expect(await presentPaths()).toEqual(['y/c.jpg', 'z.jpg']);
  });

  it('thumbnails of a missing file are still found by location', async () => {
    const [a] = await images.upsert([file(main.id, 'a.jpg', hash(1), { thumb_status: 'ready' })]);
    await missing.markMissing([a!.id], LONG_AGO, FAR_FUTURE);
    expect(await images.findDerivativeState(main.id, 'a.jpg')).toMatchObject({
      content_hash: hash(1),
      thumb_status: 'ready',
    });
  });

  it('a confirmation confirms the files missing so far: they no longer count as vanished content', async () => {
    const [a, b] = await images.upsert([
      file(main.id, 'x/a.jpg', hash(1)),
      file(main.id, 'y/b.jpg', hash(2)),
    ]);
    await missing.markMissing([a!.id], LONG_AGO, FAR_FUTURE);
    expect(await missing.dirsOfVanishedContent(main.id)).toEqual(['x']);
    await libraries.setSuspect(main.id, 'r', 't');
    expect(await libraries.confirmMissing(main.id, '2026-02-02T00:00:00.000Z')).toBe(true);
    expect((await missing.findByPath(main.id, 'x/a.jpg'))?.confirmed_at).toBe('2026-02-02T00:00:00.000Z');
    expect(await missing.dirsOfVanishedContent(main.id)).toEqual([]);
    await missing.markMissing([b!.id], LONG_AGO, FAR_FUTURE);
    expect(await missing.dirsOfVanishedContent(main.id)).toEqual(['y']);
  });

  it('suspect episodes start, keep their start, end, and are confirmed one at a time', async () => {
    expect(await libraries.confirmMissing(main.id)).toBe(false);
    expect(await libraries.setSuspect(main.id, 'r1', 't1')).toBe('started');
    expect(await libraries.setSuspect(main.id, 'r1', 't2')).toBe('same');
    let row = await libraries.findById(main.id);
    expect(row).toMatchObject({ suspect_reason: 'r1', suspect_since: 't1', missing_confirmed_at: null });
    expect(await libraries.confirmMissing(main.id)).toBe(true);
    row = await libraries.findById(main.id);
    expect(row?.missing_confirmed_at).toBe('t1');
    // Another reason is another episode: the confirmation was for the first one.
    expect(await libraries.setSuspect(main.id, 'r2', 't2')).toBe('started');
    row = await libraries.findById(main.id);
    expect(row).toMatchObject({ suspect_reason: 'r2', suspect_since: 't2', missing_confirmed_at: 't1' });
    expect(await libraries.setSuspect(main.id, null, 't3')).toBe('ended');
    expect(await libraries.setSuspect(main.id, null, 't3')).toBe('same');
    expect(await libraries.setSuspect(main.id, 'r3', 't4')).toBe('started');
    row = await libraries.findById(main.id);
    expect(row).toMatchObject({ suspect_reason: 'r3', suspect_since: 't4', missing_confirmed_at: 't1' });
  });

  it('the migration runs again on a migrated database without error or change', async () => {
    const migration = migrationsFor(database.kind)['0005-missing-files']!;
    await migration.up(database.db as never);
    const columns = (await database.db.introspection.getTables())
      .find((t) => t.name === 'libraries')
      ?.columns.map((c) => c.name);
    expect(columns?.filter((c) => /suspect|confirmed/.test(c))).toEqual([
      'suspect_reason',
      'suspect_since',
      'missing_confirmed_at',
    ]);
    expect(await sql`select count(*) as n from image_exif_missing`.execute(database.db)).toBeDefined();
  });
});
