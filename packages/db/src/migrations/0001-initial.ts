import { type Kysely, type Migration, sql } from 'kysely';
import { type DatabaseKind, dialectColumns } from './dialect-columns.ts';

/** The initial schema (see the schema contract): every table, unique constraint, index and check. */
export function initialMigration(kind: DatabaseKind): Migration {
  const t = dialectColumns(kind);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('libraries')
        .addColumn('id', 'integer', t.id)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('root', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('online'))
        .addColumn('status_reason', 'text')
        .addColumn('status_changed_at', 'text')
        .addColumn('last_quick_scan_at', 'text')
        .addColumn('last_full_scan_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('users')
        .addColumn('id', 'integer', t.id)
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('app_settings')
        .addColumn('key', 'text', (c) => c.primaryKey().notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('image_exif')
        .addColumn('id', 'integer', t.id)
        .addColumn('library_id', 'integer', (c) => c.notNull().references('libraries.id').onDelete('cascade'))
        .addColumn('rel_path', 'text', (c) => c.notNull())
        .addColumn('dir', 'text', (c) => c.notNull())
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('mime_type', 'text')
        .addColumn('size_bytes', t.bigint, (c) => c.notNull())
        .addColumn('mtime_ms', t.bigint, (c) => c.notNull())
        .addColumn('content_hash', 'text')
        .addColumn('camera_make', 'text')
        .addColumn('camera_model', 'text')
        .addColumn('lens_model', 'text')
        .addColumn('width', 'integer')
        .addColumn('height', 'integer')
        .addColumn('orientation', 'integer')
        .addColumn('gps_lat', t.double)
        .addColumn('gps_lon', t.double)
        .addColumn('gps_alt', t.double)
        .addColumn('focal_length', t.double)
        .addColumn('aperture', t.double)
        .addColumn('exposure_time', t.double)
        .addColumn('iso', 'integer')
        .addColumn('date_taken', 'text')
        .addColumn('date_taken_offset', 'text')
        .addColumn('date_taken_source', 'text')
        .addColumn('duration_sec', t.double)
        .addColumn('video_codec', 'text')
        .addColumn('audio_codec', 'text')
        .addColumn('thumb_status', 'text', (c) => c.notNull().defaultTo('pending'))
        .addColumn('preview_status', 'text', (c) => c.notNull().defaultTo('pending'))
        .addColumn('ingest_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('image_exif_library_id_rel_path_key', ['library_id', 'rel_path'])
        .execute();
      await createIndex(db, 'image_exif', ['content_hash']);
      await createIndex(db, 'image_exif', ['library_id', 'dir']);
      await createIndex(db, 'image_exif', ['date_taken']);
      await createIndex(db, 'image_exif', ['gps_lat', 'gps_lon', 'date_taken']);
      await createIndex(db, 'image_exif', ['camera_make', 'camera_model']);
      await createIndex(db, 'image_exif', ['lens_model']);
      await createIndex(db, 'image_exif', ['media_type']);

      await db.schema
        .createTable('tags')
        .addColumn('id', 'integer', t.id)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_normalized', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('tagged_photo')
        .addColumn('id', 'integer', t.id)
        .addColumn('tag_id', 'integer', (c) => c.notNull().references('tags.id').onDelete('cascade'))
        .addColumn('library_id', 'integer', (c) => c.notNull())
        .addColumn('rel_path', 'text', (c) => c.notNull())
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('tagged_photo_tag_id_content_hash_key', ['tag_id', 'content_hash'])
        .execute();
      await createIndex(db, 'tagged_photo', ['content_hash']);
      await createIndex(db, 'tagged_photo', ['library_id', 'rel_path']);

      await db.schema
        .createTable('favorites')
        .addColumn('id', 'integer', t.id)
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('library_id', 'integer', (c) => c.notNull())
        .addColumn('rel_path', 'text', (c) => c.notNull())
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('favorites_user_id_content_hash_key', ['user_id', 'content_hash'])
        .execute();
      await createIndex(db, 'favorites', ['content_hash']);

      await db.schema
        .createTable('photo_insights')
        .addColumn('id', 'integer', t.id)
        .addColumn('library_id', 'integer', (c) => c.notNull())
        .addColumn('rel_path', 'text', (c) => c.notNull())
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('title', 'text')
        .addColumn('summary', 'text')
        .addColumn('model', 'text')
        .addColumn('is_current', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('rating', 'integer')
        .addColumn('transcript', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await createIndex(db, 'photo_insights', ['content_hash']);

      await db.schema
        .createTable('persons')
        .addColumn('id', 'integer', t.id)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_normalized', 'text', (c) => c.notNull().unique())
        .addColumn('cover_face_id', 'integer')
        .addColumn('notes', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('face_detections')
        .addColumn('id', 'integer', t.id)
        .addColumn('library_id', 'integer', (c) => c.notNull())
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('rel_path', 'text', (c) => c.notNull())
        .addColumn('bbox_x', t.double)
        .addColumn('bbox_y', t.double)
        .addColumn('bbox_w', t.double)
        .addColumn('bbox_h', t.double)
        .addColumn('embedding', t.bytes)
        .addColumn('confidence', t.double)
        .addColumn('source', 'text', (c) => c.notNull().defaultTo('auto'))
        .addColumn('person_id', 'integer', (c) => c.references('persons.id').onDelete('set null'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('model_version', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addCheckConstraint(
          'face_detections_detected_has_box_check',
          sql`(status = 'detected' and bbox_x is not null and bbox_y is not null and bbox_w is not null
               and bbox_h is not null and embedding is not null)
            or (status <> 'detected' and bbox_x is null and bbox_y is null and bbox_w is null
               and bbox_h is null and embedding is null)`,
        )
        .execute();
      await createIndex(db, 'face_detections', ['content_hash']);
      await createIndex(db, 'face_detections', ['person_id']);
      await createIndex(db, 'face_detections', ['library_id', 'rel_path']);
    },
  };
}

/** Index named `<table>_<col>_<col>_idx`. */
async function createIndex(db: Kysely<unknown>, table: string, columns: string[]): Promise<void> {
  await db.schema
    .createIndex(`${table}_${columns.join('_')}_idx`)
    .on(table)
    .columns(columns)
    .execute();
}
