import {
  encodePhotoCursor,
  MAX_PAGE_LIMIT,
  type PhotoCursor,
  type PhotoFilters,
  type PhotoSearch,
  shuffleParams,
} from '@lumen/core';
import { CompiledQuery, type Kysely, type SqlBool, sql } from 'kysely';
import type { DatabaseKind } from '../migrations/dialect-columns.ts';
import type { DB } from '../schema.generated.ts';
import { chunk, IN_LIST_CHUNK_SIZE } from './chunks.ts';
import {
  allOf,
  type Condition,
  coversEveryLibrary,
  type IndexPreference,
  photoFilterConditions,
  shuffleKeySql,
} from './photo-filters.ts';
import { type PhotoItem, type PhotoRow, selectPhotoRows, toPhotoItems } from './photo-items.ts';

export type { PhotoItem } from './photo-items.ts';

/** One page of a search. */
export interface PhotoPage {
  items: PhotoItem[];
  /** Rows matching the filters, over all pages. */
  total: number;
  /** Opaque; pass it back as `cursor` (same sort, same filters) for the next page. Null on the last page. */
  nextCursor: string | null;
  /** The seed a Shuffle used (echo it so the client can restart the same order). */
  seed?: string;
}

/** Where a photo is and what it is, enough to tag it or mark it favorite. */
export interface PhotoLocation {
  id: number;
  library_id: number;
  rel_path: string;
  content_hash: string | null;
}

/** A photo asked for by location. */
export interface PhotoLocationRef {
  libraryId: number;
  relPath: string;
}

/** What the first step of a page reads: the id and the sort key of each row, nothing else. */
interface KeyRow {
  id: number;
  sort_key: number | null;
  date_taken: string | null;
  file_name: string | null;
  rel_path: string | null;
}

/** Above this many matches a name or date page walks the sort index (see pagePlan). */
const SORT_INDEX_MIN_MATCHES = 2000;
const NULL_TEXT = sql<string | null>`null`;
const NULL_NUMBER = sql<number | null>`null`;

/**
 * Searching, sorting and paging image_exif for `/photos` (issue 4). Every filter, sort and page is
 * done in SQL. A page costs: a COUNT with the filters (run first: it also picks the page plan, see
 * pagePlan); one query for the ids and sort keys of the page (two for DateTaken when it reaches the
 * rows without a date), so the sort handles narrow rows and an index in sort order can answer it
 * alone; one query for those rows; and batched lookups of library names, tag ids and favorite flags.
 *
 * Paging is by keyset: the cursor holds the sort key and id of the last row sent, and the next page
 * starts strictly after it in the total order (sort key, id), so pages never repeat or skip a row
 * that stays put, even when rows are added or removed in between. Orders (ties broken by id, in the
 * sort's direction):
 * - NameAsc/NameDesc: file_name, rel_path, id (byte order on SQLite, the collation on Postgres);
 * - DateTakenAsc/Desc: date_taken, id; rows without a date come last in both directions (by id);
 * - TagCountAsc/Desc: number of tags on the content hash (0 without a hash), id;
 * - Shuffle: a seeded key computed from the id in SQL (see shuffleKey in @lumen/core), id.
 */
export class PhotosRepository {
  private readonly sortIndexMinMatches: number;

