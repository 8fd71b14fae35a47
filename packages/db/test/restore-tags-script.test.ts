import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  type Database,
  ImageExifRepository,
  LibrariesRepository,
  MissingFilesRepository,
  UsersRepository,
} from '../src/index.ts';
import { imageFile as file, hash } from './photo-fixtures.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';

/** docs/operations.md, "Recovering": tags and favorites back from a backup, with the sqlite3 CLI as documented. */
const SCRIPT = path.resolve(import.meta.dirname, '../scripts/restore-tags-from-backup.sql');
const now = new Date().toISOString();

let temp: ReturnType<typeof tempSqliteFolder>;
beforeEach(() => {
  temp = tempSqliteFolder();
});
afterEach(() => temp.cleanup());

async function seed(database: Database, paths: Record<string, string>): Promise<{ libraryId: number }> {
  const library = await new LibrariesRepository(database.db).create({ name: 'main', root: '/photos' });
  await new ImageExifRepository(database.db).upsert(
    Object.entries(paths).map(([relPath, contentHash]) => file(library.id, relPath, contentHash)),
  );
  return { libraryId: library.id };
}

it('copies the tags and favorites of content that exists again, and nothing else; twice is once', async () => {
  // The backup: three photos, tagged and favorited by alice.
  const backup = await temp.open('backup.db');
  const old = await seed(backup, { 'a.jpg': hash(1), 'b.jpg': hash(2), 'gone.jpg': hash(3) });
  const alice = await new UsersRepository(backup.db).create({
    username: 'alice',
    passwordHash: 'x',
    isAdmin: false,
  });
  const trip = await backup.db
    .insertInto('tags')
    .values({ name: 'Trip', name_normalized: 'trip', created_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (const [relPath, contentHash] of [
    ['a.jpg', hash(1)],
    ['b.jpg', hash(2)],
    ['gone.jpg', hash(3)],
  ] as const) {
    const at = { library_id: old.libraryId, rel_path: relPath, content_hash: contentHash, created_at: now };
    await backup.db
      .insertInto('tagged_photo')
      .values({ ...at, tag_id: trip.id })
      .execute();
    await backup.db
      .insertInto('favorites')
      .values({ ...at, user_id: alice.id })
      .execute();
  }
  await backup.close();

  // Now: a.jpg moved to 2024/, b.jpg is marked missing, gone.jpg is gone; the tags were lost.
  const current = await temp.open('lumen.db');
  const now2 = await seed(current, { '2024/a.jpg': hash(1), 'b.jpg': hash(2) });
  const b = await new ImageExifRepository(current.db).findByPath(now2.libraryId, 'b.jpg');
  await new MissingFilesRepository(current.db).markMissing([b!.id], now, '2999-01-01T00:00:00.000Z');
  await new UsersRepository(current.db).create({ username: 'alice', passwordHash: 'y', isAdmin: false });
  await current.close();

  const dbFile = path.join(temp.dir, 'lumen.db');
  const run = () =>
    execFileSync('sqlite3', [dbFile, '-cmd', `ATTACH '${path.join(temp.dir, 'backup.db')}' AS backup`], {
      input: fs.readFileSync(SCRIPT),
      timeout: 30_000,
    });
  run();
  run();

  const after = await temp.open('lumen.db');
  const tags = await after.db
    .selectFrom('tagged_photo as tp')
    .innerJoin('tags as t', 't.id', 'tp.tag_id')
    .select(['t.name', 'tp.rel_path', 'tp.content_hash'])
    .orderBy('tp.rel_path')
    .execute();
  expect(tags).toEqual([
    { name: 'Trip', rel_path: '2024/a.jpg', content_hash: hash(1) },
    { name: 'Trip', rel_path: 'b.jpg', content_hash: hash(2) },
  ]);
  const favorites = await after.db
    .selectFrom('favorites as f')
    .innerJoin('users as u', 'u.id', 'f.user_id')
    .select(['u.username', 'f.content_hash'])
    .orderBy('f.content_hash')
    .execute();
  expect(favorites).toEqual([
    { username: 'alice', content_hash: hash(1) },
    { username: 'alice', content_hash: hash(2) },
  ]);
  await after.close();
});
