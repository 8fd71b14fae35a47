import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import type { DatabaseKind } from '../migrations/dialect-columns.ts';
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

/** A row as selectPhotoRows reads it: the PhotoRow columns plus what a PhotoItem adds. */
export interface PhotoItemRow extends PhotoRow {
  /** The library's name (null only if the library went away mid-query). */
  library_name: string | null;
  /** Tag ids on the content hash, comma-separated in no particular order; null without tags. */
  tag_id_list: string | null;
  /** 1 when the requesting user marked the content hash favorite, else 0. */
  is_favorite: number;
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
export type PhotoSelect = SelectQueryBuilder<PhotoTables, 'ie', PhotoItemRow>;

/**
 * `select <PhotoRow columns>, <library name, tag ids, favorite flag> from image_exif as ie`, for
 * filters to extend. The three extras are correlated subqueries (one index probe each per row,
 * on the (content_hash, tag_id) and (user_id, content_hash) indexes), so a page is one query
 * instead of four. No join to libraries: with one, SQLite tends to drive the query from the
 * libraries table and can no longer walk an index in sort order.
 * `userId`: whose favorites the flag shows (none when undefined).
 */
export function selectPhotoRows(db: Kysely<DB>, kind: DatabaseKind, userId: number | undefined): PhotoSelect {
  const tagIdList =
    kind === 'sqlite'
      ? sql<string | null>`(select group_concat(tp.tag_id) from tagged_photo tp
          where tp.content_hash = ie.content_hash)`
      : sql<string | null>`(select string_agg(cast(tp.tag_id as text), ',') from tagged_photo tp
          where tp.content_hash = ie.content_hash)`;
  const favorite =
    userId === undefined
      ? sql<number>`0`
      : sql<number>`(case when exists (select 1 from favorites f
          where f.user_id = ${userId} and f.content_hash = ie.content_hash) then 1 else 0 end)`;
  return db
    .selectFrom('image_exif as ie')
    .select(PHOTO_ROW_COLUMNS)
    .select([
      sql<string | null>`(select l.name from libraries l where l.id = ie.library_id)`.as('library_name'),
      tagIdList.as('tag_id_list'),
      favorite.as('is_favorite'),
    ]);
}

/** Rows read with selectPhotoRows as PhotoItems (no query: the row carries everything). */
export function toPhotoItems(rows: readonly PhotoItemRow[]): PhotoItem[] {
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
      library: row.library_name ?? '',
      media_type: row.media_type === 'video' ? 'video' : 'photo',
      is_raw: row.media_type === 'raw',
      tag_ids: parseIdList(row.tag_id_list),
      favorite: Number(row.is_favorite) === 1,
    }),
  );
}

/** "3,17,5" -> [3, 5, 17]. */
function parseIdList(list: string | null): number[] {
  if (list === null || list === '') return [];
  return list
    .split(',')
    .map(Number)
    .sort((a, b) => a - b);
}

/** Tag ids per content hash (ascending), for the given hashes. */
export async function tagIdsByHash(
  db: Kysely<DB>,
  hashes: readonly string[],
): Promise<Map<string, number[]>> {
  const result = new Map<string, number[]>();
  for (const part of chunk(hashes, IN_LIST_CHUNK_SIZE)) {
    // No ORDER BY: with one, SQLite walks the (tag_id, content_hash) index in tag order and tests
    // every link against the list; without, it looks each hash up in the content_hash index.
    const links = await db
      .selectFrom('tagged_photo')
      .select(['content_hash', 'tag_id'])
      .where('content_hash', 'in', part)
      .execute();
    for (const link of links) {
      const list = result.get(link.content_hash);
      if (list) list.push(link.tag_id);
      else result.set(link.content_hash, [link.tag_id]);
    }
  }
  for (const list of result.values()) list.sort((a, b) => a - b);
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