  /**
   * `sortIndexMinMatches`: above this many matches a name or date page walks the sort index
   * (default 2000; see pagePlan). Tests set 0 to run every page that way.
   */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly kind: DatabaseKind,
    options: { sortIndexMinMatches?: number } = {},
  ) {
    this.sortIndexMinMatches = options.sortIndexMinMatches ?? SORT_INDEX_MIN_MATCHES;
  }

  /** One page of photos matching `params` (see PhotoSearch in @lumen/core; toPhotoSearch builds it). */
  async search(params: PhotoSearch): Promise<PhotoPage> {
    const limit = pageLimit(params.limit);
    if (params.libraryIds.length === 0) return { items: [], total: 0, nextCursor: null, ...seedOf(params) };
    const everyLibrary = await coversEveryLibrary(this.db, params.libraryIds);
    const total = await this.countWhere(this.whereOf(params, everyLibrary, 'filterIndexes'));
    const where = this.whereOf(params, everyLibrary, this.pagePlan(params, total));
    const keys = total === 0 ? [] : await this.pageKeys(params, where, limit);
    const page = keys.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = keys.length > limit && last ? encodePhotoCursor(cursorAfter(params, last)) : null;
    const rows = await this.rowsByIds(page.map((key) => key.id));
    const items = await toPhotoItems(this.db, rows, params.userId);
    return { items, total, nextCursor, ...seedOf(params) };
  }

  /** How many rows match the filters. */
  async count(filters: PhotoFilters): Promise<number> {
    if (filters.libraryIds.length === 0) return 0;
    const everyLibrary = await coversEveryLibrary(this.db, filters.libraryIds);
    return this.countWhere(this.whereOf(filters, everyLibrary, 'filterIndexes'));
  }

  /** One photo as a PhotoItem (with tags and the user's favorite flag), or undefined. */
  async findItem(libraryId: number, relPath: string, userId?: number): Promise<PhotoItem | undefined> {
    const row = await selectPhotoRows(this.db)
      .where('ie.library_id', '=', libraryId)
      .where('ie.rel_path', '=', relPath)
      .executeTakeFirst();
    if (!row) return undefined;
    const [item] = await toPhotoItems(this.db, [row], userId);
    return item;
  }

  /** Where a photo is, by (library, path); undefined when the database has no such row. */
  async locate(libraryId: number, relPath: string): Promise<PhotoLocation | undefined> {
    return this.db
      .selectFrom('image_exif')
      .select(['id', 'library_id', 'rel_path', 'content_hash'])
      .where('library_id', '=', libraryId)
      .where('rel_path', '=', relPath)
      .executeTakeFirst();
  }

  /** Every library among `libraryIds` holding `relPath`, by library id (for requests without a library). */
  async locateInLibraries(relPath: string, libraryIds: readonly number[]): Promise<PhotoLocation[]> {
    if (libraryIds.length === 0) return [];
    return this.db
      .selectFrom('image_exif')
      .select(['id', 'library_id', 'rel_path', 'content_hash'])
      .where('rel_path', '=', relPath)
      .where('library_id', 'in', libraryIds)
      .orderBy('library_id')
      .execute();
  }

  /** Many locations at once (batched per library); the answer is aligned with `refs`. */
  async locateMany(refs: readonly PhotoLocationRef[]): Promise<(PhotoLocation | undefined)[]> {
    const byLibrary = new Map<number, string[]>();
    for (const ref of refs) {
      const paths = byLibrary.get(ref.libraryId);
      if (paths) paths.push(ref.relPath);
      else byLibrary.set(ref.libraryId, [ref.relPath]);
    }
    const found = new Map<string, PhotoLocation>();
    for (const [libraryId, paths] of byLibrary) {
      for (const part of chunk([...new Set(paths)], IN_LIST_CHUNK_SIZE)) {
        const rows = await this.db
          .selectFrom('image_exif')
          .select(['id', 'library_id', 'rel_path', 'content_hash'])
          .where('library_id', '=', libraryId)
          .where('rel_path', 'in', part)
          .execute();
        for (const row of rows) found.set(locationKey(row.library_id, row.rel_path), row);
      }
    }
    return refs.map((ref) => found.get(locationKey(ref.libraryId, ref.relPath)));
  }

  /**
   * The query plans of a search's first page and its COUNT (SQLite: EXPLAIN QUERY PLAN details;
   * Postgres: EXPLAIN lines), as `search` would run them. For tests, benchmarks and diagnosing a
   * slow filter.
   */
  async explainSearch(params: PhotoSearch): Promise<{ page: string[]; count: string[] }> {
    const everyLibrary = await coversEveryLibrary(this.db, params.libraryIds);
    const countWhere = this.whereOf(params, everyLibrary, 'filterIndexes');
    const total = await this.countWhere(countWhere);
    const pageWhere = this.whereOf(params, everyLibrary, this.pagePlan(params, total));
    const pageQuery = this.keysQuery(params, pageWhere, pageLimit(params.limit)).compile();
    return {
      page: await this.explain(pageQuery),
      count: await this.explain(this.countQuery(countWhere).compile()),
    };
  }

  private async explain(query: CompiledQuery): Promise<string[]> {
    const prefix = this.kind === 'sqlite' ? 'explain query plan ' : 'explain ';
    const result = await this.db.executeQuery<Record<string, unknown>>(
      CompiledQuery.raw(prefix + query.sql, [...query.parameters]),
    );
    return result.rows.map((row) => String(row.detail ?? row['QUERY PLAN'] ?? JSON.stringify(row)));
  }

  private whereOf(filters: PhotoFilters, everyLibrary: boolean, prefer: IndexPreference): Condition {
    return allOf(photoFilterConditions(filters, this.kind, { everyLibrary, prefer }));
  }

  /**
   * Name and date sorts have an index in sort order. When many rows match, walking it and stopping
   * after a page beats fetching and sorting every match; when few match, the filter's own index
   * finds them and sorting them is cheap. The COUNT, which runs anyway, tells the two apart.
   */
  private pagePlan(params: PhotoSearch, total: number): IndexPreference {
    const sortHasIndex = params.sort.startsWith('Name') || params.sort.startsWith('DateTaken');
    return sortHasIndex && total > this.sortIndexMinMatches ? 'sortIndex' : 'filterIndexes';
  }

  /** The rows of these ids, in the same order (a row deleted in between is left out). */
  private async rowsByIds(ids: readonly number[]): Promise<PhotoRow[]> {
    if (ids.length === 0) return [];
    const rows = await selectPhotoRows(this.db).where('ie.id', 'in', ids).execute();
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id)).filter((row): row is PhotoRow => row !== undefined);
  }

  private countQuery(where: Condition) {
    return this.db.selectFrom('image_exif as ie').select(sql<number>`count(*)`.as('count')).where(where);
  }

  private async countWhere(where: Condition): Promise<number> {
    const row = await this.countQuery(where).executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Ids and sort keys of up to limit + 1 rows after the cursor (the extra row says whether there is a next page). */
  private async pageKeys(params: PhotoSearch, where: Condition, limit: number): Promise<KeyRow[]> {
    if (params.sort !== 'DateTakenAsc' && params.sort !== 'DateTakenDesc') {
      return this.keysQuery(params, where, limit).execute();
    }
    // Rows with a date first, then (in the same page if it has room) the rows without one.
    const cursor = params.cursor?.s === params.sort ? params.cursor : undefined;
    const keys: KeyRow[] = cursor?.d === null ? [] : await this.keysQuery(params, where, limit).execute();
    if (keys.length > limit) return keys;
    const desc = params.sort === 'DateTakenDesc';
    let undated = this.keysFrom(where).where('ie.date_taken', 'is', null);
    if (cursor?.d === null) undated = undated.where('ie.id', desc ? '<' : '>', cursor.id);
    const rest = await undated
      .select([
        'ie.date_taken',
        NULL_TEXT.as('file_name'),
        NULL_TEXT.as('rel_path'),
        NULL_NUMBER.as('sort_key'),
      ])
      .orderBy('ie.id', desc ? 'desc' : 'asc')
      .limit(limit + 1 - keys.length)
      .execute();
    return [...keys, ...rest];
  }

  private keysFrom(where: Condition) {
    return this.db.selectFrom('image_exif as ie').select('ie.id').where(where);
  }

  /** The key query of every sort (for DateTaken: the rows with a date). */
  private keysQuery(params: PhotoSearch, where: Condition, limit: number) {
    const base = this.keysFrom(where);
    const cursor = params.cursor;
    switch (params.sort) {
      case 'NameAsc':
      case 'NameDesc': {
        const dir = params.sort === 'NameAsc' ? 'asc' : 'desc';
        let query = base;
        if (cursor?.s === params.sort) {
          query = query.where(
            after(
              dir,
              sql`(ie.file_name, ie.rel_path, ie.id)`,
              sql`(${cursor.f}, ${cursor.r}, ${cursor.id})`,
            ),
          );
        }
        return query
          .select([NULL_TEXT.as('date_taken'), 'ie.file_name', 'ie.rel_path', NULL_NUMBER.as('sort_key')])
          .orderBy('ie.file_name', dir)
          .orderBy('ie.rel_path', dir)
          .orderBy('ie.id', dir)
          .limit(limit + 1);
      }
      case 'DateTakenAsc':
      case 'DateTakenDesc': {
        const dir = params.sort === 'DateTakenAsc' ? 'asc' : 'desc';
        let query = base.where('ie.date_taken', 'is not', null);
        if (cursor?.s === params.sort && cursor.d !== null) {
          query = query.where(after(dir, sql`(ie.date_taken, ie.id)`, sql`(${cursor.d}, ${cursor.id})`));
        }
        return query
          .select([
            'ie.date_taken',
            NULL_TEXT.as('file_name'),
            NULL_TEXT.as('rel_path'),
            NULL_NUMBER.as('sort_key'),
          ])
          .orderBy('ie.date_taken', dir)
          .orderBy('ie.id', dir)
          .limit(limit + 1);
      }
      case 'TagCountAsc':
      case 'TagCountDesc': {
        const dir = params.sort === 'TagCountAsc' ? 'asc' : 'desc';
        const tagCount = sql<number>`(select count(*) from tagged_photo tp where tp.content_hash = ie.content_hash)`;
        let query = base;
        if (cursor?.s === params.sort) {
          query = query.where(after(dir, sql`(${tagCount}, ie.id)`, sql`(${cursor.c}, ${cursor.id})`));
        }
        return query
          .select([
            NULL_TEXT.as('date_taken'),
            NULL_TEXT.as('file_name'),
            NULL_TEXT.as('rel_path'),
            tagCount.as('sort_key'),
          ])
          .orderBy('sort_key', dir)
          .orderBy('ie.id', dir)
          .limit(limit + 1);
      }
      case 'Shuffle': {
        const seed = seedOf(params).seed;
        if (seed === undefined) throw new Error('a Shuffle search needs a seed (toPhotoSearch supplies one)');
        if (cursor?.s === 'Shuffle' && cursor.seed !== seed) {
          throw new Error('the cursor belongs to another shuffle seed (photosQuerySchema rejects that)');
        }
        const key = shuffleKeySql(shuffleParams(seed));
        let query = base;
        if (cursor?.s === 'Shuffle') {
          query = query.where(after('asc', sql`(${key}, ie.id)`, sql`(${cursor.k}, ${cursor.id})`));
        }
        return query
          .select([
            NULL_TEXT.as('date_taken'),
            NULL_TEXT.as('file_name'),
            NULL_TEXT.as('rel_path'),
            key.as('sort_key'),
          ])
          .orderBy('sort_key', 'asc')
          .orderBy('ie.id', 'asc')
          .limit(limit + 1);
      }
    }
  }
}

