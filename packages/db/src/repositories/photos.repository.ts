import {
  blockAtPosition,
  blockOfScramble,
  blockPosition,
  blockScrambleRange,
  compareShuffleRank,
  encodePhotoCursor,
  MAX_PAGE_LIMIT,
  type PhotoCursor,
  type PhotoFilters,
  type PhotoSearch,
  SHUFFLE_ROWS_PER_BLOCK,
  type ShuffleBlockOrder,
  type ShuffleParams,
  type ShuffleRank,
  shuffleBlockBits,
  shuffleBlockOrder,
  shuffleParams,
} from '@lumen/core';
import { CompiledQuery, type Kysely, type SqlBool, sql } from 'kysely';
import type { DatabaseKind } from '../migrations/dialect-columns.ts';
import type { ReadCache } from '../read-cache.ts';
import type { DB } from '../schema.generated.ts';
import { chunk, IN_LIST_CHUNK_SIZE } from './chunks.ts';
import {
  allOf,
  type Condition,
  coversEveryLibrary,
  type IndexPreference,
  photoFilterConditions,
  scrambledIdSql,
  shuffleKeySql,
} from './photo-filters.ts';
import { type PhotoItem, type PhotoItemRow, selectPhotoRows, toPhotoItems } from './photo-items.ts';

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
  /** Shuffle: the block bits of the shuffle and the position of the row's block (for the cursor). */
  shuffle?: { m: number; p: number };
}

/**
 * A Shuffle page (see shuffle-blocks.ts in @lumen/core): the order, the rank of the last row sent
 * (the page starts after it), and the block positions the first query reads.
 */
interface ShufflePage {
  key: ShuffleParams;
  order: ShuffleBlockOrder;
  after: ShuffleRank | undefined;
  /** The first block position read: the cursor's (its block may hold more rows), 0 on page one. */
  from: number;
  /** How many block positions the first query reads. */
  width: number;
}

/** Above this many matches a name, date or shuffle page walks the sort index (see pagePlan). */
const SORT_INDEX_MIN_MATCHES = 2000;
/**
 * A Shuffle query reads at most this many blocks (one OR-ed scramble range each); past it, the
 * rest of the shuffle is read in one query. Only when many blocks in a row come up empty, which
 * takes most of the rows counted on the first page to be gone.
 */
const MAX_SHUFFLE_RANGES = 256;
const NULL_TEXT = sql<string | null>`null`;
const NULL_NUMBER = sql<number | null>`null`;

/**
 * Searching, sorting and paging image_exif for `/photos` (issue 4). Every filter, sort and page is
 * done in SQL, except that Shuffle sorts the few blocks a page reads in memory. A page costs: a
 * COUNT with the filters (run first: it also picks the page plan, see pagePlan); one query for the
 * ids and sort keys of the page (two for DateTaken when it reaches the rows without a date; for
 * Shuffle more when its first blocks hold too few matches), so the sort handles narrow rows and an
 * index in sort order can answer it alone; and one query for those rows, which brings their
 * library names, tag ids and favorite flags along (selectPhotoRows).
 *
 * Paging is by keyset: the cursor holds the sort key and id of the last row sent, and the next page
 * starts strictly after it in the total order (sort key, id), so pages never repeat or skip a row
 * that stays put, even when rows are added or removed in between. Orders (ties broken by id, in the
 * sort's direction):
 * - NameAsc/NameDesc: file_name, rel_path, id (byte order on SQLite, the collation on Postgres);
 * - DateTakenAsc/Desc: date_taken, id; rows without a date come last in both directions (by id);
 * - TagCountAsc/Desc: number of tags on the content hash (0 without a hash), id;
 * - Shuffle: position of the row's block, a seeded key computed from the id in SQL, id (see
 *   shuffle-blocks.ts in @lumen/core). Blocks are ranges of a scramble of the id, which
 *   image_exif_shuffle_idx indexes, visited in a seeded order; a page reads the next few blocks
 *   (about 64 rows each) and sorts them in memory, so it costs O(page), not O(matches).
 */
export class PhotosRepository {
  private readonly sortIndexMinMatches: number;
  private readonly shuffleRowsPerBlock: number;
  private readonly countCache: ReadCache | undefined;

