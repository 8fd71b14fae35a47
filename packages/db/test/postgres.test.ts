import { freshPostgresDatabase, postgresTestUrl } from '@lumen/test-support';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  ImageExifRepository,
  LibrariesRepository,
  migrationsFor,
  openDatabase,
  SettingsRepository,
  UsersRepository,
} from '../src/index.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';

// Runs against the real server; each run gets its own database, dropped afterwards.
const adminUrl = postgresTestUrl();
let testUrl: string;
let fresh: Awaited<ReturnType<typeof freshPostgresDatabase>> | undefined;
let database: Database;

beforeAll(async () => {
  fresh = await freshPostgresDatabase();
  testUrl = fresh.url;
  database = await openDatabase({ kind: 'postgres', url: testUrl });
});

afterAll(async () => {
  await database?.close();
  await fresh?.drop();
});

describe('Postgres', () => {
  it('migrates, pings, and opening again changes nothing', async () => {
    expect(database.kind).toBe('postgres');
    expect(await database.ping()).toBe(true);
    const again = await openDatabase({ kind: 'postgres', url: testUrl });
    try {
      const executed = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
        again.db,
      );
      expect(executed.rows.map((r) => r.name)).toEqual(Object.keys(migrationsFor('postgres')));
    } finally {
      await again.close();
    }
  });

  it('has the same tables, columns, nullability and indexes as SQLite', async () => {
    const pgColumns = await sql<{ table_name: string; column_name: string; is_nullable: string }>`
      select table_name, column_name, is_nullable from information_schema.columns
      where table_schema = 'public' and table_name not like 'kysely_%'
      order by table_name, ordinal_position`.execute(database.db);
    const pgIndexes = await sql<{ indexname: string }>`
      select indexname from pg_indexes where schemaname = 'public' and indexname like '%_idx'
      order by indexname`.execute(database.db);

    const temp = tempSqliteFolder();
    try {
      const sqlite = await temp.open();
      const sqliteColumns = await sql<{
        table_name: string;
        column_name: string;
        notnull: number;
        pk: number;
      }>`
        select m.name as table_name, c.name as column_name, c."notnull" as "notnull", c.pk as pk
        from sqlite_master m join pragma_table_info(m.name) c
        where m.type = 'table' and m.name not like 'sqlite_%' and m.name not like 'kysely_%'
        order by m.name, c.cid`.execute(sqlite.db);
      const sqliteIndexes = await sql<{ name: string }>`
        select name from sqlite_master where type = 'index' and name like '%_idx' order by name`.execute(
        sqlite.db,
      );

      expect(
        pgColumns.rows.map((c) => `${c.table_name}.${c.column_name} ${c.is_nullable === 'YES'}`),
      ).toEqual(
        sqliteColumns.rows.map((c) => `${c.table_name}.${c.column_name} ${c.notnull === 0 && c.pk === 0}`),
      );
      expect(pgIndexes.rows.map((r) => r.indexname)).toEqual(sqliteIndexes.rows.map((r) => r.name));
    } finally {
      await temp.cleanup();
    }
  });

  it('round-trips users, libraries, settings and image rows through the repositories', async () => {
    const users = new UsersRepository(database.db);
    const user = await users.create({ username: 'pg-ann', passwordHash: 'hash', isAdmin: true });
    expect(await users.findByUsername('pg-ann')).toEqual(user);
    expect(await users.count()).toBe(1);
    await expect(users.create({ username: 'pg-ann', passwordHash: 'x', isAdmin: false })).rejects.toThrow(
      /duplicate key/,
    );

    const libraries = new LibrariesRepository(database.db);
    const [main] = await libraries.upsertConfigured([{ name: 'Main', root: '/photos' }]);
    expect(main).toMatchObject({ name: 'Main', root: '/photos', status: 'online' });
    expect(await libraries.findByIdOrName('main')).toEqual(main);
    // An id past the 4-byte `integer` column is looked up as a name, not sent as an id (PG refuses it).
    expect(await libraries.findByIdOrName('99999999999999999999999')).toBeUndefined();
    expect(await libraries.setStatus(main!.id, 'stale', 'root lists empty')).toBe(true);

    const settings = new SettingsRepository(database.db);
    await settings.set('cursor', '1');
    await settings.set('cursor', '2');
    expect(await settings.get('cursor')).toBe('2');

    const images = new ImageExifRepository(database.db);
    const base = {
      library_id: main!.id,
      media_type: 'photo',
      size_bytes: 12_345_678_901,
      mtime_ms: 1_714_000_000_123,
    };
    const written = await images.upsert([
      {
        ...base,
        rel_path: '2024/a.jpg',
        dir: '2024',
        file_name: 'a.jpg',
        content_hash: 'h1',
        gps_lat: 48.858370123456,
      },
      {
        ...base,
        rel_path: '2024/b.nef',
        dir: '2024',
        file_name: 'b.nef',
        media_type: 'raw',
        content_hash: 'h1',
      },
      { ...base, rel_path: 'c.mp4', dir: '', file_name: 'c.mp4', media_type: 'video' },
    ]);
    await images.upsert([
      { ...base, rel_path: 'c.mp4', dir: '', file_name: 'c.mp4', media_type: 'video', iso: 400 },
    ]);

    const listing = await images.listDirectory(main!.id, '2024');
    expect(listing.map((r) => [r.rel_path, r.size_bytes, r.mtime_ms])).toEqual([
      ['2024/a.jpg', 12_345_678_901, 1_714_000_000_123],
      ['2024/b.nef', 12_345_678_901, 1_714_000_000_123],
    ]);
    expect((await images.findByPath(main!.id, '2024/a.jpg'))?.gps_lat).toBe(48.858370123456);
    expect((await images.findByPath(main!.id, 'c.mp4'))?.iso).toBe(400);
    expect((await images.findByHash('h1')).map((r) => r.rel_path)).toEqual(['2024/a.jpg', '2024/b.nef']);
    const dirs: string[] = [];
    for await (const dir of images.knownDirs(main!.id, 1)) dirs.push(dir);
    expect(dirs).toEqual(['', '2024']);
    expect(await libraries.countFilesByMediaType(main!.id)).toEqual({ photo: 1, raw: 1, video: 1, total: 3 });
    expect(await images.countByLibrary(main!.id)).toBe(3);
    expect(await images.pageForMissingScan(main!.id, 0, 10)).toHaveLength(3);
    expect(await images.deleteByIds(written.map((w) => w.id))).toBe(3);
    expect(await images.countByLibrary(main!.id)).toBe(0);
  });

  it('enforces the face_detections check and stores embeddings as bytea', async () => {
    const row = {
      library_id: 1,
      content_hash: 'h',
      rel_path: 'a.jpg',
      created_at: '2024-01-01T00:00:00.000Z',
    };
    const embedding = Buffer.from(new Float32Array([0.5, -0.25]).buffer);
    await database.db
      .insertInto('face_detections')
      .values({ ...row, status: 'detected', bbox_x: 0, bbox_y: 0, bbox_w: 1, bbox_h: 1, embedding })
      .execute();
    const stored = await database.db
      .selectFrom('face_detections')
      .select('embedding')
      .executeTakeFirstOrThrow();
    expect(Buffer.compare(stored.embedding!, embedding)).toBe(0);
    await expect(
      database.db
        .insertInto('face_detections')
        .values({ ...row, status: 'detected', embedding })
        .execute(),
    ).rejects.toThrow(/check constraint/);
    await expect(
      database.db
        .insertInto('face_detections')
        .values({ ...row, status: 'no_faces', embedding })
        .execute(),
    ).rejects.toThrow(/check constraint/);
  });

  it('opening a server that is not there fails, and ping answers false', async () => {
    const url = new URL(adminUrl);
    url.port = '1';
    await expect(openDatabase({ kind: 'postgres', url: url.toString() })).rejects.toThrow(/ECONNREFUSED/);
    const nowhere = await openDatabase({ kind: 'postgres', url: url.toString() }, { migrate: false });
    try {
      expect(await nowhere.ping()).toBe(false);
    } finally {
      await nowhere.close();
    }
  });
});
