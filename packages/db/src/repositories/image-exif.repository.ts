import type { Insertable, Kysely, Selectable } from 'kysely';
import type { DB, ImageExif } from '../schema.generated.ts';
import { chunk, IN_LIST_CHUNK_SIZE, MAX_BOUND_VARIABLES } from './chunks.ts';

export type ImageExifRow = Selectable<ImageExif>;
export type NewImageExif = Insertable<ImageExif>;
/** What `upsert` takes: every column but `id` and the timestamps, which the repository writes. */
export type ImageExifInput = Omit<NewImageExif, 'id' | 'created_at' | 'updated_at'>;
export type ThumbStatus = 'pending' | 'ready' | 'unsupported' | 'failed';

/** One row of a directory listing, enough to tell new, changed and vanished files apart. */
export type DirectoryEntry = Pick<
  ImageExifRow,
  | 'id'
  | 'rel_path'
  | 'file_name'
  | 'size_bytes'
  | 'mtime_ms'
  | 'content_hash'
  | 'thumb_status'
  | 'preview_status'
>;

/** Where an upserted row ended up. */
export type UpsertedImage = Pick<ImageExifRow, 'id' | 'library_id' | 'rel_path'>;

/** Every column `upsert` writes, in table order; the check below keeps it in step with the schema. */
const INPUT_COLUMNS = [
  'library_id',
  'rel_path',
  'dir',
  'file_name',
  'media_type',
  'mime_type',
  'size_bytes',
  'mtime_ms',
  'content_hash',
  'camera_make',
  'camera_model',
  'lens_model',
  'width',
  'height',
  'orientation',
  'gps_lat',
  'gps_lon',
  'gps_alt',
  'focal_length',
  'aperture',
  'exposure_time',
  'iso',
  'date_taken',
  'date_taken_offset',
  'date_taken_source',
  'duration_sec',
  'video_codec',
  'audio_codec',
  'thumb_status',
  'preview_status',
  'ingest_error',
] as const satisfies readonly (keyof ImageExifInput)[];
type ColumnsNotWritten = Exclude<keyof ImageExifInput, (typeof INPUT_COLUMNS)[number]>;
const everyInputColumnIsWritten: [ColumnsNotWritten] extends [never] ? true : ColumnsNotWritten = true;
void everyInputColumnIsWritten;

/** Columns replaced when a row for the same (library_id, rel_path) exists; created_at is kept. */
const UPDATE_COLUMNS = [
  ...INPUT_COLUMNS.filter((c) => c !== 'library_id' && c !== 'rel_path'),
  'updated_at',
] as const;

const ROW_COLUMN_COUNT = INPUT_COLUMNS.length + 2;
const UPSERT_ROWS_PER_STATEMENT = Math.floor(MAX_BOUND_VARIABLES / ROW_COLUMN_COUNT);
const DIRECTORY_ENTRY_COLUMNS = [
  'id',
  'rel_path',
  'file_name',
  'size_bytes',
  'mtime_ms',
  'content_hash',
  'thumb_status',
  'preview_status',
] as const;

