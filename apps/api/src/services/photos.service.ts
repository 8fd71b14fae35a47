import { type PhotosQuery, toPhotoSearch } from '@lumen/core';
import type { PhotosRepository } from '@lumen/db';
import { type PhotoItemView, toPhotoItemView } from './photo-item-view.ts';
import type { PhotoLocator } from './photo-locator.ts';

/** A page of `/photos` (and `/favorites`) as the api answers it. */
export interface PhotoPageView {
  items: PhotoItemView[];
  total: number;
  next_cursor: string | null;
  /** Shuffle only. */
  seed?: string;
}

/**
 * Photo search (`GET /photos`): every filter, sort and page is done in SQL by PhotosRepository;
 * this decides which libraries a query covers (the one named, or every Online library) and shapes
 * the answer.
 */
export class PhotosService {
  constructor(
    private readonly photos: PhotosRepository,
    private readonly locator: PhotoLocator,
  ) {}

  /** One page; `favorite=true` (or `favoritesOnly`) limits it to the user's favorites. */
  async search(
    query: PhotosQuery,
    userId: number,
    options: { favoritesOnly?: boolean } = {},
  ): Promise<PhotoPageView> {
    const libraryIds = await this.locator.searchScope(query.library);
    const effective = options.favoritesOnly ? { ...query, favorite: true } : query;
    const page = await this.photos.search(toPhotoSearch(effective, { libraryIds, userId }));
    return {
      items: page.items.map(toPhotoItemView),
      total: page.total,
      next_cursor: page.nextCursor,
      ...(page.seed === undefined ? {} : { seed: page.seed }),
    };
  }
}
