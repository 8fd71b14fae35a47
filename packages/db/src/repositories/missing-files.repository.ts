import { type Kysely, type Selectable, sql } from 'kysely';
import type { DB, ImageExifMissing } from '../schema.generated.ts';
import { chunk, IN_LIST_CHUNK_SIZE } from './chunks.ts';
import { IMAGE_EXIF_COLUMNS } from './image-exif-columns.ts';

export type MissingFileRow = Selectable<ImageExifMissing>;

/** What the missing-file scan and the ingest scan need of a missing row. */
export type MissingFileEntry = Pick<
  MissingFileRow,
  'id' | 'library_id' | 'rel_path' | 'dir' | 'file_name' | 'content_hash' | 'missing_since'
>;

const ENTRY_COLUMNS = [
  'id',
  'library_id',
  'rel_path',
  'dir',
  'file_name',
  'content_hash',
  'missing_since',
] as const;

/** Every image_exif column, for `insert ... select` between the two tables. */
const COLUMNS = sql.join(IMAGE_EXIF_COLUMNS.map((column) => sql.ref(column)));

/**
 * Rows of files the missing-file scan found gone (`image_exif_missing`, migration 0005): the whole
 * image_exif row with its id, plus `missing_since`. Marking moves a row here, reviving moves it
 * back; both keep the id, so cursors and shuffle orders do not change. Rows here are in no listing,
 * but their content hashes count as referenced for the orphan GC (MaintenanceRepository), so the
 * tags, favorites, faces and insights of a file that comes back are all still there.
 */
