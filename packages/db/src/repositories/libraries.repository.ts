import { MAX_ROW_ID } from '@lumen/core';
import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import type { DB, Libraries } from '../schema.generated.ts';

export type LibraryRow = Selectable<Libraries>;
export type NewLibrary = Insertable<Libraries>;
export type LibraryStatus = 'online' | 'stale';
export type ScanKind = 'quick' | 'full';

/** A library as configured: unique name and absolute root folder. */
export interface LibrarySpec {
  name: string;
  root: string;
}

/** Number of image_exif rows per media type, plus the total (which also counts unknown types). */
export interface MediaTypeCounts {
  photo: number;
  raw: number;
  video: number;
  total: number;
}

export class LibrariesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** All libraries by id. */
  async list(): Promise<LibraryRow[]> {
    return this.db.selectFrom('libraries').selectAll().orderBy('id').execute();
  }

  async findById(id: number): Promise<LibraryRow | undefined> {
    return this.db.selectFrom('libraries').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Case-insensitive name match. */
  async findByName(name: string): Promise<LibraryRow | undefined> {
    return this.db
      .selectFrom('libraries')
      .selectAll()
      .where(sql<string>`lower(name)`, '=', name.toLowerCase())
      .orderBy('id')
      .executeTakeFirst();
  }

  /** `"3"` looks up id 3 first, then a library named "3"; anything else is a (case-insensitive) name. */
  async findByIdOrName(idOrName: string): Promise<LibraryRow | undefined> {
    if (/^\d+$/.test(idOrName) && Number(idOrName) <= MAX_ROW_ID) {
      const byId = await this.findById(Number(idOrName));
      if (byId) return byId;
    }
    return this.findByName(idOrName);
  }

  /**
   * Make the table hold every configured library, in one transaction: a spec whose name matches an
   * existing row (case-insensitively) updates that row's name and root, any other spec is inserted.
   * Libraries missing from `specs` are left alone. Returns all libraries by id.
   */
  async upsertConfigured(specs: readonly LibrarySpec[]): Promise<LibraryRow[]> {
    return this.db.transaction().execute(async (trx) => {
      const now = new Date().toISOString();
      // Write first: replicas starting together run this at once. On SQLite a transaction that read
      // first could not take the write lock then (SQLITE_BUSY at once); a write waits for it. On
      // PostgreSQL the loser of a race on the same name waits for the winner's commit and skips.
      for (const spec of specs) {
        await sql`insert into libraries (name, root, created_at)
          select ${spec.name}, ${spec.root}, ${now}
          where not exists (select 1 from libraries where lower(name) = ${spec.name.toLowerCase()})
          on conflict (name) do nothing`.execute(trx);
      }
      const existing = await trx
        .selectFrom('libraries')
        .select(['id', 'name', 'root'])
        .orderBy('id')
        .execute();
      for (const spec of specs) {
        const row = existing.find((r) => r.name.toLowerCase() === spec.name.toLowerCase());
        if (row && (row.root !== spec.root || row.name !== spec.name)) {
          await trx
            .updateTable('libraries')
            .set({ name: spec.name, root: spec.root })
            .where('id', '=', row.id)
            .execute();
        }
      }
      return trx.selectFrom('libraries').selectAll().orderBy('id').execute();
    });
  }

  /** Insert one library; throws on a duplicate name (UNIQUE). */
  async create(spec: LibrarySpec): Promise<LibraryRow> {
    return this.db
      .insertInto('libraries')
      .values({ name: spec.name, root: spec.root, created_at: new Date().toISOString() })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * Record the probe result. `status_reason` is always replaced; `status_changed_at` moves only when
   * the status actually changes. Returns true when it changed (false too for an unknown id).
   */
  async setStatus(id: number, status: LibraryStatus, reason: string | null): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom('libraries')
        .select('status')
        .where('id', '=', id)
        .executeTakeFirst();
      if (!current) return false;
      const changed = current.status !== status;
      await trx
        .updateTable('libraries')
        .set(
          changed
            ? { status, status_reason: reason, status_changed_at: new Date().toISOString() }
            : { status_reason: reason },
        )
        .where('id', '=', id)
        .execute();
      return changed;
    });
  }

  /**
   * Record the mass-disappearance brake (issue 10) of a library: the same `reason` as stored keeps
   * the episode in progress; another reason starts a new one (with `since`), as does a reason when
   * there was none; null ends it. An admin's confirmation is for one episode (`confirmMissing`).
   * Returns whether an episode started or ended on this call (for the one log line per change), or
   * 'same'. An unknown id is 'same'.
   */
  async setSuspect(id: number, reason: string | null, since: string): Promise<'started' | 'ended' | 'same'> {
    return this.db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom('libraries')
        .select(['suspect_reason'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!current) return 'same';
      if (reason === null) {
        if (current.suspect_reason === null) return 'same';
        await trx
          .updateTable('libraries')
          .set({ suspect_reason: null, suspect_since: null })
          .where('id', '=', id)
          .execute();
        return 'ended';
      }
      if (current.suspect_reason === reason) return 'same';
      await trx
        .updateTable('libraries')
        .set({ suspect_reason: reason, suspect_since: since })
        .where('id', '=', id)
        .execute();
      return 'started';
    });
  }

  /**
   * An admin confirms that the files of a suspect library are really gone: the episode in progress
   * stops braking (`missing_confirmed_at` takes its `suspect_since`; a later episode brakes again),
   * and the files marked missing so far are confirmed gone (they never make it suspect again).
   * Returns false when the library is not suspect (or unknown).
   */
  async confirmMissing(id: number, at = new Date().toISOString()): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('libraries')
        .set((eb) => ({ missing_confirmed_at: eb.ref('suspect_since') }))
        .where('id', '=', id)
        .where('suspect_reason', 'is not', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await trx
        .updateTable('image_exif_missing')
        .set({ confirmed_at: at })
        .where('library_id', '=', id)
        .where('confirmed_at', 'is', null)
        .execute();
      return true;
    });
  }

  /** Set `last_quick_scan_at` or `last_full_scan_at` to `at` (ISO-8601 UTC). */
  async markScanned(id: number, kind: ScanKind, at: string): Promise<void> {
    const column = kind === 'quick' ? 'last_quick_scan_at' : 'last_full_scan_at';
    await this.db
      .updateTable('libraries')
      .set({ [column]: at })
      .where('id', '=', id)
      .execute();
  }

  /** Number of image_exif rows in a library. */
  async countFiles(libraryId: number): Promise<number> {
    const row = await this.db
      .selectFrom('image_exif')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('library_id', '=', libraryId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** image_exif rows per media type in one library. */
  async countFilesByMediaType(libraryId: number): Promise<MediaTypeCounts> {
    const counts = await this.fileCountsByLibrary(libraryId);
    return counts.get(libraryId) ?? emptyCounts();
  }

  /** image_exif rows per media type for every library (or one), in one query; libraries without files are absent. */
  async fileCountsByLibrary(libraryId?: number): Promise<Map<number, MediaTypeCounts>> {
    let query = this.db
      .selectFrom('image_exif')
      .select((eb) => ['library_id', 'media_type', eb.fn.countAll<number>().as('count')])
      .groupBy(['library_id', 'media_type']);
    if (libraryId !== undefined) query = query.where('library_id', '=', libraryId);
    const result = new Map<number, MediaTypeCounts>();
    for (const row of await query.execute()) {
      let counts = result.get(row.library_id);
      if (!counts) {
        counts = emptyCounts();
        result.set(row.library_id, counts);
      }
      const count = Number(row.count);
      counts.total += count;
      if (row.media_type === 'photo' || row.media_type === 'raw' || row.media_type === 'video') {
        counts[row.media_type] += count;
      }
    }
    return result;
  }
}

function emptyCounts(): MediaTypeCounts {
  return { photo: 0, raw: 0, video: 0, total: 0 };
}
