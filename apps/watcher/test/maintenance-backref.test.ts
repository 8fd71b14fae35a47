import { randomBytes } from 'node:crypto';
import { type Database, LibrariesRepository, MaintenanceRepository, openDatabase } from '@lumen/db';
import { postgresTestUrl, requirePostgres } from '@lumen/test-support';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runBackRefRefresh } from '../src/maintenance/backref-refresh.ts';
import {
  createLibrary,
  createUserAndTag,
  derivedLocations,
  hash,
  insertDerived,
  insertImages,
  maintenanceWorld,
  silentLogger,
} from './maintenance-fixtures.ts';

/** The scenarios, run against SQLite and Postgres. */
function backRefScenarios(open: () => Promise<{ database: Database; libraryIds: [number, number] }>) {
  let database: Database;
  let recent: number;
  let archive: number;
  let owner: { userId: number; tagId: number };

  beforeEach(async () => {
    ({
      database,
      libraryIds: [recent, archive],
    } = await open());
    owner = await createUserAndTag(database);
  });

  it('repoints every derived row of a moved photo at the surviving location, idempotently', async () => {
    await insertImages(database, recent, [{ relPath: 'a.jpg', hash: hash(1) }]);
    await insertDerived(database, { libraryId: recent, relPath: 'a.jpg', hash: hash(1), ...owner });
    // The move: the new location arrives, the old one goes.
    await insertImages(database, archive, [{ relPath: '2024/a.jpg', hash: hash(1) }]);
    await database.db.deleteFrom('image_exif').where('library_id', '=', recent).execute();

    const first = await runBackRefRefresh({ db: database.db, logger: silentLogger });

    expect(first.repointed).toEqual({ tagged_photo: 1, favorites: 1, face_detections: 1, photo_insights: 1 });
    const moved = { library_id: archive, rel_path: '2024/a.jpg', content_hash: hash(1) };
    expect(await derivedLocations(database)).toEqual({
      tagged_photo: [moved],
      favorites: [moved],
      face_detections: [moved],
      photo_insights: [moved],
    });
    const second = await runBackRefRefresh({ db: database.db, logger: silentLogger });
    expect(second.total).toBe(0);
    expect((await derivedLocations(database)).tagged_photo).toEqual([moved]);
  });

  it('picks the lowest image_exif id among several surviving copies', async () => {
    await insertImages(database, recent, [{ relPath: 'old.jpg', hash: hash(2) }]);
    await insertDerived(database, { libraryId: recent, relPath: 'old.jpg', hash: hash(2), ...owner });
    await insertImages(database, archive, [{ relPath: 'copy-b.jpg', hash: hash(2) }]);
    await insertImages(database, recent, [{ relPath: 'copy-a.jpg', hash: hash(2) }]);
    await database.db.deleteFrom('image_exif').where('rel_path', '=', 'old.jpg').execute();

    await runBackRefRefresh({ db: database.db, logger: silentLogger });

    const locations = await derivedLocations(database);
    for (const rows of Object.values(locations)) {
      expect(rows).toEqual([{ library_id: archive, rel_path: 'copy-b.jpg', content_hash: hash(2) }]);
    }
  });

  it('leaves rows alone whose location still holds their content, or whose content is gone everywhere', async () => {
    await insertImages(database, recent, [{ relPath: 'here.jpg', hash: hash(3) }]);
    await insertImages(database, archive, [{ relPath: 'dup.jpg', hash: hash(3) }]);
    await insertDerived(database, { libraryId: recent, relPath: 'here.jpg', hash: hash(3), ...owner });
    await insertDerived(database, { libraryId: recent, relPath: 'vanished.jpg', hash: hash(4), ...owner });
    const before = await derivedLocations(database);

    const result = await runBackRefRefresh({ db: database.db, logger: silentLogger });

    expect(result.total).toBe(0);
    expect(await derivedLocations(database)).toEqual(before);
  });

  it('repoints a row whose location now holds different content (file replaced in place)', async () => {
    await insertImages(database, recent, [{ relPath: 'x.jpg', hash: hash(6) }]);
    await insertImages(database, archive, [{ relPath: 'x-copy.jpg', hash: hash(5) }]);
    await insertDerived(database, { libraryId: recent, relPath: 'x.jpg', hash: hash(5), ...owner });

    await runBackRefRefresh({ db: database.db, logger: silentLogger });

    expect((await derivedLocations(database)).favorites).toEqual([
      { library_id: archive, rel_path: 'x-copy.jpg', content_hash: hash(5) },
    ]);
  });

  it('works in batches without breaking UNIQUE(tag_id, content_hash) / UNIQUE(user_id, content_hash)', async () => {
    const other = await createUserAndTag(database, '-2');
    const hashes = Array.from({ length: 25 }, (_, i) => hash(100 + i));
    await insertImages(
      database,
      recent,
      hashes.map((h, i) => ({ relPath: `r/${i}.jpg`, hash: h })),
    );
    for (const [i, h] of hashes.entries()) {
      await insertDerived(database, { libraryId: recent, relPath: `r/${i}.jpg`, hash: h, ...owner });
      await insertDerived(database, { libraryId: recent, relPath: `r/${i}.jpg`, hash: h, ...other });
    }
    await insertImages(
      database,
      archive,
      hashes.map((h, i) => ({ relPath: `a/${i}.jpg`, hash: h })),
    );
    await database.db.deleteFrom('image_exif').where('library_id', '=', recent).execute();

    const result = await new MaintenanceRepository(database.db).refreshBackRefs({ batchSize: 7 });

    expect(result).toEqual({ tagged_photo: 50, favorites: 50, face_detections: 50, photo_insights: 50 });
    const locations = await derivedLocations(database);
    for (const rows of Object.values(locations)) {
      expect(rows.every((row) => row.library_id === archive && row.rel_path.startsWith('a/'))).toBe(true);
    }
  });
}

