import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import {
  type Database,
  type DerivedTable,
  ImageExifRepository,
  LibrariesRepository,
  type LibraryRow,
  openDatabase,
  UsersRepository,
} from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import pino from 'pino';

/** `xxh3-128:<32 hex>` for a small number, like the real content hashes. */
export const hash = (n: number): string => `xxh3-128:${n.toString(16).padStart(32, '0')}`;

export const silentLogger: Logger = pino({ level: 'silent' });

/** A logger that keeps every line (debug and up) as parsed JSON. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** A temp folder with a fresh migrated SQLite database and room for library roots. */
export async function maintenanceWorld() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-maintenance-'));
  const database = await openDatabase({ kind: 'sqlite', file: path.join(base, 'lumen.db') });
  return {
    base,
    database,
    db: database.db,
    async cleanup(): Promise<void> {
      await database.close();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Create a library row and its (real) root folder under `base`. */
export async function createLibrary(database: Database, base: string, name: string): Promise<LibraryRow> {
  const root = path.join(base, name);
  fs.mkdirSync(root, { recursive: true });
  return new LibrariesRepository(database.db).create({ name, root });
}

/** Write real files (a few bytes each) under a root. */
export function writeFiles(root: string, relPaths: readonly string[]): void {
  for (const rel of relPaths) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, rel);
  }
}

export interface ImageSpec {
  relPath: string;
  hash?: string | null;
}

/** Insert image_exif rows as ingest would (one batched upsert); returns their ids in order. */
export async function insertImages(
  database: Database,
  libraryId: number,
  images: readonly ImageSpec[],
): Promise<number[]> {
  const written = await new ImageExifRepository(database.db).upsert(
    images.map(({ relPath, hash: contentHash }) => {
      const slash = relPath.lastIndexOf('/');
      return {
        library_id: libraryId,
        rel_path: relPath,
        dir: slash < 0 ? '' : relPath.slice(0, slash),
        file_name: relPath.slice(slash + 1),
        media_type: 'photo',
        size_bytes: 10,
        mtime_ms: 1_714_000_000_000,
        content_hash: contentHash ?? null,
      };
    }),
  );
  return written.map((row) => row.id);
}

/** A user and a tag, for the foreign keys of favorites and tagged_photo. */
export async function createUserAndTag(
  database: Database,
  suffix = '',
): Promise<{ userId: number; tagId: number }> {
  const user = await new UsersRepository(database.db).create({
    username: `alice${suffix}`,
    passwordHash: 'x',
    isAdmin: false,
  });
  const tag = await database.db
    .insertInto('tags')
    .values({
      name: `Holiday${suffix}`,
      name_normalized: `holiday${suffix}`,
      created_at: new Date().toISOString(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { userId: user.id, tagId: tag.id };
}

export interface DerivedSpec {
  libraryId: number;
  relPath: string;
  hash: string;
  userId: number;
  tagId: number;
}

/** One row in each of tagged_photo, favorites, face_detections and photo_insights for a photo. */
export async function insertDerived(database: Database, spec: DerivedSpec): Promise<void> {
  const now = new Date().toISOString();
  const at = { library_id: spec.libraryId, rel_path: spec.relPath, content_hash: spec.hash, created_at: now };
  await database.db
    .insertInto('tagged_photo')
    .values({ ...at, tag_id: spec.tagId })
    .execute();
  await database.db
    .insertInto('favorites')
    .values({ ...at, user_id: spec.userId })
    .execute();
  await database.db
    .insertInto('face_detections')
    .values({
      ...at,
      bbox_x: 0.1,
      bbox_y: 0.2,
      bbox_w: 0.3,
      bbox_h: 0.4,
      embedding: Buffer.from([1, 2, 3, 4]),
      confidence: 0.9,
      status: 'detected',
    })
    .execute();
  await database.db
    .insertInto('photo_insights')
    .values({ ...at, title: 'A title', summary: 'A summary', model: 'test' })
    .execute();
}

export type Location = { library_id: number; rel_path: string; content_hash: string };

/** Every derived row, table by table, as (library_id, rel_path, content_hash), sorted. */
export async function derivedLocations(database: Database): Promise<Record<DerivedTable, Location[]>> {
  const read = (table: DerivedTable) =>
    database.db
      .selectFrom(table as 'tagged_photo')
      .select(['library_id', 'rel_path', 'content_hash'])
      .orderBy('id')
      .execute();
  return {
    tagged_photo: await read('tagged_photo'),
    favorites: await read('favorites'),
    face_detections: await read('face_detections'),
    photo_insights: await read('photo_insights'),
  };
}

/** image_exif rel_paths of a library, sorted. */
export async function imagePaths(database: Database, libraryId: number): Promise<string[]> {
  const rows = await database.db
    .selectFrom('image_exif')
    .select('rel_path')
    .where('library_id', '=', libraryId)
    .orderBy('rel_path')
    .execute();
  return rows.map((row) => row.rel_path);
}

/** image_exif_missing rel_paths of a library (rows marked missing), sorted. */
export async function missingPaths(database: Database, libraryId: number): Promise<string[]> {
  const rows = await database.db
    .selectFrom('image_exif_missing')
    .select('rel_path')
    .where('library_id', '=', libraryId)
    .orderBy('rel_path')
    .execute();
  return rows.map((row) => row.rel_path);
}
