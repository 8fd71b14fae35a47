import type { Kysely } from 'kysely';
import type { DB } from '../schema.generated.ts';
import { chunk, IN_LIST_CHUNK_SIZE } from './chunks.ts';

/** The hash-keyed tables whose rows point at a location `(library_id, rel_path)` of their content. */
export const DERIVED_TABLES = ['tagged_photo', 'favorites', 'face_detections', 'photo_insights'] as const;
export type DerivedTable = (typeof DERIVED_TABLES)[number];
export type DerivedCounts = Record<DerivedTable, number>;

export interface BackRefRefreshOptions {
  /** Rows repointed per UPDATE statement (default 1000). */
  batchSize?: number;
  /** Statements per table per call; the rest waits for the next call (default 100). */
  maxBatchesPerTable?: number;
}

const DEFAULT_BACKREF_BATCH = 1000;
const DEFAULT_BACKREF_MAX_BATCHES = 100;

export function emptyDerivedCounts(): DerivedCounts {
  return { tagged_photo: 0, favorites: 0, face_detections: 0, photo_insights: 0 };
}

/**
 * The database side of the maintenance pipeline (SPEC 3): back-ref refresh and orphan GC. Every
 * statement is set-based (no query per row) and guarded by EXISTS / NOT EXISTS on `image_exif`,
 * so running one twice, or racing a scan, never does more than the guard allows.
 */
export class MaintenanceRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Back-ref refresh (SPEC 3.2): a derived row whose location no longer holds its content (no
   * `image_exif` row at `(library_id, rel_path)` with that `content_hash`) while some other
   * location does, is repointed at the surviving location with the lowest `image_exif.id`. Only
   * `library_id` and `rel_path` change, so UNIQUE(tag_id, content_hash) and
   * UNIQUE(user_id, content_hash) hold. Rows whose hash is gone everywhere are left alone (the
   * GC decides about them). Idempotent: a repointed row points at a row with its hash.
   * Returns rows repointed per table.
   */
  async refreshBackRefs(opts: BackRefRefreshOptions = {}): Promise<DerivedCounts> {
    const batchSize = opts.batchSize ?? DEFAULT_BACKREF_BATCH;
    const maxBatches = opts.maxBatchesPerTable ?? DEFAULT_BACKREF_MAX_BATCHES;
    const counts = emptyDerivedCounts();
    for (const table of DERIVED_TABLES) {
      for (let batch = 0; batch < maxBatches; batch++) {
        const repointed = await this.repointBatch(table, batchSize);
        counts[table] += repointed;
        if (repointed < batchSize) break;
      }
    }
    return counts;
  }

  /**
   * Content hashes that derived rows reference but no `image_exif` row has, sorted, at most
   * `limitPerTable` from each table (so at most 4x that in all). The lowest hashes come first, so a
   * backlog bigger than the limit is worked off over several ticks.
   */
  async findOrphanHashes(limitPerTable: number): Promise<string[]> {
    const found = new Set<string>();
    for (const table of DERIVED_TABLES) {
      const rows = await this.db
        .selectFrom(`${table} as d` as 'tagged_photo as d')
        .select('d.content_hash')
        .distinct()
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('image_exif as ie')
                .select('ie.id')
                .whereRef('ie.content_hash', '=', 'd.content_hash'),
            ),
          ),
        )
        .orderBy('d.content_hash')
        .limit(limitPerTable)
        .execute();
      for (const row of rows) found.add(row.content_hash);
    }
    return [...found].sort();
  }

  /** Derived rows per table that reference these hashes (what a GC delete would remove). */
  async countRowsByHashes(hashes: readonly string[]): Promise<DerivedCounts> {
    const counts = emptyDerivedCounts();
    for (const table of DERIVED_TABLES) {
      for (const part of chunk(hashes, IN_LIST_CHUNK_SIZE)) {
        const row = await this.db
          .selectFrom(table as 'tagged_photo')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .where('content_hash', 'in', part)
          .executeTakeFirstOrThrow();
        counts[table] += Number(row.count);
      }
    }
    return counts;
  }

  /**
   * Delete the derived rows of these hashes, in one transaction, but only rows whose hash still
   * has no `image_exif` row (a hash that came back since it was found orphaned is kept). A person
   * whose cover face was deleted loses its cover. Returns rows deleted per table.
   */
  async deleteOrphanRows(hashes: readonly string[]): Promise<DerivedCounts> {
    const counts = emptyDerivedCounts();
    if (hashes.length === 0) return counts;
    return this.db.transaction().execute(async (trx) => {
      for (const table of DERIVED_TABLES) {
        for (const part of chunk(hashes, IN_LIST_CHUNK_SIZE)) {
          const result = await trx
            .deleteFrom(table as 'tagged_photo')
            .where('content_hash', 'in', part)
            .where(({ not, exists, selectFrom }) =>
              not(
                exists(
                  selectFrom('image_exif as ie')
                    .select('ie.id')
                    .whereRef('ie.content_hash', '=', `${table}.content_hash` as 'tagged_photo.content_hash'),
                ),
              ),
            )
            .executeTakeFirst();
          counts[table] += Number(result.numDeletedRows);
        }
      }
      if (counts.face_detections > 0) {
        await trx
          .updateTable('persons')
          .set({ cover_face_id: null })
          .where('cover_face_id', 'is not', null)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('face_detections as f')
                  .select('f.id')
                  .whereRef('f.id', '=', 'persons.cover_face_id'),
              ),
            ),
          )
          .execute();
      }
      return counts;
    });
  }

  /**
   * One UPDATE: up to `limit` rows of `table` (lowest ids first) that need repointing get the
   * location of the lowest-id `image_exif` row with their hash. The four tables share the columns
   * used here; the casts only tell Kysely so.
   */
  private async repointBatch(table: DerivedTable, limit: number): Promise<number> {
    const t = table as 'tagged_photo';
    const hashRef = `${table}.content_hash` as 'tagged_photo.content_hash';
    const result = await this.db
      .updateTable(t)
      .set((eb) => ({
        library_id: eb
          .selectFrom('image_exif as ie')
          .select('ie.library_id')
          .whereRef('ie.content_hash', '=', hashRef)
          .orderBy('ie.id')
          .limit(1),
        rel_path: eb
          .selectFrom('image_exif as ie')
          .select('ie.rel_path')
          .whereRef('ie.content_hash', '=', hashRef)
          .orderBy('ie.id')
          .limit(1),
      }))
      .where('id', 'in', (eb) =>
        eb
          .selectFrom(`${table} as d` as 'tagged_photo as d')
          .select('d.id')
          .where(({ and, not, exists, selectFrom }) =>
            and([
              not(
                exists(
                  selectFrom('image_exif as here')
                    .select('here.id')
                    .whereRef('here.library_id', '=', 'd.library_id')
                    .whereRef('here.rel_path', '=', 'd.rel_path')
                    .whereRef('here.content_hash', '=', 'd.content_hash'),
                ),
              ),
              exists(
                selectFrom('image_exif as there')
                  .select('there.id')
                  .whereRef('there.content_hash', '=', 'd.content_hash'),
              ),
            ]),
          )
          .orderBy('d.id')
          .limit(limit),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
