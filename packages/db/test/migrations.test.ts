import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Database, migrationsFor } from '../src/index.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';

let temp: ReturnType<typeof tempSqliteFolder>;
beforeEach(() => {
  temp = tempSqliteFolder();
});
afterEach(() => temp.cleanup());

async function executedMigrations(database: Database): Promise<string[]> {
  const result = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
    database.db,
  );
  return result.rows.map((row) => row.name);
}

async function indexNames(database: Database): Promise<string[]> {
  const result = await sql<{ name: string }>`
    select name from sqlite_master where type = 'index' and name like '%_idx' order by name`.execute(
    database.db,
  );
  return result.rows.map((row) => row.name);
}

describe('opening SQLite', () => {
  it('creates the parent folder and sets WAL, busy timeout, foreign keys and synchronous NORMAL', async () => {
    const database = await temp.open('nested/deeper/lumen.db');
    const pragma = async (name: string) =>
      (await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(database.db)).rows[0];
    expect(await pragma('journal_mode')).toEqual({ journal_mode: 'wal' });
    expect(await pragma('busy_timeout')).toEqual({ timeout: 5000 });
    expect(await pragma('foreign_keys')).toEqual({ foreign_keys: 1 });
    expect(await pragma('synchronous')).toEqual({ synchronous: 1 });
    expect(await database.ping()).toBe(true);
    expect(database.kind).toBe('sqlite');
  });

  it('creates the database file 0600 in a folder made 0700, with its WAL files 0600 too', async () => {
    const previous = process.umask(0o022);
    try {
      const database = await temp.open('private/lumen.db');
      await database.db
        .insertInto('app_settings')
        .values({ key: 'k', value: 'v', updated_at: 'now' })
        .execute();
      const mode = (name: string) => fs.statSync(temp.file(name)).mode & 0o777;
      expect(mode('private')).toBe(0o700);
      expect(mode('private/lumen.db')).toBe(0o600);
      expect(mode('private/lumen.db-wal')).toBe(0o600);
      expect(mode('private/lumen.db-shm')).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  });

  it('narrows an existing database and its WAL files that others could read to 0600', async () => {
    const first = await temp.open('wide.db');
    await first.db.insertInto('app_settings').values({ key: 'k', value: 'v', updated_at: 'now' }).execute();
    for (const name of ['wide.db', 'wide.db-wal', 'wide.db-shm']) fs.chmodSync(temp.file(name), 0o644);
    const second = await temp.open('wide.db');
    expect(await second.db.selectFrom('app_settings').select('value').executeTakeFirst()).toEqual({
      value: 'v',
    });
    for (const name of ['wide.db', 'wide.db-wal', 'wide.db-shm']) {
      expect(fs.statSync(temp.file(name)).mode & 0o777).toBe(0o600);
    }
  });

  it('runs every migration once; opening again changes nothing', async () => {
    const first = await temp.open();
    const names = Object.keys(migrationsFor('sqlite'));
    expect(await executedMigrations(first)).toEqual(names);
    const indexes = await indexNames(first);
    await first.close();

    const second = await temp.open();
    expect(await executedMigrations(second)).toEqual(names);
    expect(await indexNames(second)).toEqual(indexes);
  });

  it('creates every index of the schema', async () => {
    const database = await temp.open();
    expect(await indexNames(database)).toEqual([
      'face_detections_cluster_id_idx',
      'face_detections_content_hash_idx',
      'face_detections_library_id_rel_path_idx',
      'face_detections_model_version_status_clustered_idx',
      'face_detections_person_id_idx',
      'favorites_content_hash_idx',
      'image_exif_content_hash_idx',
      'image_exif_date_taken_id_content_hash_idx',
      'image_exif_file_name_rel_path_id_idx',
      'image_exif_gps_lat_gps_lon_date_taken_idx',
      'image_exif_library_id_dir_idx',
      'image_exif_lower_camera_idx',
      'image_exif_lower_lens_idx',
      'image_exif_media_type_idx',
      'image_exif_missing_content_hash_idx',
      'image_exif_missing_library_id_dir_idx',
      'image_exif_missing_library_id_id_idx',
      'image_exif_shuffle_idx',
      'login_lockout_lifts_lifted_at_ms_idx',
      'photo_insights_content_hash_idx',
      'photo_insights_content_hash_is_current_idx',
      'tagged_photo_content_hash_tag_id_idx',
      'tagged_photo_library_id_rel_path_idx',
    ]);
  });

  it('leaves the file unmigrated with migrate: false', async () => {
    const database = await temp.open('plain.db', { migrate: false });
    const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(
      database.db,
    );
    expect(tables.rows).toEqual([]);
  });

  it('lets several processes open one new file at once', async () => {
    const script = fileURLToPath(new URL('./open-database-child.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
    const file = temp.file('shared.db');
    const runs = Array.from({ length: 3 }, () => runChild(tsx, [script, file]));
    const results = await Promise.all(runs);
    for (const result of results) expect(result).toEqual({ code: 0, stderr: '' });
    const database = await temp.open('shared.db');
    expect(await executedMigrations(database)).toEqual(Object.keys(migrationsFor('sqlite')));
  });
});

describe('face_detections check', () => {
  const base = {
    library_id: 1,
    content_hash: 'xxh3-128:00000000000000000000000000000001',
    rel_path: 'a.jpg',
    created_at: '2024-01-01T00:00:00.000Z',
  };
  const box = { bbox_x: 0.1, bbox_y: 0.2, bbox_w: 0.3, bbox_h: 0.4 };
  const embedding = Buffer.from(new Float32Array([0.5, -0.25]).buffer);

  it('accepts a detected face with box and embedding, and markers without either', async () => {
    const { db } = await temp.open();
    await db
      .insertInto('face_detections')
      .values([
        { ...base, ...box, embedding, status: 'detected' },
        { ...base, status: 'no_faces' },
        { ...base, status: 'failed' },
      ])
      .execute();
    const rows = await db.selectFrom('face_detections').selectAll().orderBy('id').execute();
    expect(rows.map((r) => [r.status, r.source])).toEqual([
      ['detected', 'auto'],
      ['no_faces', 'auto'],
      ['failed', 'auto'],
    ]);
    expect(Buffer.compare(rows[0]!.embedding!, embedding)).toBe(0);
  });

  it.each([
    ['a detected face without bbox', { ...base, embedding, status: 'detected' }],
    ['a detected face without bbox_h', { ...base, ...box, bbox_h: null, embedding, status: 'detected' }],
    ['a detected face without embedding', { ...base, ...box, status: 'detected' }],
    ['a no_faces marker with an embedding', { ...base, embedding, status: 'no_faces' }],
    ['a failed marker with a bbox', { ...base, ...box, status: 'failed' }],
  ])('rejects %s', async (_label, row) => {
    const { db } = await temp.open();
    await expect(db.insertInto('face_detections').values(row).execute()).rejects.toThrow(/CHECK constraint/);
  });
});

describe('foreign keys', () => {
  it('deleting a library deletes its image_exif rows; deleting a person unassigns its faces', async () => {
    const { db } = await temp.open();
    const now = '2024-01-01T00:00:00.000Z';
    const lib = await db
      .insertInto('libraries')
      .values({ name: 'main', root: '/photos', created_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('image_exif')
      .values({
        library_id: lib.id,
        rel_path: 'a.jpg',
        dir: '',
        file_name: 'a.jpg',
        media_type: 'photo',
        size_bytes: 1,
        mtime_ms: 1,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const person = await db
      .insertInto('persons')
      .values({ name: 'Ann', name_normalized: 'ann', created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('face_detections')
      .values({
        library_id: lib.id,
        content_hash: 'h',
        rel_path: 'a.jpg',
        bbox_x: 0,
        bbox_y: 0,
        bbox_w: 1,
        bbox_h: 1,
        embedding: Buffer.from([1]),
        status: 'detected',
        person_id: person.id,
        created_at: now,
      })
      .execute();

    await db.deleteFrom('libraries').where('id', '=', lib.id).execute();
    await db.deleteFrom('persons').where('id', '=', person.id).execute();

    expect(await db.selectFrom('image_exif').selectAll().execute()).toEqual([]);
    expect(await db.selectFrom('face_detections').select('person_id').execute()).toEqual([
      { person_id: null },
    ]);
    await expect(
      db
        .insertInto('image_exif')
        .values({
          library_id: 999,
          rel_path: 'b.jpg',
          dir: '',
          file_name: 'b.jpg',
          media_type: 'photo',
          size_bytes: 1,
          mtime_ms: 1,
          created_at: now,
          updated_at: now,
        })
        .execute(),
    ).rejects.toThrow(/FOREIGN KEY/);
  });
});

function runChild(command: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    let stderr = '';
    child.stderr.on('data', (data) => {
      stderr += String(data);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
