import { z } from 'zod';
import { MAX_GREAT_CIRCLE_KM } from './geo-radius.ts';
import { CursorError, decodePhotoCursor, type PhotoCursor } from './page-cursor.ts';
import type { PhotoSearch } from './photo-search.ts';
import {
  DEFAULT_PAGE_LIMIT,
  DEFAULT_PHOTO_SORT,
  MAX_PAGE_LIMIT,
  MEDIA_TYPE_FILTERS,
  PHOTO_SORTS,
  TAG_MODES,
} from './photo-sort.ts';
import {
  booleanParam,
  idListParam,
  integerParam,
  isoInstantParam,
  libraryParam,
  MAX_ROW_ID,
  numberParam,
  relPathParam,
  textParam,
} from './query-params.ts';
import { randomShuffleSeed, shuffleSeedSchema } from './shuffle-key.ts';

/** At most this many tag ids in one `/photos` filter. */
export const MAX_FILTER_TAG_IDS = 100;

const cursorParam = z
  .string()
  .max(8192)
  .transform((text, ctx): PhotoCursor => {
    try {
      return decodePhotoCursor(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof CursorError ? error.message : 'bad cursor' });
      return z.NEVER;
    }
  });

/**
 * The query string of `GET /photos` (SPEC 4), parameter names as clients send them. Cross-field
 * rules: the three GPS parameters come together; date_from <= date_to; a cursor must come from the
 * same sort (and, for Shuffle, the same seed when one is given).
 */
export const photosQuerySchema = z
  .object({
    library: libraryParam.optional(),
    path: relPathParam({ allowRoot: true }).optional(),
    recursive: booleanParam.prefault('false'),
    sort: z.enum(PHOTO_SORTS).default(DEFAULT_PHOTO_SORT),
    seed: shuffleSeedSchema.optional(),
    camera_make: textParam.optional(),
    camera_model: textParam.optional(),
    lens: textParam.optional(),
    gps_lat: numberParam(-90, 90).optional(),
    gps_lon: numberParam(-180, 180).optional(),
    gps_radius_km: numberParam(0, MAX_GREAT_CIRCLE_KM, { exclusiveMin: true }).optional(),
    date_from: isoInstantParam('start').optional(),
    date_to: isoInstantParam('end').optional(),
    tag_ids: idListParam(MAX_FILTER_TAG_IDS).optional(),
    tag_mode: z.enum(TAG_MODES).default('any'),
    media_type: z.enum(MEDIA_TYPE_FILTERS).default('all'),
    favorite: booleanParam.optional(),
    person: integerParam(1, MAX_ROW_ID).optional(),
    limit: integerParam(1, MAX_PAGE_LIMIT).prefault(String(DEFAULT_PAGE_LIMIT)),
    cursor: cursorParam.optional(),
  })
  .superRefine((q, ctx) => {
    const gps = { gps_lat: q.gps_lat, gps_lon: q.gps_lon, gps_radius_km: q.gps_radius_km };
    const given = Object.values(gps).filter((v) => v !== undefined).length;
    if (given > 0 && given < 3) {
      for (const [name, value] of Object.entries(gps)) {
        if (value === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'gps_lat, gps_lon and gps_radius_km must be given together',
          });
        }
      }
    }
    if (q.date_from !== undefined && q.date_to !== undefined && q.date_from > q.date_to) {
      ctx.addIssue({ code: 'custom', path: ['date_to'], message: 'must not be before date_from' });
    }
    if (q.cursor !== undefined) {
      if (q.cursor.s !== q.sort) {
        ctx.addIssue({ code: 'custom', path: ['cursor'], message: `cursor belongs to sort ${q.cursor.s}` });
      } else if (q.cursor.s === 'Shuffle' && q.seed !== undefined && q.cursor.seed !== q.seed) {
        ctx.addIssue({ code: 'custom', path: ['cursor'], message: 'cursor belongs to another seed' });
      }
    }
  });
export type PhotosQueryInput = z.input<typeof photosQuerySchema>;
export type PhotosQuery = z.output<typeof photosQuerySchema>;

/**
 * Turn a validated query into what PhotosRepository.search takes. The caller resolves `library`
 * (one id, or every Online library) and supplies the signed-in user, who owns `favorite=true` and
 * whose favorite flags the items carry. A Shuffle without a seed continues the cursor's seed, or
 * starts a new random one (the answer should echo it).
 */
export function toPhotoSearch(
  query: PhotosQuery,
  context: { libraryIds: readonly number[]; userId?: number },
): PhotoSearch {
  const search: PhotoSearch = {
    libraryIds: context.libraryIds,
    sort: query.sort,
    limit: query.limit,
    mediaType: query.media_type,
  };
  if (context.userId !== undefined) search.userId = context.userId;
  if (query.path !== undefined) search.folder = { dir: query.path, recursive: query.recursive };
  if (query.camera_make !== undefined) search.cameraMake = query.camera_make;
  if (query.camera_model !== undefined) search.cameraModel = query.camera_model;
  if (query.lens !== undefined) search.lens = query.lens;
  if (query.gps_lat !== undefined && query.gps_lon !== undefined && query.gps_radius_km !== undefined) {
    search.gps = { lat: query.gps_lat, lon: query.gps_lon, radiusKm: query.gps_radius_km };
  }
  if (query.date_from !== undefined) search.dateFrom = query.date_from;
  if (query.date_to !== undefined) search.dateTo = query.date_to;
  if (query.tag_ids !== undefined) search.tags = { ids: query.tag_ids, mode: query.tag_mode };
  if (query.person !== undefined) search.personId = query.person;
  if (query.favorite === true) {
    if (context.userId === undefined) throw new Error('favorite=true needs the signed-in user');
    search.favoriteOf = context.userId;
  }
  if (query.cursor !== undefined) search.cursor = query.cursor;
  if (query.sort === 'Shuffle') {
    const cursorSeed = query.cursor?.s === 'Shuffle' ? query.cursor.seed : undefined;
    search.seed = query.seed ?? cursorSeed ?? randomShuffleSeed();
  }
  return search;
}