  /**
   * `sortIndexMinMatches`: above this many matches a name, date or shuffle page walks the sort
   * index (default 2000; see pagePlan). Tests set 0 to run every page that way.
   * `shuffleRowsPerBlock`: the block size a Shuffle aims for (default 64, see shuffleBlockBits);
   * tests set 1 or 2 to have many blocks in a small library.
   * `countCache`: keeps the COUNT of each search until the database changes, so paging through
   * one search counts once (a COUNT costs 0.2-1 ms per 10,000 matches, a tag filter ~0.5 us per
   * tagged photo); without it every page counts.
   */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly kind: DatabaseKind,
    options: { sortIndexMinMatches?: number; shuffleRowsPerBlock?: number; countCache?: ReadCache } = {},
  ) {
    this.sortIndexMinMatches = options.sortIndexMinMatches ?? SORT_INDEX_MIN_MATCHES;
    this.shuffleRowsPerBlock = options.shuffleRowsPerBlock ?? SHUFFLE_ROWS_PER_BLOCK;
    this.countCache = options.countCache;
  }

  /** One page of photos matching `params` (see PhotoSearch in @lumen/core; toPhotoSearch builds it). */
  async search(params: PhotoSearch): Promise<PhotoPage> {
    const limit = pageLimit(params.limit);
    if (params.libraryIds.length === 0) return { items: [], total: 0, nextCursor: null, ...seedOf(params) };
    const everyLibrary = await coversEveryLibrary(this.db, params.libraryIds);
    const total = await this.countWhere(this.whereOf(params, everyLibrary, 'filterIndexes'));
    const where = this.whereOf(params, everyLibrary, this.pagePlan(params, total));
    const keys = total === 0 ? [] : await this.pageKeys(params, where, limit, total);
    const page = keys.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = keys.length > limit && last ? encodePhotoCursor(cursorAfter(params, last)) : null;
    const rows = await this.rowsByIds(
      page.map((key) => key.id),
      params.userId,
    );
    const items = toPhotoItems(rows);
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
    const row = await selectPhotoRows(this.db, this.kind, userId)
      .where('ie.library_id', '=', libraryId)
      .where('ie.rel_path', '=', relPath)
      .executeTakeFirst();
    return row ? toPhotoItems([row])[0] : undefined;
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
    const pageQuery = this.keysQuery(params, pageWhere, pageLimit(params.limit), total).compile();
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
   * Name and date sorts have an index in sort order, and Shuffle one on the scramble of its blocks.
   * When many rows match, walking it and stopping after a page (or reading a few blocks) beats
   * fetching every match; when few match, the filter's own index finds them and sorting them (or
   * testing their scramble) is cheap. The COUNT, which runs anyway, tells the two apart.
   */
  private pagePlan(params: PhotoSearch, total: number): IndexPreference {
    if (total <= this.sortIndexMinMatches) return 'filterIndexes';
    if (params.sort === 'Shuffle') return 'shuffleIndex';
    const sortHasIndex = params.sort.startsWith('Name') || params.sort.startsWith('DateTaken');
    return sortHasIndex ? 'sortIndex' : 'filterIndexes';
  }

  /** The rows of these ids, in the same order (a row deleted in between is left out). */
  private async rowsByIds(ids: readonly number[], userId: number | undefined): Promise<PhotoItemRow[]> {
    if (ids.length === 0) return [];
    const rows = await selectPhotoRows(this.db, this.kind, userId).where('ie.id', 'in', ids).execute();
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id)).filter((row): row is PhotoItemRow => row !== undefined);
  }

  private countQuery(where: Condition) {
    return this.db.selectFrom('image_exif as ie').select(sql<number>`count(*)`.as('count')).where(where);
  }

  private async countWhere(where: Condition): Promise<number> {
    const compiled = this.countQuery(where).compile();
    const read = async () => Number((await this.db.executeQuery(compiled)).rows[0]?.count ?? 0);
    if (!this.countCache) return read();
    return this.countCache.get(
      `photos-count:${compiled.sql}\u0000${JSON.stringify(compiled.parameters)}`,
      read,
    );
  }

  /** Ids and sort keys of up to limit + 1 rows after the cursor (the extra row says whether there is a next page). */
  private async pageKeys(
    params: PhotoSearch,
    where: Condition,
    limit: number,
    total: number,
  ): Promise<KeyRow[]> {
    if (params.sort === 'Shuffle') return this.shuffleKeys(params, where, limit, total);
    if (params.sort !== 'DateTakenAsc' && params.sort !== 'DateTakenDesc') {
      return this.keysQuery(params, where, limit, total).execute();
    }
    // Rows with a date first, then (in the same page if it has room) the rows without one.
    const cursor = params.cursor?.s === params.sort ? params.cursor : undefined;
    const keys: KeyRow[] =
      cursor?.d === null ? [] : await this.keysQuery(params, where, limit, total).execute();
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

  /**
   * Ids and Shuffle ranks of up to limit + 1 rows after the cursor: the rows of the next block
   * positions, read a few blocks per query (the first query usually fills the page, see
   * shufflePage; each further one reads twice as many blocks), sorted here by (position, key, id).
   */
  private async shuffleKeys(
    params: PhotoSearch,
    where: Condition,
    limit: number,
    total: number,
  ): Promise<KeyRow[]> {
    const page = this.shufflePage(params, limit, total);
    const { bits } = page.order;
    const blocks = 2 ** bits;
    const found: (KeyRow & { rank: ShuffleRank })[] = [];
    for (let from = page.from, width = page.width; from < blocks; ) {
      const rest = width > MAX_SHUFFLE_RANGES;
      const rows = await this.shuffleQuery(where, page, rest ? undefined : { from, width }).execute();
      for (const row of rows) {
        const rank = {
          position: blockPosition(blockOfScramble(Number(row.scr), bits), page.order),
          key: Number(row.sort_key),
          id: row.id,
        };
        // Without ranges (`rest`) the query also returns the blocks before `from`.
        if (rank.position < from || (page.after && compareShuffleRank(rank, page.after) <= 0)) continue;
        const shuffle = { m: bits, p: rank.position };
        found.push({ ...row, sort_key: rank.key, shuffle, rank });
      }
      if (rest || found.length > limit) break;
      from += width;
      width = Math.min(blocks - from, width * 2);
    }
    return found.sort((x, y) => compareShuffleRank(x.rank, y.rank)).slice(0, limit + 1);
  }

  /**
   * Where a Shuffle page starts and how many blocks its first query reads. The block bits come
   * from the cursor, or on the first page from the COUNT (blocks of about shuffleRowsPerBlock
   * matches), so every page of one shuffle has the same blocks even when rows come and go. The
   * first query reads enough blocks for limit + 1 rows with half as many again to spare (matches
   * are not spread exactly evenly), plus the cursor's block, which the last page may have used up.
   */
  private shufflePage(params: PhotoSearch, limit: number, total: number): ShufflePage {
    const seed = seedOf(params).seed;
    if (seed === undefined) throw new Error('a Shuffle search needs a seed (toPhotoSearch supplies one)');
    const cursor = params.cursor?.s === 'Shuffle' ? params.cursor : undefined;
    if (cursor && cursor.seed !== seed) {
      throw new Error('the cursor belongs to another shuffle seed (photosQuerySchema rejects that)');
    }
    const bits = cursor ? cursor.m : shuffleBlockBits(total, this.shuffleRowsPerBlock);
    const blocks = 2 ** bits;
    const from = cursor?.p ?? 0;
    const perBlock = Math.max(1, total / blocks);
    return {
      key: shuffleParams(seed),
      order: shuffleBlockOrder(seed, bits),
      after: cursor && { position: cursor.p, key: cursor.k, id: cursor.id },
      from,
      width: Math.min(blocks - from, Math.ceil(((limit + 1) / perBlock) * 1.5) + 1),
    };
  }

  /**
   * Id, shuffle key and scramble of the matches in the blocks at positions [from, from + width):
   * one `scramble between lo and hi` per block, each a range of image_exif_shuffle_idx (adjacent
   * blocks merged). Without positions, or when they cover every block, of every match.
   */
  private shuffleQuery(where: Condition, page: ShufflePage, positions?: { from: number; width: number }) {
    const scramble = scrambledIdSql('ie.id');
    const query = this.keysFrom(where).select([
      NULL_TEXT.as('date_taken'),
      NULL_TEXT.as('file_name'),
      NULL_TEXT.as('rel_path'),
      shuffleKeySql(page.key).as('sort_key'),
      scramble.as('scr'),
    ]);
    if (!positions || (positions.from === 0 && positions.width >= 2 ** page.order.bits)) return query;
    const { from, width } = positions;
    const ranges: { lo: number; hi: number }[] = [];
    const blocks = Array.from({ length: width }, (_, i) => blockAtPosition(from + i, page.order));
    for (const block of blocks.sort((x, y) => x - y)) {
      const range = blockScrambleRange(block, page.order.bits);
      const previous = ranges[ranges.length - 1];
      if (previous && previous.hi + 1 === range.lo) previous.hi = range.hi;
      else ranges.push(range);
    }
    const tests = ranges.map(({ lo, hi }) => sql<SqlBool>`${scramble} between ${lo} and ${hi}`);
    return query.where(sql<SqlBool>`(${sql.join(tests, sql` or `)})`);
  }

  /** The key query of every sort (for DateTaken: the rows with a date; for Shuffle: its first query). */
  private keysQuery(params: PhotoSearch, where: Condition, limit: number, total: number) {
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
        const page = this.shufflePage(params, limit, total);
        return this.shuffleQuery(where, page, { from: page.from, width: page.width });
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
    case 'Shuffle': {
      if (!row.shuffle) throw new Error('a Shuffle key row carries its block position');
      const { m, p } = row.shuffle;
      return { s: 'Shuffle', seed: seedOf(params).seed ?? '', m, p, k: Number(row.sort_key), id: row.id };
    }
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
