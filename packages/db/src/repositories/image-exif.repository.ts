import type { Insertable, Kysely, Selectable } from 'kysely';
import type { DB, ImageExif } from '../schema.generated.ts';
import { chunk, IN_LIST_CHUNK_SIZE, MAX_BOUND_VARIABLES } from './chunks.ts';
import { INPUT_COLUMNS } from './image-exif-columns.ts';
import { JobOutboxRepository, type JobOutboxRow, type OutboxJobInput } from './job-outbox.repository.ts';
import { MaintenanceRepository, type RekeyResult } from './maintenance.repository.ts';
import { MissingFilesRepository } from './missing-files.repository.ts';

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

/** A row whose content hash changed in place, and what became of the derived rows of its old hash. */
export interface FollowedEdit {
  libraryId: number;
  relPath: string;
  oldHash: string;
  newHash: string;
  result: RekeyResult;
}

export interface UpsertFollowingEditsResult {
  written: UpsertedImage[];
  /** One entry per row whose stored content hash was replaced by a different one. */
  edits: FollowedEdit[];
  /** The outbox jobs stored with the rows (to enqueue now, then delete). */
  outbox: JobOutboxRow[];
}

/** A row whose thumbnail is made and whose preview is not (the preview lane's backlog). */
export type PendingPreview = Pick<
  ImageExifRow,
  'id' | 'library_id' | 'rel_path' | 'content_hash' | 'media_type' | 'orientation' | 'duration_sec'
