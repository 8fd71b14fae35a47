import {
  boundingBox,
  maxHaversineTerm,
  normalizeExcludedDirs,
  type PhotoFilters,
  SCRAMBLE_BITS,
  SCRAMBLE_MULTIPLIER,
  SHUFFLE_MODULUS,
  type ShuffleParams,
} from '@lumen/core';
import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { DatabaseKind } from '../migrations/dialect-columns.ts';
import type { DB } from '../schema.generated.ts';

/**
 * SQL conditions on `image_exif as ie` shared by the photo search and memories. Every condition is
 * written so an index can serve it (see 0002-photo-query-indexes); the few
 * spots where SQLite and Postgres differ take the dialect.
 */

export type Condition = RawBuilder<SqlBool>;

const NEVER: Condition = sql<SqlBool>`1 = 0`;
const ALWAYS: Condition = sql<SqlBool>`1 = 1`;
/** Degrees to radians, and half of that (the haversine takes half angles). */
const RAD = Math.PI / 180;
const HALF_RAD = Math.PI / 360;

/** `a and b and ...` (true when empty). */
export function allOf(conditions: readonly Condition[]): Condition {
  if (conditions.length === 0) return ALWAYS;
  return sql<SqlBool>`(${sql.join(conditions, sql` and `)})`;
}

/** Escape `%`, `_` and the escape character itself for `LIKE ... ESCAPE '\'`. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** True when `libraryIds` names every library there is (then the library filter can be left out). */
export async function coversEveryLibrary(db: Kysely<DB>, libraryIds: readonly number[]): Promise<boolean> {
  const wanted = new Set(libraryIds);
  const rows = await db.selectFrom('libraries').select('id').execute();
  return rows.every((row) => wanted.has(row.id));
}

/**
 * How the conditions are written for SQLite's planner:
 * - `filterIndexes` (COUNT, and pages sorted in memory anyway): plain columns, so SQLite can find the
 *   matching rows through the index of a filter.
 * - `sortIndex` (a page sorted by date or name when many rows match): every filter column except
 *   date_taken is written `+column`, which tells SQLite not to use its index, so it walks the
 *   date or name index in sort order and stops after `limit` matches instead of fetching and
 *   sorting every match. PhotosRepository picks this when the COUNT says many rows match.
 * - `shuffleIndex` (a Shuffle page when many rows match): as `sortIndex`, and date_taken too is
 *   written `+date_taken`, so SQLite reads the few scramble ranges of the page's blocks
 *   (image_exif_shuffle_idx) and tests the filters on those rows, instead of fetching every match.
 * Postgres ignores the difference (it plans with statistics, and has no unary + on text).
 */
export type IndexPreference = 'filterIndexes' | 'sortIndex' | 'shuffleIndex';

/**
 * Every condition of `filters`, to be AND-ed. With `everyLibrary` (see coversEveryLibrary) the
 * library condition is left out unless a folder filter needs it (the first column of the
 * (library_id, dir) index), which lets COUNT use covering indexes. Without a folder filter the
 * library condition never uses an index on SQLite: without ANALYZE statistics SQLite takes any
 * equality on an index as very selective, while a library is usually most of the table.
 */