function pageLimit(limit: number): number {
  return Math.min(Math.max(Math.trunc(limit), 1), MAX_PAGE_LIMIT);
}

/** `left > right` for an ascending order, `left < right` for a descending one (row values). */
function after(dir: 'asc' | 'desc', left: ReturnType<typeof sql>, right: ReturnType<typeof sql>): Condition {
  return dir === 'asc' ? sql<SqlBool>`${left} > ${right}` : sql<SqlBool>`${left} < ${right}`;
}

/** The cursor that continues after `row`. */
function cursorAfter(params: PhotoSearch, row: KeyRow): PhotoCursor {
  switch (params.sort) {
    case 'NameAsc':
    case 'NameDesc':
      return { s: params.sort, f: row.file_name ?? '', r: row.rel_path ?? '', id: row.id };
    case 'DateTakenAsc':
    case 'DateTakenDesc':
      return { s: params.sort, d: row.date_taken, id: row.id };
    case 'TagCountAsc':
    case 'TagCountDesc':
      return { s: params.sort, c: Number(row.sort_key ?? 0), id: row.id };
    case 'Shuffle':
      return { s: 'Shuffle', seed: seedOf(params).seed ?? '', k: Number(row.sort_key), id: row.id };
  }
}

function seedOf(params: PhotoSearch): { seed?: string } {
  if (params.sort !== 'Shuffle') return {};
  const seed = params.seed ?? (params.cursor?.s === 'Shuffle' ? params.cursor.seed : undefined);
  return seed === undefined ? {} : { seed };
}

function locationKey(libraryId: number, relPath: string): string {
  return `${libraryId}\u0000${relPath}`;
}
