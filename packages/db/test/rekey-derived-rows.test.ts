import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Database,
  type DerivedTable,
  ImageExifRepository,
  LibrariesRepository,
  type LibraryRow,
  MaintenanceRepository,
  MissingFilesRepository,
  UsersRepository,
} from '../src/index.ts';
import { imageFile as file, hash } from './photo-fixtures.ts';
import { ENGINES, openEngine } from './test-engines.ts';

const OLD = hash(1);
const NEW = hash(2);

describe.each(ENGINES)('following an in-place edit (%s)', (engine) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  let images: ImageExifRepository;
  let maintenance: MaintenanceRepository;
  let main: LibraryRow;
  let archive: LibraryRow;
  let userId: number;
  let otherUserId: number;
  let tagIds: number[];
  let personId: number;

  beforeEach(async () => {
    ({ database, cleanup } = await openEngine(engine));
    images = new ImageExifRepository(database.db);
    maintenance = new MaintenanceRepository(database.db);
    const libraries = new LibrariesRepository(database.db);
    main = await libraries.create({ name: 'main', root: '/photos' });
    archive = await libraries.create({ name: 'archive', root: '/archive' });
    const users = new UsersRepository(database.db);
    userId = (await users.create({ username: 'alice', passwordHash: 'x', isAdmin: false })).id;
    otherUserId = (await users.create({ username: 'bob', passwordHash: 'x', isAdmin: false })).id;
    const now = new Date().toISOString();
    tagIds = [];
    for (const name of ['holiday', 'beach']) {
      const tag = await database.db
        .insertInto('tags')
        .values({ name, name_normalized: name, created_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      tagIds.push(tag.id);
    }
    const person = await database.db
      .insertInto('persons')
      .values({ name: 'Ann', name_normalized: 'ann', created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    personId = person.id;
  });
  afterEach(() => cleanup());

  /** Where a derived row points: main:a.jpg unless told otherwise. */
  type Where = { libraryId?: number; relPath?: string };
  const at = (contentHash: string, where: Where = {}) => ({
    library_id: where.libraryId ?? main.id,
    rel_path: where.relPath ?? 'a.jpg',
    content_hash: contentHash,
    created_at: new Date().toISOString(),
  });
  const TWIN: Where = { relPath: 'twin.jpg' };

  async function tag(contentHash: string, tagId: number, where?: Where): Promise<void> {
    await database.db
      .insertInto('tagged_photo')
      .values({ ...at(contentHash, where), tag_id: tagId })
      .execute();
  }

  async function favorite(contentHash: string, user: number, where?: Where): Promise<void> {
    await database.db
      .insertInto('favorites')
      .values({ ...at(contentHash, where), user_id: user })
      .execute();
  }

  async function insight(contentHash: string, title: string, where?: Where): Promise<void> {
    await database.db
      .insertInto('photo_insights')
      .values({ ...at(contentHash, where), title, model: 'test', is_current: 1 })
      .execute();
  }

  async function face(
    contentHash: string,
    source: 'auto' | 'manual',
    person: number | null = null,
    where?: Where,
  ) {
    return database.db
      .insertInto('face_detections')
      .values({
        ...at(contentHash, where),
        bbox_x: 0.1,
        bbox_y: 0.2,
        bbox_w: 0.3,
        bbox_h: 0.4,
        embedding: Buffer.from([1, 2, 3, 4]),
        confidence: 0.9,
        source,
        person_id: person,
        status: 'detected',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
  }

  /** Every derived row as [table, hash, library, path, extra], sorted. */
  async function derived(): Promise<string[]> {
    const out: string[] = [];
    const read = async (table: DerivedTable, extra: (row: Record<string, unknown>) => string) => {
      const rows = await database.db
        .selectFrom(table as 'tagged_photo')
        .selectAll()
        .execute();
      for (const row of rows as unknown as Record<string, unknown>[]) {
        const h =
          row.content_hash === OLD ? 'old' : row.content_hash === NEW ? 'new' : String(row.content_hash);
        const lib = row.library_id === main.id ? 'main' : 'archive';
        out.push(`${table} ${h} ${lib}:${row.rel_path} ${extra(row)}`);
      }
    };
    await read('tagged_photo', (r) => `tag${tagIds.indexOf(Number(r.tag_id))}`);
    await read('favorites', (r) => (r.user_id === userId ? 'alice' : 'bob'));
    await read('photo_insights', (r) => `${r.title} current=${r.is_current}`);
    await read('face_detections', (r) => `${r.source}${r.person_id === null ? '' : ' ann'}`);
    return out.sort();
  }

  it('moves tags, favorites, insights and faces of the old hash to the new one, in the upsert', async () => {
    await images.upsert([file(main.id, 'a.jpg', OLD), file(main.id, 'b.jpg', hash(9))]);
    await tag(OLD, tagIds[0]!);
    await favorite(OLD, userId);
    await insight(OLD, 'first');
    const auto = await face(OLD, 'auto', personId);
    await face(OLD, 'manual');
    await database.db.updateTable('persons').set({ cover_face_id: auto.id }).execute();
    // A derived row of the old hash still pointing at the file's earlier location follows too.
    await tag(OLD, tagIds[1]!, { libraryId: archive.id, relPath: 'moved-from-here.jpg' });

    const { written, edits } = await images.upsertFollowingEdits([
      file(main.id, 'a.jpg', NEW),
      file(main.id, 'b.jpg', hash(9)),
      file(main.id, 'new.jpg', hash(10)),
    ]);
    expect(written).toHaveLength(3);
    expect(edits).toEqual([
      {
        libraryId: main.id,
        relPath: 'a.jpg',
        oldHash: OLD,
        newHash: NEW,
        result: {
          oldHashLivesOn: false,
          rekeyed: { tagged_photo: 2, favorites: 1, face_detections: 2, photo_insights: 1 },
          dropped: { tagged_photo: 0, favorites: 0, face_detections: 0, photo_insights: 0 },
        },
      },
    ]);
    expect(await derived()).toEqual([
      'face_detections new main:a.jpg auto ann',
      'face_detections new main:a.jpg manual',
      'favorites new main:a.jpg alice',
      'photo_insights new main:a.jpg first current=1',
      'tagged_photo new main:a.jpg tag0',
      'tagged_photo new main:a.jpg tag1',
    ]);
    const person = await database.db.selectFrom('persons').selectAll().executeTakeFirstOrThrow();
    expect(person.cover_face_id).toBe(auto.id);
  });

  it('copies the derived rows while the old hash lives on at another location: both keep them', async () => {
    await images.upsert([file(main.id, 'a.jpg', OLD), file(archive.id, 'copy.jpg', OLD)]);
    await tag(OLD, tagIds[0]!);
    await favorite(OLD, userId);
    const before = await derived();

    const { edits } = await images.upsertFollowingEdits([file(main.id, 'a.jpg', NEW)]);
    expect(edits.map((e) => e.result.oldHashLivesOn)).toEqual([true]);
    expect(await derived()).toEqual(
      [...before, 'favorites new main:a.jpg alice', 'tagged_photo new main:a.jpg tag0'].sort(),
    );
  });

  it('copies, not moves, when only a file marked missing still has the old hash (moved, then edited)', async () => {
    // a.jpg was moved to b.jpg: the old location is marked missing, the new one has the same hash.
    const [a] = await images.upsert([file(main.id, 'a.jpg', OLD), file(main.id, 'b.jpg', OLD)]);
    await tag(OLD, tagIds[0]!);
    await favorite(OLD, userId);
    await insight(OLD, 'first');
    await face(OLD, 'manual');
    await new MissingFilesRepository(database.db).markMissing(
      [a!.id],
      '2026-01-01T00:00:00.000Z',
      '2999-01-01T00:00:00.000Z',
    );

    const { edits } = await images.upsertFollowingEdits([file(main.id, 'b.jpg', NEW)]);
    expect(edits[0]?.result).toMatchObject({
      oldHashLivesOn: true,
      rekeyed: { tagged_photo: 1, favorites: 1, face_detections: 1, photo_insights: 1 },
    });
    const rows = await derived();
    for (const prefix of ['tagged_photo', 'favorites', 'face_detections', 'photo_insights']) {
      expect(
        rows.filter((r) => r.startsWith(`${prefix} old `)),
        prefix,
      ).toHaveLength(1);
      expect(
        rows.filter((r) => r.startsWith(`${prefix} new main:b.jpg`)),
        prefix,
      ).toHaveLength(1);
    }
    // When the missing file's grace period ends, the GC takes the old rows; the edited file keeps its own.
    await new MissingFilesRepository(database.db).deleteByIds([a!.id]);
    expect(await maintenance.findOrphanHashes(10)).toEqual([OLD]);
  });

  it('keeps the row the new hash already has where a unique key would clash, and demotes moved insights', async () => {
    await images.upsert([file(main.id, 'a.jpg', OLD), file(main.id, 'twin.jpg', NEW)]);
    // The new content already exists (twin.jpg) with its own tag, favorite, insight and face.
    await tag(OLD, tagIds[0]!);
    await tag(OLD, tagIds[1]!);
    await tag(NEW, tagIds[0]!, TWIN);
    await favorite(OLD, userId);
    await favorite(OLD, otherUserId);
    await favorite(NEW, userId, TWIN);
    await insight(OLD, 'old insight');
    await insight(NEW, 'twin insight', TWIN);
    const auto = await face(OLD, 'auto', personId);
    await face(OLD, 'manual');
    await face(NEW, 'auto', null, TWIN);
    await database.db.updateTable('persons').set({ cover_face_id: auto.id }).execute();

    // The caller stores the new hash first (upsertFollowingEdits does, in one transaction).
    await images.upsert([file(main.id, 'a.jpg', NEW)]);
    expect(await maintenance.rekeyDerivedRows(main.id, 'a.jpg', OLD, NEW)).toEqual({
      oldHashLivesOn: false,
      rekeyed: { tagged_photo: 1, favorites: 1, face_detections: 1, photo_insights: 1 },
      dropped: { tagged_photo: 1, favorites: 1, face_detections: 1, photo_insights: 0 },
    });
    const rows = await derived();
    expect(rows).toEqual([
      'face_detections new main:a.jpg manual',
      'face_detections new main:twin.jpg auto',
      'favorites new main:a.jpg bob',
      'favorites new main:twin.jpg alice',
      'photo_insights new main:a.jpg old insight current=0',
      'photo_insights new main:twin.jpg twin insight current=1',
      'tagged_photo new main:a.jpg tag1',
      'tagged_photo new main:twin.jpg tag0',
    ]);
    const person = await database.db.selectFrom('persons').selectAll().executeTakeFirstOrThrow();
    expect(person.cover_face_id).toBeNull();
    expect(await maintenance.rekeyDerivedRows(main.id, 'a.jpg', OLD, NEW)).toMatchObject({
      rekeyed: { tagged_photo: 0, favorites: 0, face_detections: 0, photo_insights: 0 },
    });
  });

  it('does nothing for a new file, an unchanged hash, or a row that had no hash', async () => {
    await images.upsert([file(main.id, 'a.jpg', OLD), file(main.id, 'unhashed.jpg', null)]);
    await tag(OLD, tagIds[0]!);
    const { edits } = await images.upsertFollowingEdits([
      file(main.id, 'a.jpg', OLD),
      file(main.id, 'unhashed.jpg', NEW),
      file(main.id, 'fresh.jpg', hash(5)),
    ]);
    expect(edits).toEqual([]);
    expect(await derived()).toEqual(['tagged_photo old main:a.jpg tag0']);
    // A failed re-hash stores no hash: the derived rows are not moved anywhere.
    expect((await images.upsertFollowingEdits([file(main.id, 'a.jpg', null)])).edits).toEqual([]);
    expect(await derived()).toEqual(['tagged_photo old main:a.jpg tag0']);
  });

  it('a file that cannot be hashed this time keeps its hashed row: hash, metadata, size and mtime', async () => {
    await images.upsert([
      { ...file(main.id, 'a.jpg', OLD), camera_make: 'Canon', date_taken: '2021-03-15T10:00:00.000Z' },
    ]);
    await tag(OLD, tagIds[0]!);
    await favorite(OLD, userId);
    const before = (await images.findByPath(main.id, 'a.jpg'))!;
    // The scan saw a new size and mtime; reading the file failed half way (a dropping mount).
    const { written, edits } = await images.upsertFollowingEdits([
      {
        ...file(main.id, 'a.jpg', null),
        size_bytes: 2000,
        mtime_ms: 1_715_000_000_000,
        thumb_status: 'failed',
        preview_status: 'failed',
        ingest_error: 'hash: EIO: i/o error, read',
      },
      file(main.id, 'new-unreadable.jpg', null),
    ]);
    expect(edits).toEqual([]);
    expect(written.map((w) => w.rel_path).sort()).toEqual(['a.jpg', 'new-unreadable.jpg']);
    expect(written.find((w) => w.rel_path === 'a.jpg')?.id).toBe(before.id);
    const after = (await images.findByPath(main.id, 'a.jpg'))!;
    expect(after).toMatchObject({
      content_hash: OLD,
      camera_make: 'Canon',
      date_taken: '2021-03-15T10:00:00.000Z',
      size_bytes: before.size_bytes,
      mtime_ms: before.mtime_ms,
      thumb_status: before.thumb_status,
      ingest_error: 'hash: EIO: i/o error, read',
    });
    // Size and mtime are the last good read's, so the next scan retries; tags stay on the hash.
    expect(await derived()).toEqual(['favorites old main:a.jpg alice', 'tagged_photo old main:a.jpg tag0']);
    // A location that never had a hash is written as it comes.
    expect((await images.findByPath(main.id, 'new-unreadable.jpg'))?.content_hash).toBeNull();
  });

  it('plain upsert does not move derived rows', async () => {
    await images.upsert([file(main.id, 'a.jpg', OLD)]);
    await tag(OLD, tagIds[0]!);
    await images.upsert([file(main.id, 'a.jpg', NEW)]);
    expect(await derived()).toEqual(['tagged_photo old main:a.jpg tag0']);
  });
});