export function photoFilterConditions(
  filters: PhotoFilters,
  kind: DatabaseKind,
  options: { everyLibrary?: boolean; prefer?: IndexPreference } = {},
): Condition[] {
  if (filters.libraryIds.length === 0) return [NEVER];
  const hint = kind === 'sqlite' && (options.prefer === 'sortIndex' || options.prefer === 'shuffleIndex');
  /** `ie.<column>`, or `+ie.<column>` when SQLite should not use its index. */
  const col = (column: string, noIndex = hint) => sql.raw(`${noIndex ? '+' : ''}ie.${column}`);
  const lowerOf = (column: string) => sql.raw(`${hint ? '+' : ''}lower(ie.${column})`);

  const conditions: Condition[] = [];
  if (!options.everyLibrary || filters.folder) {
    const library = col('library_id', hint || (kind === 'sqlite' && !filters.folder));
    conditions.push(sql<SqlBool>`${library} in (${sql.join(filters.libraryIds)})`);
  }
  if (filters.folder) {
    conditions.push(folderCondition(filters.folder.dir, filters.folder.recursive, kind, col('dir')));
  }
  if (filters.cameraMake !== undefined) {
    conditions.push(sql<SqlBool>`${lowerOf('camera_make')} = lower(${filters.cameraMake})`);
  }
  if (filters.cameraModel !== undefined) {
    conditions.push(sql<SqlBool>`${lowerOf('camera_model')} = lower(${filters.cameraModel})`);
  }
  if (filters.lens !== undefined) {
    conditions.push(sql<SqlBool>`${lowerOf('lens_model')} = lower(${filters.lens})`);
  }
  if (filters.gps) conditions.push(...gpsConditions(filters.gps, col('gps_lat'), col('gps_lon')));
  const date = col('date_taken', kind === 'sqlite' && options.prefer === 'shuffleIndex');
  if (filters.dateFrom !== undefined) conditions.push(sql<SqlBool>`${date} >= ${filters.dateFrom}`);
  if (filters.dateTo !== undefined) conditions.push(sql<SqlBool>`${date} <= ${filters.dateTo}`);
  if (filters.tags && filters.tags.ids.length > 0) {
    conditions.push(
      tagCondition(filters.tags.mode, [...new Set(filters.tags.ids)], kind, hint, col('content_hash')),
    );
  }
  if (filters.mediaType === 'photo') conditions.push(sql<SqlBool>`${col('media_type')} in ('photo', 'raw')`);
  if (filters.mediaType === 'video') conditions.push(sql<SqlBool>`${col('media_type')} = 'video'`);
  if (filters.favoriteOf !== undefined) {
    conditions.push(
      hint
        ? sql<SqlBool>`exists (
            select 1 from favorites f where f.user_id = ${filters.favoriteOf} and f.content_hash = ie.content_hash)`
        : sql<SqlBool>`${col('content_hash')} in (
            select f.content_hash from favorites f where f.user_id = ${filters.favoriteOf})`,
    );
  }
  if (filters.personId !== undefined) {
    conditions.push(
      sql<SqlBool>`exists (select 1 from face_detections fd
        where fd.content_hash = ie.content_hash and fd.person_id = ${filters.personId})`,
    );
  }
  return conditions;
}

/**
 * Photos with any (or all) of the tags `ids`. Two forms for SQLite's two plans:
 * - `in (select ...)` (filterIndexes): SQLite builds the set of tagged hashes once and looks each
 *   up in the content_hash index; right for a COUNT or a small result, whose rows are all visited.
 * - `exists (...)` (sortIndex): a page walking the date or name index tests only the rows it walks
 *   (a few hundred for a page), each with one probe of the (content_hash, tag_id) index, instead of
 *   first building the set of every tagged hash (several ms for a popular tag).
 * Postgres takes the `in (select ...)` form for "any" (a hash semi join, or a walk of the sort
 * index probing each row, as its statistics say), but for "all" one `exists` per tag: the
 * `group by ... having count(*)` set is misestimated (a few hundred rows for thousands) and its
 * hash aggregate over every link of the tags spills past work_mem, 5-15x slower at 100k photos
 * (docs/decisions.md, "Tag filter on PostgreSQL"). Each `exists` is a semi join the planner
 * orders by the tag's own statistics, starting from the rarest.
 */
function tagCondition(
  mode: 'any' | 'all',
  ids: readonly number[],
  kind: DatabaseKind,
  walkingSortIndex: boolean,
  hashColumn: RawBuilder<unknown>,
): Condition {
  if (kind === 'postgres' && mode === 'all') {
    return allOf(
      ids.map(
        (id) => sql<SqlBool>`exists (select 1 from tagged_photo tp
          where tp.content_hash = ${hashColumn} and tp.tag_id = ${id})`,
      ),
    );
  }
  if (walkingSortIndex) {
    // `+tp.tag_id`: one seek to the photo's few links, then the ids are tested, instead of one
    // seek per id (about 30% less for three ids). The ids are written as literals: SQLite tests a
    // literal list faster than bound parameters, which it gathers again for every row probed
    // (another third off). They are integers (checked here too), so nothing can be injected.
    if (!ids.every(Number.isSafeInteger)) throw new Error(`tag ids must be integers, got ${ids.join(', ')}`);
    const literalIds = sql.join(ids.map((id) => sql.lit(id)));
    return mode === 'any'
      ? sql<SqlBool>`exists (select 1 from tagged_photo tp
          where tp.content_hash = ie.content_hash and +tp.tag_id in (${literalIds}))`
      : sql<SqlBool>`(select count(*) from tagged_photo tp
          where tp.content_hash = ie.content_hash and +tp.tag_id in (${literalIds})) = ${ids.length}`;
  }
  return mode === 'any'
    ? sql<SqlBool>`${hashColumn} in (
        select tp.content_hash from tagged_photo tp where tp.tag_id in (${sql.join(ids)}))`
    : sql<SqlBool>`${hashColumn} in (
        select tp.content_hash from tagged_photo tp where tp.tag_id in (${sql.join(ids)})
        group by tp.content_hash having count(*) = ${ids.length})`;
}

