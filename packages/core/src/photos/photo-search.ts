import type { GpsRadius } from './geo-radius.ts';
import type { PhotoCursor } from './page-cursor.ts';
import type { MediaTypeFilter, PhotoSort, TagMode } from './photo-sort.ts';

/** Which image_exif rows a search or a memories query considers. All filters combine with AND. */
export interface PhotoFilters {
  /** Libraries to search: the one asked for, or every Online one. Empty means no results. */
  libraryIds: readonly number[];
  /** A folder ('' is the library root); `recursive` includes every sub-folder. */
  folder?: { dir: string; recursive: boolean };
  /** Case-insensitive equality on camera_make / camera_model / lens_model. */
  cameraMake?: string;
  cameraModel?: string;
  lens?: string;
  /** Within a great-circle radius (rows without GPS never match). */
  gps?: GpsRadius;
  /** Inclusive bounds on date_taken, ISO-8601 UTC as stored (rows without a date never match). */
  dateFrom?: string;
  dateTo?: string;
  /** By tag id: `any` of them or `all` of them. */
  tags?: { ids: readonly number[]; mode: TagMode };
  /** `photo` includes RAW; default `all`. */
  mediaType?: MediaTypeFilter;
  /** Only the favorites of this user id. */
  favoriteOf?: number;
  /** Only photos with a face of this person. */
  personId?: number;
}

/** One page of `/photos`. */
export interface PhotoSearch extends PhotoFilters {
  sort: PhotoSort;
  /** Required for Shuffle (toPhotoSearch fills it in). */
  seed?: string;
  /** 1..MAX_PAGE_LIMIT. */
  limit: number;
  /** Where to continue; must come from the same sort (and seed). */
  cursor?: PhotoCursor;
  /** Whose favorite flags the items carry (false everywhere without one). */
  userId?: number;
}
