import { type LibraryRow, MaintenanceRepository } from '@lumen/db';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OrphanGcRunner, type OrphanGcTickOptions } from '../src/maintenance/orphan-gc.ts';
import {
  capturingLogger,
  createLibrary,
  createUserAndTag,
  derivedLocations,
  hash,
  insertDerived,
  insertImages,
  maintenanceWorld,
  silentLogger,
} from './maintenance-fixtures.ts';

let world: Awaited<ReturnType<typeof maintenanceWorld>>;
let library: LibraryRow;
let owner: { userId: number; tagId: number };

beforeEach(async () => {
  world = await maintenanceWorld();
  library = await createLibrary(world.database, world.base, 'main');
  owner = await createUserAndTag(world.database);
  // A photo that is still there, and one whose file (and image_exif row) is gone.
  await insertImages(world.database, library.id, [{ relPath: 'kept.jpg', hash: hash(1) }]);
  await insertDerived(world.database, {
    libraryId: library.id,
    relPath: 'kept.jpg',
    hash: hash(1),
    ...owner,
  });
  await insertDerived(world.database, {
    libraryId: library.id,
    relPath: 'gone.jpg',
    hash: hash(2),
    ...owner,
  });
});
afterEach(() => world.cleanup());

function tick(runner: OrphanGcRunner, overrides: Partial<OrphanGcTickOptions> = {}) {
  return runner.runTick({ db: world.db, allOnline: true, dryRun: false, logger: silentLogger, ...overrides });
}

async function hashesLeft(): Promise<string[]> {
  const locations = await derivedLocations(world.database);
  return [...new Set(Object.values(locations).flatMap((rows) => rows.map((row) => row.content_hash)))].sort();
}

const oneEach = { tagged_photo: 1, favorites: 1, face_detections: 1, photo_insights: 1 };
const none = { tagged_photo: 0, favorites: 0, face_detections: 0, photo_insights: 0 };