export class MissingFilesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Mark rows missing: move them from image_exif here with `missing_since`, in one transaction.
   * Only rows not written after `notWrittenAfter` (ISO-8601) move: a row that ingest or an upload
   * rewrote since the caller stat'ed its file is about a file that exists. `confirmedAt`: an admin
   * confirmed these gone (they are marked under a confirmed suspect episode). Returns the ids moved.
   */
  async markMissing(
    ids: readonly number[],
    missingSince: string,
    notWrittenAfter: string,
    confirmedAt: string | null = null,
  ): Promise<number[]> {
    if (ids.length === 0) return [];
    const run = async (trx: Kysely<DB>) => {
      const moved: number[] = [];
      for (const part of chunk(ids, IN_LIST_CHUNK_SIZE)) {
        await sql`insert into image_exif_missing (${COLUMNS}, missing_since, confirmed_at)
          select ${COLUMNS}, cast(${missingSince} as text), cast(${confirmedAt} as text) from image_exif ie
          where ie.id in (${sql.join(part)}) and ie.updated_at <= ${notWrittenAfter}
            and not exists (select 1 from image_exif_missing m
              where m.id = ie.id or (m.library_id = ie.library_id and m.rel_path = ie.rel_path))`.execute(
          trx,
        );
        // Ids are unique across both tables, so a row in both was moved just now.
        const rows = await trx
          .selectFrom('image_exif as ie')
          .select('ie.id')
          .where('ie.id', 'in', part)
          .where(({ exists, selectFrom }) =>
            exists(selectFrom('image_exif_missing as m').select('m.id').whereRef('m.id', '=', 'ie.id')),
          )
          .execute();
        const here = rows.map((row) => row.id);
        if (here.length > 0) await trx.deleteFrom('image_exif').where('id', 'in', here).execute();
        moved.push(...here);
      }
      return moved;
    };
    return this.db.isTransaction ? run(this.db) : this.db.transaction().execute(run);
  }

  /**
   * Revive rows: move them back to image_exif with their ids, in one transaction. A row whose
   * location has a present row again (ingest wrote one) is simply dropped: the present row wins.
   * Returns how many rows went back.
   */
  async revive(ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return 0;
    const run = async (trx: Kysely<DB>) => {
      let revived = 0;
      for (const part of chunk(ids, IN_LIST_CHUNK_SIZE)) {
        const result = await sql`insert into image_exif (${COLUMNS})
          select ${COLUMNS} from image_exif_missing m
          where m.id in (${sql.join(part)})
            and not exists (select 1 from image_exif ie
              where ie.id = m.id or (ie.library_id = m.library_id and ie.rel_path = m.rel_path))`.execute(
          trx,
        );
        revived += Number(result.numAffectedRows ?? 0);
        await trx.deleteFrom('image_exif_missing').where('id', 'in', part).execute();
      }
      return revived;
    };
    return this.db.isTransaction ? run(this.db) : this.db.transaction().execute(run);
  }

  /**
   * Revive whatever missing rows sit at these locations (ingest calls this in its write transaction
   * before it writes rows there, so a file that comes back keeps its row id and its edit history).
   * Returns how many rows went back.
   */
  async reviveAt(locations: readonly { library_id: number; rel_path: string }[]): Promise<number> {
    const pathsByLibrary = new Map<number, string[]>();
    for (const { library_id, rel_path } of locations) {
      const paths = pathsByLibrary.get(library_id) ?? [];
      paths.push(rel_path);
      pathsByLibrary.set(library_id, paths);
    }
    const ids: number[] = [];
    for (const [libraryId, paths] of pathsByLibrary) {
      for (const part of chunk(paths, IN_LIST_CHUNK_SIZE)) {
        const rows = await this.db
          .selectFrom('image_exif_missing')
          .select('id')
          .where('library_id', '=', libraryId)
          .where('rel_path', 'in', part)
          .execute();
        ids.push(...rows.map((row) => row.id));
      }
    }
    return this.revive(ids);
  }

  /** The missing rows of one folder of a library (the ingest scan revives those it lists again). */
  async listDirectory(libraryId: number, dir: string): Promise<MissingFileEntry[]> {
    return this.db
      .selectFrom('image_exif_missing')
      .select(ENTRY_COLUMNS)
      .where('library_id', '=', libraryId)
      .where('dir', '=', dir)
      .orderBy('id')
      .execute();
  }

  /**
   * The folders of a library's missing rows whose content is nowhere else (no present row has their
   * hash, or they have none) and that no admin confirmed gone: files that vanished, not moved.
   * Sorted, distinct.
   */
  async dirsOfVanishedContent(libraryId: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('image_exif_missing as m')
      .select('m.dir')
      .distinct()
      .where('m.library_id', '=', libraryId)
      .where('m.confirmed_at', 'is', null)
      .where(({ or, not, exists, selectFrom, eb }) =>
        or([
          eb('m.content_hash', 'is', null),
          not(
            exists(
              selectFrom('image_exif as ie')
                .select('ie.id')
                .whereRef('ie.content_hash', '=', 'm.content_hash'),
            ),
          ),
        ]),
      )
      .orderBy('m.dir')
      .execute();
    return rows.map((row) => row.dir);
  }

  /** Every folder of a library that holds missing rows, sorted (few: missing rows are the exception). */
  async dirs(libraryId: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('image_exif_missing')
      .select('dir')
      .distinct()
      .where('library_id', '=', libraryId)
      .orderBy('dir')
      .execute();
    return rows.map((row) => row.dir);
  }

  /** Up to `limit` missing rows of a library with id > afterId, by id. */
  async page(libraryId: number, afterId: number, limit: number): Promise<MissingFileEntry[]> {
    return this.db
      .selectFrom('image_exif_missing')
      .select(ENTRY_COLUMNS)
      .where('library_id', '=', libraryId)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  async findByPath(libraryId: number, relPath: string): Promise<MissingFileRow | undefined> {
    return this.db
      .selectFrom('image_exif_missing')
      .selectAll()
      .where('library_id', '=', libraryId)
      .where('rel_path', '=', relPath)
      .executeTakeFirst();
  }

  /** Delete missing rows for good (their grace period is over). Returns how many were deleted. */
  async deleteByIds(ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db.transaction().execute(async (trx) => {
      let deleted = 0;
      for (const part of chunk(ids, IN_LIST_CHUNK_SIZE)) {
        const result = await trx.deleteFrom('image_exif_missing').where('id', 'in', part).executeTakeFirst();
        deleted += Number(result.numDeletedRows);
      }
      return deleted;
    });
  }

  /** Missing rows of one library. */
  async count(libraryId: number): Promise<number> {
    const row = await this.db
      .selectFrom('image_exif_missing')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('library_id', '=', libraryId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Missing rows per library (libraries without any are absent). */
  async countByLibrary(): Promise<Map<number, number>> {
    const rows = await this.db
      .selectFrom('image_exif_missing')
      .select((eb) => ['library_id', eb.fn.countAll<number>().as('count')])
      .groupBy('library_id')
      .execute();
    return new Map(rows.map((row) => [row.library_id, Number(row.count)]));
  }
}
