import { type Kysely, sql } from 'kysely';
import type { DB } from '../schema.generated.ts';
import { chunk, IN_LIST_CHUNK_SIZE } from './chunks.ts';
import { touchFaceCodeBlocks } from './face-code-index.ts';

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

/** What `rekeyDerivedRows` did. */
export interface RekeyResult {
  /**
   * Another row still has the old hash (a copy of the file elsewhere, present or marked missing):
   * the derived rows were copied to the new hash, not moved, so both keep them.
   */
  oldHashLivesOn: boolean;
  /** Rows moved to the new hash (and to the edited file's location), per table. */
  rekeyed: DerivedCounts;
  /**
   * Rows deleted because the new hash already had their like: the same tag, the same user's
   * favorite, or (faces) its own detections, which win over auto faces found on the old content.
   */
  dropped: DerivedCounts;
}

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
   * Content hashes that derived rows reference but no `image_exif` row has (nor a missing row in
   * `image_exif_missing`: a file that may come back keeps its derived rows), sorted, at most
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
        .where(({ and, not, exists, selectFrom }) =>
          and([
            not(
              exists(
                selectFrom('image_exif as ie')
                  .select('ie.id')
                  .whereRef('ie.content_hash', '=', 'd.content_hash'),
              ),
            ),
            // A file marked missing still references its content (it may come back).
            not(
              exists(
                selectFrom('image_exif_missing as m')
                  .select('m.id')
                  .whereRef('m.content_hash', '=', 'd.content_hash'),
              ),
            ),
          ]),
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
   * has no `image_exif` row and no missing row (a hash that came back since it was found orphaned,
   * or whose file was marked missing meanwhile, is kept). A person
   * whose cover face was deleted loses its cover. Returns rows deleted per table.
   */
  async deleteOrphanRows(hashes: readonly string[]): Promise<DerivedCounts> {
    const counts = emptyDerivedCounts();
    if (hashes.length === 0) return counts;
    return this.db.transaction().execute(async (trx) => {
      for (const table of DERIVED_TABLES) {
        for (const part of chunk(hashes, IN_LIST_CHUNK_SIZE)) {
          if (table === 'face_detections') {
            // The face search's code blocks of these faces are stale now (FaceCodeIndex).
            const doomed = await trx
              .selectFrom('face_detections')
              .select('id')
              .where('content_hash', 'in', part)
              .execute();
            await touchFaceCodeBlocks(
              trx,
              doomed.map((r) => r.id),
            );
          }
          const result = await trx
            .deleteFrom(table as 'tagged_photo')
            .where('content_hash', 'in', part)
            .where(({ and, not, exists, selectFrom }) =>
              and([
                not(
                  exists(
                    selectFrom('image_exif as ie')
                      .select('ie.id')
                      .whereRef(
                        'ie.content_hash',
                        '=',
                        `${table}.content_hash` as 'tagged_photo.content_hash',
                      ),
                  ),
                ),
                not(
                  exists(
                    selectFrom('image_exif_missing as m')
                      .select('m.id')
                      .whereRef(
                        'm.content_hash',
                        '=',
                        `${table}.content_hash` as 'tagged_photo.content_hash',
                      ),
                  ),
                ),
              ]),
            )
            .executeTakeFirst();
          counts[table] += Number(result.numDeletedRows);
        }
      }
      if (counts.face_detections > 0) await clearMissingCoverFaces(trx);
      return counts;
    });
  }

  /**
   * A file at `(libraryId, relPath)` was edited in place: its content hash went from `oldHash` to
   * `newHash` (the caller has already stored the new hash, in the same transaction when it is one).
   * Every derived row of `oldHash`, wherever it points, moves to `newHash` at this location; when
   * another row (present or marked missing) still has `oldHash`, the old content lives on there and
   * the rows are copied instead (copyDerivedRows), so both keep them. Moving:
   * - tags and favorites follow; one the new hash already has (UNIQUE(tag_id, content_hash),
   *   UNIQUE(user_id, content_hash)) is kept and the old duplicate deleted;
   * - insights follow; when the new hash already has a current insight, the moved ones become
   *   history (is_current = 0);
   * - faces follow, boxes and person bindings as they were (most in-place rewrites only change
   *   metadata); when the new hash already has detections of its own, those win: the old auto
   *   faces are deleted and only manual ones follow. A person whose cover face went loses its cover.
   * Runs in the caller's transaction, or in one of its own. Returns what moved and what was dropped.
   */
  async rekeyDerivedRows(
    libraryId: number,
    relPath: string,
    oldHash: string,
    newHash: string,
  ): Promise<RekeyResult> {
    const run = (db: Kysely<DB>) => rekey(db, libraryId, relPath, oldHash, newHash);
    return this.db.isTransaction ? run(this.db) : this.db.transaction().execute(run);
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

async function rekey(
  db: Kysely<DB>,
  libraryId: number,
  relPath: string,
  oldHash: string,
  newHash: string,
): Promise<RekeyResult> {
  const result: RekeyResult = {
    oldHashLivesOn: false,
    rekeyed: emptyDerivedCounts(),
    dropped: emptyDerivedCounts(),
  };
  if (oldHash === newHash) return result;
  const moveTo = { content_hash: newHash, library_id: libraryId, rel_path: relPath };
  const elsewhere =
    (await db
      .selectFrom('image_exif')
      .select('id')
      .where('content_hash', '=', oldHash)
      .limit(1)
      .executeTakeFirst()) ??
    (await db
      .selectFrom('image_exif_missing')
      .select('id')
      .where('content_hash', '=', oldHash)
      .limit(1)
      .executeTakeFirst());
  if (elsewhere) {
    // The old content lives on elsewhere (a copy, the old location of a file moved and then
    // edited while its library was away, a file marked missing that may come back): both keep
    // the derived rows. Leaving them with the old content only would lose them for the edited
    // file once that other location goes.
    result.rekeyed = await copyDerivedRows(db, oldHash, moveTo);
    return { ...result, oldHashLivesOn: true };
  }

  for (const [table, unique] of [
    ['tagged_photo', 'tag_id'],
    ['favorites', 'user_id'],
  ] as const) {
    const moved = await moveKeepingUnique(db, table, unique, oldHash, moveTo);
    result.dropped[table] = moved.dropped;
    result.rekeyed[table] = moved.rekeyed;
  }

  const currentInsight = await db
    .selectFrom('photo_insights')
    .select('id')
    .where('content_hash', '=', newHash)
    .where('is_current', '=', 1)
    .limit(1)
    .executeTakeFirst();
  const insights = await db
    .updateTable('photo_insights')
    .set(currentInsight ? { ...moveTo, is_current: 0 } : moveTo)
    .where('content_hash', '=', oldHash)
    .executeTakeFirst();
  result.rekeyed.photo_insights = Number(insights.numUpdatedRows);

  const ownFaces = await db
    .selectFrom('face_detections')
    .select('id')
    .where('content_hash', '=', newHash)
    .limit(1)
    .executeTakeFirst();
  if (ownFaces) {
    const autoFaces = await db
      .deleteFrom('face_detections')
      .where('content_hash', '=', oldHash)
      .where('source', '<>', 'manual')
      .returning('id')
      .execute();
    await touchFaceCodeBlocks(
      db,
      autoFaces.map((r) => r.id),
    );
    result.dropped.face_detections = autoFaces.length;
    if (result.dropped.face_detections > 0) await clearMissingCoverFaces(db);
  }
  const faces = await db
    .updateTable('face_detections')
    .set(moveTo)
    .where('content_hash', '=', oldHash)
    .executeTakeFirst();
  result.rekeyed.face_detections = Number(faces.numUpdatedRows);
  return result;
}

/**
 * Move the rows of `table` (tags or favorites) from `oldHash` to `moveTo`. A row whose `unique`
 * value (tag, user) the new hash already has is dropped instead, as (unique, content_hash) is unique.
 */
async function moveKeepingUnique(
  db: Kysely<DB>,
  table: 'tagged_photo' | 'favorites',
  unique: 'tag_id' | 'user_id',
  oldHash: string,
  moveTo: { content_hash: string; library_id: number; rel_path: string },
): Promise<{ dropped: number; rekeyed: number }> {
  const dropped = await sql`delete from ${sql.table(table)}
    where content_hash = ${oldHash}
    and ${sql.ref(unique)} in (
      select ${sql.ref(`n.${unique}`)} from ${sql.table(table)} as n where n.content_hash = ${moveTo.content_hash})`.execute(
    db,
  );
  const rekeyed = await sql`update ${sql.table(table)}
    set content_hash = ${moveTo.content_hash}, library_id = ${moveTo.library_id}, rel_path = ${moveTo.rel_path}
    where content_hash = ${oldHash}`.execute(db);
  return { dropped: Number(dropped.numAffectedRows ?? 0), rekeyed: Number(rekeyed.numAffectedRows ?? 0) };
}

/**
 * Copy every derived row of `oldHash` to `moveTo` (the edited file), keeping the originals. Rows the
 * new hash already has (a tag, a user's favorite) are skipped; faces only when the new hash has no
 * detections of its own; copied insights are history when the new hash has a current one. Generic
 * over the columns (select all, clone, insert), so columns added later are copied too.
 */
async function copyDerivedRows(
  db: Kysely<DB>,
  oldHash: string,
  moveTo: { content_hash: string; library_id: number; rel_path: string },
): Promise<DerivedCounts> {
  const copied = emptyDerivedCounts();
  const ownFaces = await db
    .selectFrom('face_detections')
    .select('id')
    .where('content_hash', '=', moveTo.content_hash)
    .limit(1)
    .executeTakeFirst();
  const currentInsight = await db
    .selectFrom('photo_insights')
    .select('id')
    .where('content_hash', '=', moveTo.content_hash)
    .where('is_current', '=', 1)
    .limit(1)
    .executeTakeFirst();
  for (const table of DERIVED_TABLES) {
    if (table === 'face_detections' && ownFaces) continue;
    const rows = await db
      .selectFrom(table as 'tagged_photo')
      .selectAll()
      .where('content_hash', '=', oldHash)
      .orderBy('id')
      .execute();
    for (const row of rows) {
      const { id: _id, ...rest } = row as Record<string, unknown> & { id: number };
      const clone: Record<string, unknown> = { ...rest, ...moveTo };
      if (table === 'photo_insights' && currentInsight) clone.is_current = 0;
      const inserted = await db
        .insertInto(table as 'tagged_photo')
        .values(clone as never)
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      copied[table] += Number(inserted.numInsertedOrUpdatedRows ?? 0n);
    }
  }
  return copied;
}

/** A person whose cover face no longer exists loses its cover. */
async function clearMissingCoverFaces(db: Kysely<DB>): Promise<void> {
  await db
    .updateTable('persons')
    .set({ cover_face_id: null })
    .where('cover_face_id', 'is not', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('face_detections as f').select('f.id').whereRef('f.id', '=', 'persons.cover_face_id'),
        ),
      ),
    )
    .execute();
}
