import { z } from 'zod';
import { decodeIdCursor, type IdCursor } from './page-cursor.ts';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './photo-sort.ts';
import { idValue, integerParam, libraryParam, relPathParam } from './query-params.ts';
import { tagNameSchema } from './tag-name.ts';

/** Bodies and query strings of the tag and favorite endpoints (the issue's "Shapes clients rely on"). */

export const MAX_BATCH_ITEMS = 1000;
export const MAX_BATCH_TAGS = 100;

/** A photo by its location: a file path, and the library when there is more than one. */
export const photoRefSchema = z.object({
  path: relPathParam({ allowRoot: false }),
  library: libraryParam.optional(),
});
export type PhotoRef = z.output<typeof photoRefSchema>;

/** `GET /image/tags?path=&library=` */
export const photoTagsQuerySchema = photoRefSchema;

/**
 * `POST /image/tags` and `DELETE /image/tags`: a photo plus exactly one of `tag_id` or `tag_name`.
 * On POST a new name creates the tag; on DELETE an unknown name is a 404.
 */
export const tagLinkBodySchema = photoRefSchema
  .extend({ tag_id: idValue.optional(), tag_name: tagNameSchema.optional() })
  .superRefine((body, ctx) => {
    if ((body.tag_id === undefined) === (body.tag_name === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tag_id'], message: 'give exactly one of tag_id or tag_name' });
    }
  });
export type TagLinkBody = z.output<typeof tagLinkBodySchema>;

/**
 * `POST /image/tags/batch`: add tags (ids, or names that are created when new) to and remove tag
 * ids from every listed photo, in one transaction.
 */
export const tagsBatchBodySchema = z
  .object({
    items: z.array(photoRefSchema).min(1, 'must list at least one photo').max(MAX_BATCH_ITEMS),
    add: z
      .array(z.union([idValue, tagNameSchema]))
      .max(MAX_BATCH_TAGS)
      .default([]),
    remove: z.array(idValue).max(MAX_BATCH_TAGS).default([]),
  })
  .superRefine((body, ctx) => {
    if (body.add.length === 0 && body.remove.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['add'], message: 'add or remove at least one tag' });
    }
  });
export type TagsBatchBody = z.output<typeof tagsBatchBodySchema>;

/** Split `add` of a batch into tag ids and tag names. */
export function splitTagRefs(add: readonly (number | string)[]): { ids: number[]; names: string[] } {
  const ids: number[] = [];
  const names: string[] = [];
  for (const ref of add) {
    if (typeof ref === 'number') ids.push(ref);
    else names.push(ref);
  }
  return { ids: [...new Set(ids)], names };
}

/** `POST /favorites` and `DELETE /favorites`. */
export const favoriteBodySchema = photoRefSchema;

/** `GET /favorites?limit=&cursor=` */
export const favoritesQuerySchema = z.object({
  limit: integerParam(1, MAX_PAGE_LIMIT).prefault(String(DEFAULT_PAGE_LIMIT)),
  cursor: z
    .string()
    .max(8192)
    .transform((text, ctx): IdCursor => {
      try {
        return decodeIdCursor(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'cursor is not a cursor this server issued' });
        return z.NEVER;
      }
    })
    .optional(),
});
export type FavoritesQuery = z.output<typeof favoritesQuerySchema>;
