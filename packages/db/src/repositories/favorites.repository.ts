import { encodeIdCursor, type IdCursor, MAX_PAGE_LIMIT } from '@lumen/core';
import type { Kysely, Selectable } from 'kysely';
import type { DB, Favorites } from '../schema.generated.ts';
import { favoriteHashes } from './photo-items.ts';

export type FavoriteRow = Selectable<Favorites>;

/** The photo a favorite points at: keyed by content hash, with the location it was marked at. */
export interface FavoritePhotoRef {
  libraryId: number;
  relPath: string;
  contentHash: string;
}

export interface FavoritePage {
  items: FavoriteRow[];
  /** Opaque; pass back as `cursor` for the next page. Null on the last page. */
  nextCursor: string | null;
}

/**
 * Favorites per user, keyed by (user_id, content_hash) so a favorite follows the content across
 * moves and duplicates. To list favorites as photo items, use PhotosRepository.search with
 * `favoriteOf: userId`; `list` here returns the favorite rows themselves (newest first), including
 * ones whose photo is currently missing.
 */
export class FavoritesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Mark a photo favorite; true when it was not already (adding twice is harmless). */
  async add(userId: number, photo: FavoritePhotoRef): Promise<boolean> {
    const result = await this.db
      .insertInto('favorites')
      .values({
        user_id: userId,
        library_id: photo.libraryId,
        rel_path: photo.relPath,
        content_hash: photo.contentHash,
        created_at: new Date().toISOString(),
      })
      .onConflict((oc) => oc.columns(['user_id', 'content_hash']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Unmark; true when it was a favorite. */
  async remove(userId: number, contentHash: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('favorites')
      .where('user_id', '=', userId)
      .where('content_hash', '=', contentHash)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** A user's favorites, newest first, `limit` (1..500) at a time after `cursor`. */
  async list(userId: number, page: { limit: number; cursor?: IdCursor }): Promise<FavoritePage> {
    const limit = Math.min(Math.max(Math.trunc(page.limit), 1), MAX_PAGE_LIMIT);
    let query = this.db.selectFrom('favorites').selectAll().where('user_id', '=', userId);
    if (page.cursor) query = query.where('id', '<', page.cursor.id);
    const rows = await query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeIdCursor({ id: last.id }) : null };
  }

  /** How many favorites a user has. */
  async count(userId: number): Promise<number> {
    const row = await this.db
      .selectFrom('favorites')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** The hashes among `hashes` that the user marked favorite (one query per 500 hashes). */
  async favoriteHashes(userId: number, hashes: readonly string[]): Promise<Set<string>> {
    return favoriteHashes(this.db, userId, hashes);
  }
}
