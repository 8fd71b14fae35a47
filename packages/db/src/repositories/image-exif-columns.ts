import type { Insertable } from 'kysely';
import type { ImageExif, ImageExifMissing } from '../schema.generated.ts';

type ImageExifInput = Omit<Insertable<ImageExif>, 'id' | 'created_at' | 'updated_at'>;

/** Every column `upsert` writes, in table order; the check below keeps it in step with the schema. */
export const INPUT_COLUMNS = [
  'library_id',
  'rel_path',
  'dir',
  'file_name',
  'media_type',
  'mime_type',
  'size_bytes',
  'mtime_ms',
  'content_hash',
  'camera_make',
  'camera_model',
  'lens_model',
  'width',
  'height',
  'orientation',
  'gps_lat',
  'gps_lon',
  'gps_alt',
  'focal_length',
  'aperture',
  'exposure_time',
  'iso',
  'date_taken',
  'date_taken_offset',
  'date_taken_source',
  'duration_sec',
  'video_codec',
  'audio_codec',
  'thumb_status',
  'preview_status',
  'ingest_error',
] as const satisfies readonly (keyof ImageExifInput)[];
type ColumnsNotWritten = Exclude<keyof ImageExifInput, (typeof INPUT_COLUMNS)[number]>;
const everyInputColumnIsWritten: [ColumnsNotWritten] extends [never] ? true : ColumnsNotWritten = true;
void everyInputColumnIsWritten;

/** Every column of image_exif (and of image_exif_missing but its own two), in table order. */
export const IMAGE_EXIF_COLUMNS = ['id', ...INPUT_COLUMNS, 'created_at', 'updated_at'] as const;
type MissingColumnsNotCopied = Exclude<
  keyof ImageExifMissing,
  (typeof IMAGE_EXIF_COLUMNS)[number] | 'missing_since' | 'confirmed_at'
>;
type ExifColumnsNotCopied = Exclude<keyof ImageExif, (typeof IMAGE_EXIF_COLUMNS)[number]>;
// Both tables must keep the same columns: a column added to one only fails typecheck here.
const sameColumns: [MissingColumnsNotCopied | ExifColumnsNotCopied] extends [never]
  ? true
  : MissingColumnsNotCopied | ExifColumnsNotCopied = true;
void sameColumns;