describe('OrphanGcRunner', () => {
  it('deletes nothing on the first tick and the orphan rows after a second all-Online tick', async () => {
    const runner = new OrphanGcRunner();

    const first = await tick(runner);
    expect(first).toMatchObject({ orphans: 1, pending: 1, hashesDeleted: 0, deleted: none });
    expect(await hashesLeft()).toEqual([hash(1), hash(2)]);

    const second = await tick(runner);
    expect(second).toMatchObject({ orphans: 1, hashesDeleted: 1, deleted: oneEach });
    expect(await hashesLeft()).toEqual([hash(1)]);

    const third = await tick(runner);
    expect(third).toMatchObject({ orphans: 0, pending: 0, hashesDeleted: 0, revived: 0 });
  });

  it('a Stale tick cancels every pending delete; the count starts over', async () => {
    const runner = new OrphanGcRunner();

    expect(await tick(runner)).toMatchObject({ pending: 1 });
    expect(await tick(runner, { allOnline: false })).toMatchObject({
      cancelled: 1,
      pending: 0,
      hashesDeleted: 0,
    });
    expect(await tick(runner)).toMatchObject({ pending: 1, hashesDeleted: 0 });
    expect(await hashesLeft()).toEqual([hash(1), hash(2)]);

    expect(await tick(runner)).toMatchObject({ hashesDeleted: 1, deleted: oneEach });
    expect(await hashesLeft()).toEqual([hash(1)]);
  });

  it('revives a hash that vanishes and comes back between ticks', async () => {
    const runner = new OrphanGcRunner();

    expect(await tick(runner)).toMatchObject({ pending: 1 });
    // The file is back (a slow mount listed it again, or it was moved and ingested).
    await insertImages(world.database, library.id, [{ relPath: 'gone.jpg', hash: hash(2) }]);
    expect(await tick(runner)).toMatchObject({ revived: 1, pending: 0, hashesDeleted: 0 });
    expect(await tick(runner)).toMatchObject({ revived: 0, pending: 0, hashesDeleted: 0 });
    expect(await hashesLeft()).toEqual([hash(1), hash(2)]);
  });

  it('forgets everything on a restart: a new runner needs two ticks again', async () => {
    expect(await tick(new OrphanGcRunner())).toMatchObject({ pending: 1 });
    const restarted = new OrphanGcRunner();
    expect(await tick(restarted)).toMatchObject({ pending: 1, hashesDeleted: 0 });
    expect(await hashesLeft()).toEqual([hash(1), hash(2)]);
  });

  it('on a dry run logs what it would delete and deletes nothing, tick after tick', async () => {
    const runner = new OrphanGcRunner();
    const { logger, lines } = capturingLogger();

    for (let i = 0; i < 4; i++) {
      const result = await tick(runner, { dryRun: true, logger });
      expect(result.deleted).toEqual(none);
      if (i > 0) expect(result).toMatchObject({ hashesDeleted: 1, wouldDelete: oneEach });
    }

    expect(await hashesLeft()).toEqual([hash(1), hash(2)]);
    const line = lines.find((l) => String(l.msg).includes('would delete'));
    expect(line).toMatchObject({ hashes: 1, rows: oneEach, sample: [hash(2)] });
  });

  it('works off a backlog larger than its per-tick bound', async () => {
    for (let i = 0; i < 9; i++) {
      await insertDerived(world.database, {
        libraryId: library.id,
        relPath: `old-${i}.jpg`,
        hash: hash(50 + i),
        ...owner,
      });
    }
    const runner = new OrphanGcRunner({ maxOrphansPerTable: 3 });

    for (let i = 0; i < 20 && (await hashesLeft()).length > 1; i++) {
      const result = await tick(runner);
      expect(result.orphans).toBeLessThanOrEqual(3);
    }

    expect(await hashesLeft()).toEqual([hash(1)]);
  });

  it('clears the cover of a person whose cover face was deleted', async () => {
    const face = await world.db
      .selectFrom('face_detections')
      .select('id')
      .where('content_hash', '=', hash(2))
      .executeTakeFirstOrThrow();
    const keptFace = await world.db
      .selectFrom('face_detections')
      .select('id')
      .where('content_hash', '=', hash(1))
      .executeTakeFirstOrThrow();
    const now = new Date().toISOString();
    await world.db
      .insertInto('persons')
      .values([
        { name: 'Bob', name_normalized: 'bob', cover_face_id: face.id, created_at: now, updated_at: now },
        { name: 'Eve', name_normalized: 'eve', cover_face_id: keptFace.id, created_at: now, updated_at: now },
      ])
      .execute();
    const runner = new OrphanGcRunner();

    await tick(runner);
    await tick(runner);

    const persons = await world.db
      .selectFrom('persons')
      .select(['name', 'cover_face_id'])
      .orderBy('name')
      .execute();
    expect(persons).toEqual([
      { name: 'Bob', cover_face_id: null },
      { name: 'Eve', cover_face_id: keptFace.id },
    ]);
  });
});

describe('MaintenanceRepository.deleteOrphanRows', () => {
  it('never deletes the rows of a hash that has an image_exif row (it came back since it was found)', async () => {
    const repo = new MaintenanceRepository(world.db);

    expect(await repo.deleteOrphanRows([hash(1)])).toEqual(none);
    expect(await repo.deleteOrphanRows([hash(1), hash(2)])).toEqual(oneEach);
    expect(await hashesLeft()).toEqual([hash(1)]);
  });

  it('finds orphaned hashes across the four tables, each once, sorted', async () => {
    await world.db
      .insertInto('photo_insights')
      .values({
        library_id: library.id,
        rel_path: 'only-insight.jpg',
        content_hash: hash(0),
        created_at: 'x',
      })
      .execute();

    expect(await new MaintenanceRepository(world.db).findOrphanHashes(100)).toEqual([hash(0), hash(2)]);
  });
});