describe('back-ref refresh on SQLite', () => {
  let world: Awaited<ReturnType<typeof maintenanceWorld>>;
  afterEach(() => world.cleanup());

  backRefScenarios(async () => {
    world = await maintenanceWorld();
    const recent = await createLibrary(world.database, world.base, 'recent');
    const archive = await createLibrary(world.database, world.base, 'archive');
    return { database: world.database, libraryIds: [recent.id, archive.id] };
  });
});

// Postgres: each run gets its own schema (search_path), dropped afterwards.
describe('back-ref refresh on Postgres', () => {
  const adminUrl = postgresTestUrl();
  let admin: Database;
  let database: Database | undefined;
  let schemas: string[] = [];

  beforeAll(async () => {
    await requirePostgres(adminUrl);
    admin = await openDatabase({ kind: 'postgres', url: adminUrl }, { migrate: false });
  });
  afterEach(async () => {
    await database?.close();
    database = undefined;
    for (const schema of schemas) await admin.db.schema.dropSchema(schema).ifExists().cascade().execute();
    schemas = [];
  });
  afterAll(() => admin?.close());

  backRefScenarios(async () => {
    const schema = `lumen_maint_${randomBytes(6).toString('hex')}`;
    await admin.db.schema.createSchema(schema).execute();
    schemas.push(schema);
    const url = new URL(adminUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    database = await openDatabase({ kind: 'postgres', url: url.toString() });
    const libraries = new LibrariesRepository(database.db);
    const recent = await libraries.create({ name: 'recent', root: '/recent' });
    const archive = await libraries.create({ name: 'archive', root: '/archive' });
    // The tables really live in the fresh schema.
    const current = await database.db
      .selectNoFrom((eb) => eb.fn<string>('current_schema', []).as('schema'))
      .executeTakeFirstOrThrow();
    expect(current.schema).toBe(schema);
    return { database, libraryIds: [recent.id, archive.id] };
  });
});
