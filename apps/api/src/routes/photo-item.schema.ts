import { z } from '@hono/zod-openapi';

/** OpenAPI description of a photo item (see PhotoItemView): what `/photos`, `/favorites` and `/memories` list. */
export const PhotoItemSchema = z
  .object({
    id: z.number().int().openapi({ description: 'Row id (changes when the file is re-ingested elsewhere)' }),
    library: z.string().openapi({ description: 'Library name', example: 'main' }),
    library_id: z.number().int(),
    path: z
      .string()
      .openapi({ description: 'Relative to the library root', example: '2024/summer/IMG_0001.jpg' }),
    file_name: z.string(),
    media_type: z.enum(['photo', 'video']).openapi({ description: 'RAW files are photos (is_raw true)' }),
    is_raw: z.boolean(),
    mime_type: z.string().nullable(),
    size_bytes: z.number().int(),
    date_taken: z
      .string()
      .nullable()
      .openapi({ description: 'ISO-8601 UTC instant', example: '2024-07-14T09:30:00.000Z' }),
    date_taken_offset: z.string().nullable().openapi({ example: '+02:00' }),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    orientation: z.number().int().nullable().openapi({ description: 'EXIF orientation 1-8' }),
    gps: z
      .object({ lat: z.number(), lon: z.number(), alt: z.number().nullable() })
      .nullable()
      .openapi({ description: 'Signed decimal degrees; altitude in metres' }),
    camera_make: z.string().nullable(),
    camera_model: z.string().nullable(),
    lens_model: z.string().nullable(),
    content_hash: z.string().nullable().openapi({ example: 'xxh3-128:0cb64fb1d33d247d2df2abd438ec88ab' }),
    duration_sec: z.number().nullable(),
    thumb_status: z.string().openapi({ description: 'pending, ready, unsupported or failed' }),
    preview_status: z.string(),
    tag_ids: z.array(z.number().int()).openapi({ description: 'Tags on this content, ascending' }),
    favorite: z.boolean().openapi({ description: 'Marked favorite by the signed-in user' }),
    thumbnail_url: z
      .string()
      .openapi({ example: '/image?path=2024%2Fsummer%2FIMG_0001.jpg&library=1&size=thumb' }),
  })
  .openapi('PhotoItem');

/** A page of photo items. */
export const PhotoPageSchema = z
  .object({
    items: z.array(PhotoItemSchema),
    total: z.number().int().openapi({ description: 'Matches over all pages' }),
    next_cursor: z.string().nullable().openapi({
      description: 'Opaque; pass it as `cursor` (same query) for the next page; null on the last page',
    }),
    seed: z
      .string()
      .optional()
      .openapi({ description: 'Shuffle only: the seed used; pass it back to restart the same order' }),
  })
  .openapi('PhotoPage');
