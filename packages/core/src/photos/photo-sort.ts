/** The orders `/photos` offers (SPEC 4). Every one is total: ties are broken by the row id. */
export const PHOTO_SORTS = [
  'Shuffle',
  'NameAsc',
  'NameDesc',
  'TagCountAsc',
  'TagCountDesc',
  'DateTakenAsc',
  'DateTakenDesc',
] as const;
export type PhotoSort = (typeof PHOTO_SORTS)[number];

export const DEFAULT_PHOTO_SORT: PhotoSort = 'DateTakenDesc';

/** `photo` includes RAW files; `all` means no filter. */
export const MEDIA_TYPE_FILTERS = ['photo', 'video', 'all'] as const;
export type MediaTypeFilter = (typeof MEDIA_TYPE_FILTERS)[number];

/** `any`: the photo has at least one of the tags; `all`: it has every one of them. */
export const TAG_MODES = ['any', 'all'] as const;
export type TagMode = (typeof TAG_MODES)[number];

/** Largest page a client may ask for. */
export const MAX_PAGE_LIMIT = 500;
export const DEFAULT_PAGE_LIMIT = 100;