>;

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

  /**
   * The rows of one folder (`dir` as stored: '' for the library root), in one query, by id. Ordered
   * by id, not by name: the (library_id, dir) index holds its entries in id order, so it serves the
   * whole query; ORDER BY rel_path made SQLite walk the (library_id, rel_path) index instead, i.e.
   * the whole library for every folder.
   */
  async listDirectory(libraryId: number, dir: string): Promise<DirectoryEntry[]> {
    return this.db
      .selectFrom('image_exif')
      .select(DIRECTORY_ENTRY_COLUMNS)
      .where('library_id', '=', libraryId)
      .where('dir', '=', dir)
      .orderBy('id')
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
   * 'pending') and a new updated_at; created_at is kept. A row marked missing at the same location
   * comes back first (same id). Returns where each row ended up.
   */
  async upsert(rows: readonly ImageExifInput[]): Promise<UpsertedImage[]> {
    if (rows.length === 0) return [];
    const uniqueRows = uniqueFullRows(rows);
    return this.db.transaction().execute(async (trx) => {
      await new MissingFilesRepository(trx).reviveAt(uniqueRows);
      return writeRows(trx, uniqueRows);
    });
  }

  /**
   * `upsert`, for ingest: in the same transaction, a row whose stored content hash is replaced by a
   * different one (the file was edited in place) takes the derived rows of its old hash along
   * (`MaintenanceRepository.rekeyDerivedRows`: tags, favorites, faces, insights follow unless the
   * old content still lives at another location). A row without a new hash (the file could not be
   * read to the end: I/O error, time limit) over a stored row that has one does not replace it: the
   * stored row keeps its hash, metadata, size and mtime, and only its `ingest_error` says what went
   * wrong. So a flaky mount loses nothing (tags and favorites stay on the hash, which stays in
   * image_exif), and since size and mtime are those of the last good read, the next scan sees the
   * file as changed and tries again. Other rows are written as `upsert` writes them. `jobs` go into
   * the outbox (`job_outbox`) in the same transaction.
   */
  async upsertFollowingEdits(
    rows: readonly ImageExifInput[],
    jobs: readonly OutboxJobInput[] = [],
  ): Promise<UpsertFollowingEditsResult> {
    if (rows.length === 0 && jobs.length === 0) return { written: [], edits: [], outbox: [] };
    const uniqueRows = uniqueFullRows(rows);
    return this.db.transaction().execute(async (trx) => {
      // A file marked missing that is written again comes back with its id (and its old hash, so an
      // edit made while it was away still takes its derived rows along).
      await new MissingFilesRepository(trx).reviveAt(uniqueRows);
      const previous = await storedHashes(trx, uniqueRows);
      // A file that could not be hashed this time (I/O error, time limit) keeps its hashed row.
      const unhashed = uniqueRows.filter((row) => !row.content_hash && previous.has(rowKey(row)));
      const full = uniqueRows.filter((row) => row.content_hash || !previous.has(rowKey(row)));
      const written = [...(await writeRows(trx, full)), ...(await keepHashedRows(trx, unhashed))];
      const maintenance = new MaintenanceRepository(trx);
      const edits: FollowedEdit[] = [];
      for (const row of full) {
        const oldHash = previous.get(rowKey(row));
        const newHash = row.content_hash;
        if (!oldHash || !newHash || oldHash === newHash) continue;
        const result = await maintenance.rekeyDerivedRows(row.library_id, row.rel_path, oldHash, newHash);
        edits.push({ libraryId: row.library_id, relPath: row.rel_path, oldHash, newHash, result });
      }
      // The jobs about these rows commit with them (the transactional outbox): none is lost to a
      // process that dies before it enqueues them.
      const outbox = await new JobOutboxRepository(trx).add(jobs);
      return { written, edits, outbox };
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

  /**
   * The row of a location, or the row of a file marked missing there (with its `missing_since`;
   * null for a present file). For requests that name a path: a missing file is shown with a flag.
   */
  async findByPathOrMissing(
    libraryId: number,
    relPath: string,
  ): Promise<(ImageExifRow & { missing_since: string | null }) | undefined> {
    const present = await this.findByPath(libraryId, relPath);
    if (present) return { ...present, missing_since: null };
    return new MissingFilesRepository(this.db).findByPath(libraryId, relPath);
  }

  /**
   * What serving a thumbnail or preview needs of a file's row (the api's fast path), or undefined.
   * A file marked missing keeps showing its thumbnails (they are content-addressed and still there),
   * so its row in image_exif_missing answers too.
   */
  async findDerivativeState(
    libraryId: number,
    relPath: string,
  ): Promise<
    Pick<ImageExifRow, 'content_hash' | 'media_type' | 'thumb_status' | 'preview_status'> | undefined
  > {
    const columns = ['content_hash', 'media_type', 'thumb_status', 'preview_status'] as const;
    const present = await this.db
      .selectFrom('image_exif')
      .select(columns)
      .where('library_id', '=', libraryId)
      .where('rel_path', '=', relPath)
      .executeTakeFirst();
    if (present) return present;
    return this.db
      .selectFrom('image_exif_missing')
      .select(columns)
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

  /**
   * Up to `limit` rows, of any library, with id > afterId whose thumbnail is ready and whose preview
   * is still pending, by id: the preview backlog, worked off a page at a time behind a cursor. Walks
   * the primary key (no index on the statuses), so a sweep of the whole table costs one table scan.
   */
  async pendingPreviewsPage(afterId: number, limit: number): Promise<PendingPreview[]> {
    return this.db
      .selectFrom('image_exif')
      .select(['id', 'library_id', 'rel_path', 'content_hash', 'media_type', 'orientation', 'duration_sec'])
      .where('id', '>', afterId)
      .where('thumb_status', '=', 'ready')
      .where('preview_status', '=', 'pending')
      .where('content_hash', 'is not', null)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** Which of `hashes` some row other than `excludeIds` has (the content lives on elsewhere). */
  async hashesPresentElsewhere(
    hashes: readonly string[],
    excludeIds: readonly number[],
  ): Promise<Set<string>> {
    const found = new Set<string>();
    const excluded = new Set(excludeIds);
    for (const part of chunk([...new Set(hashes)], IN_LIST_CHUNK_SIZE)) {
      const rows = await this.db
        .selectFrom('image_exif')
        .select(['id', 'content_hash'])
        .where('content_hash', 'in', part)
        .execute();
      for (const row of rows) if (row.content_hash && !excluded.has(row.id)) found.add(row.content_hash);
    }
    return found;
  }

  /** Up to `limit` rows of a library with id > afterId, by id (the missing-file scan's cursor). */
  async pageForMissingScan(
    libraryId: number,
    afterId: number,
    limit: number,
  ): Promise<Pick<ImageExifRow, 'id' | 'rel_path' | 'dir' | 'content_hash'>[]> {
    return this.db
      .selectFrom('image_exif')
      .select(['id', 'rel_path', 'dir', 'content_hash'])
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

function rowKey(row: { library_id: number; rel_path: string }): string {
  return `${row.library_id}\u0000${row.rel_path}`;
}

/** Full rows, the last one winning for a (library_id, rel_path) given twice. */
function uniqueFullRows(rows: readonly ImageExifInput[]): NewImageExif[] {
  const now = new Date().toISOString();
  const byKey = new Map<string, NewImageExif>();
  for (const row of rows) byKey.set(rowKey(row), toFullRow(row, now));
  return [...byKey.values()];
}

/** The multi-row INSERT ... ON CONFLICT DO UPDATE of `upsert`, in statements of bounded size. */
async function writeRows(trx: Kysely<DB>, rows: readonly NewImageExif[]): Promise<UpsertedImage[]> {
  const written: UpsertedImage[] = [];
  for (const part of chunk(rows, UPSERT_ROWS_PER_STATEMENT)) {
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
}

/** For rows that could not be hashed over a hashed row: record the error, keep everything else. */
async function keepHashedRows(trx: Kysely<DB>, rows: readonly NewImageExif[]): Promise<UpsertedImage[]> {
  const kept: UpsertedImage[] = [];
  for (const row of rows) {
    const result = await trx
      .updateTable('image_exif')
      .set({ ingest_error: row.ingest_error, updated_at: row.updated_at })
      .where('library_id', '=', row.library_id)
      .where('rel_path', '=', row.rel_path)
      .returning(['id', 'library_id', 'rel_path'])
      .executeTakeFirst();
    if (result) kept.push(result);
  }
  return kept;
}

/** The stored content hashes of these locations (absent: no row, or no hash), keyed by `rowKey`. */
async function storedHashes(trx: Kysely<DB>, rows: readonly NewImageExif[]): Promise<Map<string, string>> {
  const pathsByLibrary = new Map<number, string[]>();
  for (const row of rows) {
    const paths = pathsByLibrary.get(row.library_id) ?? [];
    paths.push(row.rel_path);
    pathsByLibrary.set(row.library_id, paths);
  }
  const hashes = new Map<string, string>();
  for (const [libraryId, paths] of pathsByLibrary) {
    for (const part of chunk(paths, IN_LIST_CHUNK_SIZE)) {
      const found = await trx
        .selectFrom('image_exif')
        .select(['library_id', 'rel_path', 'content_hash'])
        .where('library_id', '=', libraryId)
        .where('rel_path', 'in', part)
        .where('content_hash', 'is not', null)
        .execute();
      for (const row of found) if (row.content_hash) hashes.set(rowKey(row), row.content_hash);
    }
  }
  return hashes;
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
