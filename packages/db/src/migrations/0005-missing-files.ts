import type { Kysely, Migration } from 'kysely';
import { type DatabaseKind, dialectColumns } from './dialect-columns.ts';

/**
 * Missing is a state, not a delete (issue 10):
 * - `image_exif_missing` holds the rows of files the missing-file scan found gone: the whole
 *   `image_exif` row, same id, plus `missing_since`. A file found again moves back with its id;
 *   a row is deleted only after MISSING_GRACE_SECONDS. Rows here are hidden from every listing
 *   (they are not in image_exif), while their content hashes still count as referenced for the
 *   orphan GC, so tags, favorites, faces and insights stay. Why a table and not a column on
 *   image_exif: docs/decisions.md, "Missing files live in a table of their own".
 * - libraries gain the mass-disappearance brake: `suspect_reason` and `suspect_since` (set by the
 *   watcher while a tick's disappearances look like a dropped mount) and `missing_confirmed_at`
 *   (the `suspect_since` of the episode an admin confirmed).
 *
 * Idempotent: tables and indexes `if not exists`, columns added only when absent, so a database
 * that was changed by hand (or a half-run migration on SQLite, which has no transactional DDL)
 * migrates cleanly.
 */
export function missingFilesMigration(kind: DatabaseKind): Migration {
  const t = dialectColumns(kind);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('image_exif_missing')
        .ifNotExists()
        // The image_exif id, kept while the row is here (not generated).
        .addColumn('id', 'integer', (c) => c.primaryKey().notNull())
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
        .addColumn('thumb_status', 'text', (c) => c.notNull())
        .addColumn('preview_status', 'text', (c) => c.notNull())
        .addColumn('ingest_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('missing_since', 'text', (c) => c.notNull())
        // Set when an admin confirmed the file gone (it then never makes its library suspect).
        .addColumn('confirmed_at', 'text')
        .addUniqueConstraint('image_exif_missing_library_id_rel_path_key', ['library_id', 'rel_path'])
        .execute();
      for (const columns of [['library_id', 'dir'], ['library_id', 'id'], ['content_hash']]) {
        await db.schema
          .createIndex(`image_exif_missing_${columns.join('_')}_idx`)
          .ifNotExists()
          .on('image_exif_missing')
          .columns(columns)
          .execute();
      }

      const libraryColumns = await columnsOf(db, 'libraries');
      for (const column of ['suspect_reason', 'suspect_since', 'missing_confirmed_at']) {
        if (libraryColumns.has(column)) continue;
        await db.schema.alterTable('libraries').addColumn(column, 'text').execute();
      }
    },
  };
}

async function columnsOf(db: Kysely<unknown>, table: string): Promise<Set<string>> {
  const tables = await db.introspection.getTables();
  const found = tables.find((t) => t.name === table);
  return new Set(found?.columns.map((c) => c.name) ?? []);
}
