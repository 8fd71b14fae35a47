import {
  type MediaTypeFilter,
  type MemorySpan,
  memoryWindows,
  memoryYearOf,
  photoLocalDate,
} from '@lumen/core';
import { type Kysely, type SqlBool, sql } from 'kysely';
import type { DatabaseKind } from '../migrations/dialect-columns.ts';
import type { DB } from '../schema.generated.ts';
import { allOf, coversEveryLibrary, excludedDirConditions, photoFilterConditions } from './photo-filters.ts';
import { type PhotoItem, type PhotoItemRow, selectPhotoRows, toPhotoItems } from './photo-items.ts';

export interface MemoriesParams {
  /** The library asked for, or every Online one. */
  libraryIds: readonly number[];
  /** A folder ('' is the root) and whether its sub-folders count. */
  folder?: { dir: string; recursive: boolean };
  mediaType?: MediaTypeFilter;
  /** EXCLUDED_DIRS: folders whose path contains an entry are left out. */
  excludedDirs: readonly string[];
  span: MemorySpan;
  /** IANA zone of the viewer: decides "today", and the local date of photos without an offset. */
  tz: string;
  now: Date;
  /** Items per year (1..500); `more` says when a year had further matches. */
  limitPerYear: number;
  /** Whose favorite flags the items carry. */
  userId?: number;
}

export interface MemoryGroup {
  year: number;
  /** The span in that year: first local date, and the first date after it (exclusive). */
  from: string;
  to: string;
  /** Oldest first. */
  items: PhotoItem[];
  /** True when the year had more matches than `limitPerYear`. */
  more: boolean;
}

/** Rows fetched per query; a little above the cap, since rows just outside the span are dropped. */
const BATCH_SLACK = 32;

/**
 * Memories (SPEC 4): photos taken in the same day, week or month of earlier years, grouped by year,
 * newest year first (see memories-span in @lumen/core for the rules).
 *
 * How it stays correct and bounded: the local date of a photo depends on its own offset (or on the
 * viewer's zone), which SQL cannot evaluate portably. So for each earlier year the database
 * selects by a UTC window widened by ±14 h (a range on the date_taken index, with the library,
 * folder, media-type and EXCLUDED_DIRS conditions), ordered by (date_taken, id), a batch at a time;
 * the exact local-date rule runs in JS on that batch, and fetching stops once the year has
 * `limitPerYear` + 1 matches. Years before the oldest dated photo are not queried. At most
 * MAX_MEMORY_YEARS years, so a request reads at most a few hundred rows per year.
 */
export class MemoriesRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly kind: DatabaseKind,
  ) {}

  async memories(params: MemoriesParams): Promise<{ groups: MemoryGroup[] }> {
    if (params.libraryIds.length === 0) return { groups: [] };
    const limit = Math.min(Math.max(Math.trunc(params.limitPerYear), 1), 500);
    // Every query below reads a date range (or walks the date index): the other conditions are
    // written so SQLite does not prefer their indexes (see IndexPreference).
    const everyLibrary = await coversEveryLibrary(this.db, params.libraryIds);
    const where = allOf([
      ...photoFilterConditions(
        { libraryIds: params.libraryIds, folder: params.folder, mediaType: params.mediaType },
        this.kind,
        { everyLibrary, prefer: 'sortIndex' },
      ),
      ...excludedDirConditions(params.excludedDirs, this.kind),
    ]);

    const oldest = await this.db
      .selectFrom('image_exif as ie')
      .select('ie.date_taken')
      .where(where)
      .where('ie.date_taken', 'is not', null)
      .orderBy('ie.date_taken')
      .limit(1)
      .executeTakeFirst();
    if (!oldest?.date_taken) return { groups: [] };
    // A photo's local date can fall in the year before its UTC one.
    const oldestYear = Number(oldest.date_taken.slice(0, 4)) - 1;

    const windows = memoryWindows({ now: params.now, tz: params.tz, span: params.span, oldestYear });
    const found: { year: number; from: string; to: string; rows: PhotoItemRow[]; more: boolean }[] = [];
    for (const window of windows) {
      const matched: PhotoItemRow[] = [];
      let after: { date: string; id: number } | undefined;
      for (;;) {
        let query = selectPhotoRows(this.db, this.kind, params.userId)
          .where(where)
          .where('ie.date_taken', '>=', window.utcFrom)
          .where('ie.date_taken', '<', window.utcTo);
        if (after) query = query.where(sql<SqlBool>`(ie.date_taken, ie.id) > (${after.date}, ${after.id})`);
        const batchSize = limit + BATCH_SLACK;
        const rows = await query.orderBy('ie.date_taken').orderBy('ie.id').limit(batchSize).execute();
        for (const row of rows) {
          const local = photoLocalDate(row, params.tz);
          if (local !== null && memoryYearOf(local, [window]) === window.year) matched.push(row);
        }
        const last = rows[rows.length - 1];
        if (matched.length > limit || rows.length < batchSize || !last?.date_taken) break;
        after = { date: last.date_taken, id: last.id };
      }
      if (matched.length > 0) {
        found.push({
          year: window.year,
          from: window.from,
          to: window.to,
          rows: matched.slice(0, limit),
          more: matched.length > limit,
        });
      }
    }

    const items = toPhotoItems(found.flatMap((group) => group.rows));
    const byId = new Map(items.map((item) => [item.id, item]));
    return {
      groups: found.map((group) => ({
        year: group.year,
        from: group.from,
        to: group.to,
        items: group.rows.map((row) => byId.get(row.id)!),
        more: group.more,
      })),
    };
  }
}