/**
 * A folder, or (recursive) a folder and everything below it.
 * SQLite compares with BINARY collation: `dir >= 'a/b' and dir < 'a/b0'` ('0' follows '/') is one
 * index range holding 'a/b', everything under 'a/b/', and siblings such as 'a/b-c' (characters
 * below '/'), which the last term drops. SQLite's LIKE would be case-insensitive.
 * Postgres collations other than C do not order by bytes, so there it is a LIKE with the wildcards
 * of the folder name escaped.
 */
function folderCondition(
  dir: string,
  recursive: boolean,
  kind: DatabaseKind,
  column: RawBuilder<unknown>,
): Condition {
  if (!recursive) return sql<SqlBool>`${column} = ${dir}`;
  if (dir === '') return ALWAYS;
  if (kind === 'sqlite') {
    return sql<SqlBool>`(${column} >= ${dir} and ${column} < ${`${dir}0`}
      and (ie.dir = ${dir} or ie.dir >= ${`${dir}/`}))`;
  }
  return sql<SqlBool>`(ie.dir = ${dir} or ie.dir like ${`${escapeLike(dir)}/%`} escape '\\')`;
}

/**
 * Within a great-circle radius: a latitude/longitude box that the (gps_lat, gps_lon, date_taken)
 * index answers, then the exact haversine test h <= sin²(r / 2R) (sin and cos only, which both
 * SQLite's math functions and Postgres have).
 */
function gpsConditions(
  center: { lat: number; lon: number; radiusKm: number },
  latColumn: RawBuilder<unknown>,
  lonColumn: RawBuilder<unknown>,
): Condition[] {
  const { lat, lon, radiusKm } = center;
  const maxTerm = maxHaversineTerm(radiusKm);
  if (maxTerm === null) return [sql<SqlBool>`ie.gps_lat is not null and ie.gps_lon is not null`];
  const box = boundingBox(center);
  const conditions: Condition[] = [sql<SqlBool>`${latColumn} between ${box.minLat} and ${box.maxLat}`];
  const lonRanges = box.lonRanges.map(([min, max]) => sql<SqlBool>`${lonColumn} between ${min} and ${max}`);
  conditions.push(lonRanges.length === 1 ? lonRanges[0]! : sql<SqlBool>`(${sql.join(lonRanges, sql` or `)})`);
  const cosLat = Math.cos(lat * RAD);
  conditions.push(sql<SqlBool>`(
    sin((ie.gps_lat - ${lat}) * ${HALF_RAD}) * sin((ie.gps_lat - ${lat}) * ${HALF_RAD})
    + ${cosLat} * cos(ie.gps_lat * ${RAD})
      * sin((ie.gps_lon - ${lon}) * ${HALF_RAD}) * sin((ie.gps_lon - ${lon}) * ${HALF_RAD})
    ) <= ${maxTerm}`);
  return conditions;
}

/** Leave out folders whose path contains an EXCLUDED_DIRS entry (see normalizeExcludedDirs). */
export function excludedDirConditions(entries: readonly string[], kind: DatabaseKind): Condition[] {
  const position = kind === 'sqlite' ? 'instr' : 'strpos';
  return normalizeExcludedDirs(entries).map(
    (entry) => sql<SqlBool>`${sql.raw(position)}(ie.dir, ${entry}) = 0`,
  );
}

/**
 * The seeded shuffle key of `ie.id` (see shuffleKey in @lumen/core for the formula and why it is
 * exact on both engines). The parameters are cast so Postgres does bigint arithmetic.
 */
export function shuffleKeySql(params: ShuffleParams): RawBuilder<number> {
  const p = sql.lit(SHUFFLE_MODULUS);
  const x = sql`((cast(ie.id as bigint) % ${p}) * cast(${params.a} as bigint) + cast(${params.b} as bigint)) % ${p}`;
  return sql<number>`((${x}) * (${x}) + cast(${params.c} as bigint)) % ${p}`;
}

/**
 * The scramble of a row id (scrambleId in @lumen/core), written with literals only so it is the
 * very expression of the index image_exif_shuffle_idx (migration 0003-shuffle-index builds it with
 * this function): SQLite and Postgres use an index on an expression only for the same expression,
 * and a bound parameter would not be. On Postgres the literals above 2^31 are bigint, so the int4 id
 * is widened and the arithmetic is bigint. Changing the text needs a new migration for the index.
 */
export function scrambledIdSql(column: 'id' | 'ie.id'): RawBuilder<number> {
  return sql.raw<number>(`(((${column} % ${2 ** 31}) * ${SCRAMBLE_MULTIPLIER}) % ${2 ** SCRAMBLE_BITS})`);
}
