import type { Kysely, Migration } from 'kysely';

/**
 * Indexes for the tag filter and a page's tags (measured on `/photos`, docs/PERFORMANCE.md):
 * - tagged_photo(content_hash, tag_id) replaces tagged_photo(content_hash): the tag ids of a page
 *   of photos and the tag filter's per-photo probe (photo-filters.ts, tagCondition) read the index
 *   alone, never the table. Queries by hash alone use its first column as before.
 * - image_exif(date_taken, id, content_hash) replaces image_exif(date_taken, id): a page walking
 *   the date order with a tag or favorite filter tests each row by its content hash, which the
 *   index now holds, so the walk never reads the table (half the time of a tags page). The date
 *   sorts and ranges use its first two columns as before.
 */
export function tagFilterIndexesMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createIndex('tagged_photo_content_hash_tag_id_idx')
        .on('tagged_photo')
        .columns(['content_hash', 'tag_id'])
        .execute();
      await db.schema.dropIndex('tagged_photo_content_hash_idx').execute();
      await db.schema
        .createIndex('image_exif_date_taken_id_content_hash_idx')
        .on('image_exif')
        .columns(['date_taken', 'id', 'content_hash'])
        .execute();
      await db.schema.dropIndex('image_exif_date_taken_id_idx').execute();
    },
  };
}