export class ImageExifRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The rows of one folder (`dir` as stored: '' for the library root), in one query. */
  async listDirectory(libraryId: number, dir: string): Promise<DirectoryEntry[]> {
    return this.db
      .selectFrom('image_exif')
      .select(DIRECTORY_ENTRY_COLUMNS)
      .where('library_id', '=', libraryId)
      .where('dir', '=', dir)
      .orderBy('rel_path')
      .execute();
  }

  /** One page of the distinct `dir` values of a library, sorted, strictly after `afterDir` when given. */
  async knownDirsPage(libraryId: number, afterDir: string | undefined, limit: number): Promise<string[]> {
    let query = this.db
      .selectFrom('image_exif')
      .select('dir')
      .distinct()
      .where('library_id', '=', libraryId)
      .orderBy('dir')
      .limit(limit);
    if (afterDir !== undefined) query = query.where('dir', '>', afterDir);
    const rows = await query.execute();
    return rows.map((row) => row.dir);
  }

  /** Every distinct `dir` of a library, sorted, fetched a page at a time (for finding removed folders). */
  async *knownDirs(libraryId: number, pageSize = 1000): AsyncGenerator<string> {
    let after: string | undefined;
    for (;;) {
      const page = await this.knownDirsPage(libraryId, after, pageSize);
      yield* page;
      if (page.length < pageSize) return;
      after = page[page.length - 1];
    }
  }

  /**
   * Insert or update rows keyed by (library_id, rel_path), all in one transaction. An existing row gets
   * every column replaced (missing nullable fields become null, missing thumb/preview status becomes
   * 'pending') and a new updated_at; created_at is kept. Returns where each row ended up.
   */
  async upsert(rows: readonly ImageExifInput[]): Promise<UpsertedImage[]> {
    if (rows.length === 0) return [];
    const now = new Date().toISOString();
    const byKey = new Map<string, NewImageExif>();
    for (const row of rows) byKey.set(`${row.library_id}\u0000${row.rel_path}`, toFullRow(row, now));
    const uniqueRows = [...byKey.values()];

    return this.db.transaction().execute(async (trx) => {
      const written: UpsertedImage[] = [];
      for (const part of chunk(uniqueRows, UPSERT_ROWS_PER_STATEMENT)) {
        const result = await trx
          .insertInto('image_exif')
          .values(part)
          .onConflict((oc) =>
            oc.columns(['library_id', 'rel_path']).doUpdateSet((eb) => {
              const set: Record<string, unknown> = {};
              for (const column of UPDATE_COLUMNS) set[column] = eb.ref(`excluded.${column}`);
              return set as Partial<NewImageExif>;
            }),
          )
          .returning(['id', 'library_id', 'rel_path'])
          .execute();
        written.push(...result);
      }
      return written;
    });
  }

  async findByPath(libraryId: number, relPath: string): Promise<ImageExifRow | undefined> {
    return this.db
      .selectFrom('image_exif')
      .selectAll()
      .where('library_id', '=', libraryId)
      .where('rel_path', '=', relPath)
      .executeTakeFirst();
  }

  /** Every location of a content hash (duplicates, other libraries), by id. */
  async findByHash(contentHash: string): Promise<ImageExifRow[]> {
    return this.db
      .selectFrom('image_exif')
      .selectAll()
      .where('content_hash', '=', contentHash)
      .orderBy('id')
      .execute();
  }

  /** Set thumb_status (and preview_status when given) of one row. Returns false for an unknown id. */
  async setThumbStatus(id: number, thumbStatus: ThumbStatus, previewStatus?: ThumbStatus): Promise<boolean> {
    const result = await this.db
      .updateTable('image_exif')
      .set({
        thumb_status: thumbStatus,
        ...(previewStatus === undefined ? {} : { preview_status: previewStatus }),
        updated_at: new Date().toISOString(),
      })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** The same for every row with this content hash (derived files are keyed by hash). Returns rows updated. */
  async setThumbStatusByHash(
    contentHash: string,
    thumbStatus: ThumbStatus,
    previewStatus?: ThumbStatus,
  ): Promise<number> {
    const result = await this.db
      .updateTable('image_exif')
      .set({
        thumb_status: thumbStatus,
        ...(previewStatus === undefined ? {} : { preview_status: previewStatus }),
        updated_at: new Date().toISOString(),
      })
      .where('content_hash', '=', contentHash)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Up to `limit` rows of a library with id > afterId, by id (the missing-file scan's cursor). */
  async pageForMissingScan(
    libraryId: number,
    afterId: number,
    limit: number,
  ): Promise<Pick<ImageExifRow, 'id' | 'rel_path'>[]> {
    return this.db
      .selectFrom('image_exif')
      .select(['id', 'rel_path'])
      .where('library_id', '=', libraryId)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** Delete rows by id, in chunks, in one transaction. Returns how many were deleted. */
  async deleteByIds(ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db.transaction().execute(async (trx) => {
      let deleted = 0;
      for (const part of chunk(ids, IN_LIST_CHUNK_SIZE)) {
        const result = await trx.deleteFrom('image_exif').where('id', 'in', part).executeTakeFirst();
        deleted += Number(result.numDeletedRows);
      }
      return deleted;
    });
  }

  async countByLibrary(libraryId: number): Promise<number> {
    const row = await this.db
      .selectFrom('image_exif')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('library_id', '=', libraryId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}

/**
 * Every column present, so a multi-row INSERT never needs DEFAULT (SQLite has none in VALUES) and an
 * update replaces all metadata: absent nullable fields become null, absent statuses 'pending'.
 */
function toFullRow(row: ImageExifInput, now: string): NewImageExif {
  const full: Record<string, unknown> = {};
  for (const column of INPUT_COLUMNS) full[column] = row[column] ?? null;
  full.thumb_status = row.thumb_status ?? 'pending';
  full.preview_status = row.preview_status ?? 'pending';
  full.created_at = now;
  full.updated_at = now;
  return full as NewImageExif;
}
