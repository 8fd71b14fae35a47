import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Indexes for the `/photos` filters and sorts (issue 4), the same on SQLite and Postgres:
 * - date_taken, id: DateTaken sorts page by (date_taken, id); replaces the date_taken index (which
 *   it covers, on SQLite the two were identical).
 * - file_name, rel_path, id: NameAsc/NameDesc page by that triple.
 * - lower(camera_make), lower(camera_model) and lower(lens_model): the camera and lens filters
 *   compare case-insensitively; they replace the plain (camera_make, camera_model) and lens_model
 *   indexes, which no query used.
 * The tag and favorite filters need nothing new: UNIQUE(tag_id, content_hash) and
 * UNIQUE(user_id, content_hash) already index by tag and by user.
 */
export function photoQueryIndexesMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('image_exif_date_taken_idx').execute();
      await db.schema.dropIndex('image_exif_camera_make_camera_model_idx').execute();
      await db.schema.dropIndex('image_exif_lens_model_idx').execute();
      await db.schema
        .createIndex('image_exif_date_taken_id_idx')
        .on('image_exif')
        .columns(['date_taken', 'id'])
        .execute();
      await db.schema
        .createIndex('image_exif_file_name_rel_path_id_idx')
        .on('image_exif')
        .columns(['file_name', 'rel_path', 'id'])
        .execute();
      await db.schema
        .createIndex('image_exif_lower_camera_idx')
        .on('image_exif')
        .expression(sql`lower(camera_make), lower(camera_model)`)
        .execute();
      await db.schema
        .createIndex('image_exif_lower_lens_idx')
        .on('image_exif')
        .expression(sql`lower(lens_model)`)
        .execute();
    },
  };
}
