import type { PhotoRef, PhotosQuery } from '@lumen/core';
import type { FavoritesRepository } from '@lumen/db';
import type { PhotoLocator } from './photo-locator.ts';
import type { PhotoPageView, PhotosService } from './photos.service.ts';

/** What `POST /favorites` and `DELETE /favorites` answer. */
export interface FavoriteChange {
  library: string;
  path: string;
  favorite: boolean;
  /** Whether this request changed anything (false: it already was / was not a favorite). */
  changed: boolean;
}

/**
 * Favorites per user (SPEC 4): keyed by the content hash, so a favorite follows a file that moves.
 * The list is a photo search limited to the user's favorites, with the same filters, sorts and
 * paging as `/photos`.
 */
export class FavoritesService {
  constructor(
    private readonly favorites: FavoritesRepository,
    private readonly locator: PhotoLocator,
    private readonly photos: PhotosService,
  ) {}

  async add(userId: number, ref: PhotoRef): Promise<FavoriteChange> {
    const photo = await this.locator.locate(ref);
    const changed = await this.favorites.add(userId, photo);
    return { library: photo.library, path: photo.relPath, favorite: true, changed };
  }

  async remove(userId: number, ref: PhotoRef): Promise<FavoriteChange> {
    const photo = await this.locator.locate(ref);
    const changed = await this.favorites.remove(userId, photo.contentHash);
    return { library: photo.library, path: photo.relPath, favorite: false, changed };
  }

  list(userId: number, query: PhotosQuery): Promise<PhotoPageView> {
    return this.photos.search(query, userId, { favoritesOnly: true });
  }
}
