import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { DB, ImageExif } from '../schema.generated.ts';
import { chunk, IN_LIST_CHUNK_SIZE } from './chunks.ts';

/** The columns a PhotoItem is read from, for `select` on `image_exif as ie`. */
export const PHOTO_ROW_COLUMNS = [
  'ie.id',
  'ie.library_id',
  'ie.rel_path',
  'ie.file_name',
  'ie.media_type',
  'ie.mime_type',
  'ie.size_bytes',
  'ie.date_taken',
  'ie.date_taken_offset',
  'ie.date_taken_source',
  'ie.width',
  'ie.height',
  'ie.orientation',
  'ie.gps_lat',
  'ie.gps_lon',
  'ie.gps_alt',
  'ie.camera_make',
  'ie.camera_model',
  'ie.lens_model',
  'ie.content_hash',
  'ie.duration_sec',
  'ie.thumb_status',
  'ie.preview_status',
] as const;

/** A row as selected with PHOTO_ROW_COLUMNS. */
export interface PhotoRow {
  id: number;
  library_id: number;
  rel_path: string;
  file_name: string;
  media_type: string;
  mime_type: string | null;
  size_bytes: number;
  date_taken: string | null;
  date_taken_offset: string | null;
  date_taken_source: string | null;
  width: number | null;
  height: number | null;
  orientation: number | null;
  gps_lat: number | null;
  gps_lon: number | null;
  gps_alt: number | null;
  camera_make: string | null;
  camera_model: string | null;
  lens_model: string | null;
  content_hash: string | null;
  duration_sec: number | null;
  thumb_status: string;
  preview_status: string;
}

/** One photo or video as `/photos` and `/memories` list it: its row, plus names, tags and favorite. */
export interface PhotoItem extends Omit<PhotoRow, 'media_type' | 'date_taken_source'> {
  /** The library's name. */
  library: string;
  /** RAW files are photos here; `is_raw` tells them apart. */
  media_type: 'photo' | 'video';
  is_raw: boolean;
  /** Ids of the tags on this content hash, ascending. */
  tag_ids: number[];
  /** Whether the requesting user marked this content hash favorite. */
  favorite: boolean;
}

export type PhotoTables = DB & { ie: ImageExif };
export type PhotoSelect = SelectQueryBuilder<PhotoTables, 'ie', PhotoRow>;

/**
 * `select <PhotoRow columns> from image_exif as ie`, for filters to extend. No join to libraries:
 * with one, SQLite tends to drive the query from the libraries table and can no longer walk an
 * index in sort order; the names come from one small query in toPhotoItems.
 */
export function selectPhotoRows(db: Kysely<DB>): PhotoSelect {
  return db.selectFrom('image_exif as ie').select(PHOTO_ROW_COLUMNS);
}

/**
 * Add library names, tag ids and favorite flags to a page of rows: one query each (libraries, the
 * tags of all their hashes, the user's favorites among them), never a query per row.
 */
export async function toPhotoItems(
  db: Kysely<DB>,
  rows: readonly PhotoRow[],
  userId: number | undefined,
): Promise<PhotoItem[]> {
  const hashes = [...new Set(rows.map((row) => row.content_hash).filter((h): h is string => h !== null))];
  const tagIds = await tagIdsByHash(db, hashes);
  const favorites = userId === undefined ? new Set<string>() : await favoriteHashes(db, userId, hashes);
  const libraryNames = await libraryNamesById(db, [...new Set(rows.map((row) => row.library_id))]);
  // Fields are copied one by one on purpose: object rest with exclusions (`{ a, ...rest } = row`)
  // takes a slow path in V8, about 20 us per row against well under 1 us for this literal.
  return rows.map(
    (row): PhotoItem => ({
      id: row.id,
      library_id: row.library_id,
      rel_path: row.rel_path,
      file_name: row.file_name,
      mime_type: row.mime_type,
      size_bytes: Number(row.size_bytes),
      date_taken: row.date_taken,
      date_taken_offset: row.date_taken_offset,
      width: row.width,
      height: row.height,
      orientation: row.orientation,
      gps_lat: row.gps_lat,
      gps_lon: row.gps_lon,
      gps_alt: row.gps_alt,
      camera_make: row.camera_make,
      camera_model: row.camera_model,
      lens_model: row.lens_model,
      content_hash: row.content_hash,
      duration_sec: row.duration_sec,
      thumb_status: row.thumb_status,
      preview_status: row.preview_status,
      library: libraryNames.get(row.library_id) ?? '',
      media_type: row.media_type === 'video' ? 'video' : 'photo',
      is_raw: row.media_type === 'raw',
      tag_ids: (row.content_hash && tagIds.get(row.content_hash)) || [],
      favorite: row.content_hash !== null && favorites.has(row.content_hash),
    }),
  );
}

async function libraryNamesById(db: Kysely<DB>, ids: readonly number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('libraries').select(['id', 'name']).where('id', 'in', ids).execute();
  return new Map(rows.map((row) => [row.id, row.name]));
}

/** Tag ids per content hash (ascending), for the given hashes. */
export async function tagIdsByHash(
  db: Kysely<DB>,
  hashes: readonly string[],
): Promise<Map<string, number[]>> {
  const result = new Map<string, number[]>();
  for (const part of chunk(hashes, IN_LIST_CHUNK_SIZE)) {
    const links = await db
      .selectFrom('tagged_photo')
      .select(['content_hash', 'tag_id'])
      .where('content_hash', 'in', part)
      .orderBy('tag_id')
      .execute();
    for (const link of links) {
      const list = result.get(link.content_hash);
      if (list) list.push(link.tag_id);
      else result.set(link.content_hash, [link.tag_id]);
    }
  }
  return result;
}

/** The hashes among `hashes` that `userId` marked favorite. */
export async function favoriteHashes(
  db: Kysely<DB>,
  userId: number,
  hashes: readonly string[],
): Promise<Set<string>> {
  const result = new Set<string>();
  for (const part of chunk(hashes, IN_LIST_CHUNK_SIZE)) {
    const rows = await db
      .selectFrom('favorites')
      .select('content_hash')
      .where('user_id', '=', userId)
      .where('content_hash', 'in', part)
      .execute();
    for (const row of rows) result.add(row.content_hash);
  }
  return result;
}
