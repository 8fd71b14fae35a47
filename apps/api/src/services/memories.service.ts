import type { MemoriesQuery } from '@lumen/core';
import type { MemoriesRepository } from '@lumen/db';
import { type PhotoItemView, toPhotoItemView } from './photo-item-view.ts';
import type { PhotoLocator } from './photo-locator.ts';

export interface MemoryGroupView {
  year: number;
  /** The span in that year: first local date, and the first date after it (exclusive). */
  from: string;
  to: string;
  /** Oldest first. */
  items: PhotoItemView[];
  /** The year had more matches than `limit_per_year`. */
  more: boolean;
}

/**
 * Memories (SPEC 4): photos taken in the same day, week or month of earlier years, grouped by year,
 * newest year first, EXCLUDED_DIRS left out. Dates are compared in the photo's own offset when it
 * has one, else in `tz` (see memories-span in @lumen/core).
 */
export class MemoriesService {
  constructor(
    private readonly memories: MemoriesRepository,
    private readonly locator: PhotoLocator,
    private readonly excludedDirs: readonly string[],
    private readonly now: () => Date = () => new Date(),
  ) {}

  async list(query: MemoriesQuery, userId: number): Promise<{ groups: MemoryGroupView[] }> {
    const libraryIds = await this.locator.searchScope(query.library);
    const result = await this.memories.memories({
      libraryIds,
      ...(query.path === undefined ? {} : { folder: { dir: query.path, recursive: query.recursive } }),
      mediaType: query.media_type,
      excludedDirs: this.excludedDirs,
      span: query.span,
      tz: query.tz,
      now: this.now(),
      limitPerYear: query.limit_per_year,
      userId,
    });
    return {
      groups: result.groups.map((group) => ({
        year: group.year,
        from: group.from,
        to: group.to,
        items: group.items.map(toPhotoItemView),
        more: group.more,
      })),
    };
  }
}
