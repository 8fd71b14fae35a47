/**
 * Folders every scan skips: NAS metadata and recycle bins (Synology `@eaDir`, `#recycle`,
 * `#snapshot`) and thumbnail caches. Dot-folders and dot-files are skipped as well (the walk
 * applies that rule itself). `EXCLUDED_DIRS` is not applied by scans: excluded folders stay
 * browsable, they are only left out of memories and face detection.
 */
export const DEFAULT_SKIPPED_DIR_NAMES: readonly string[] = [
  '@eaDir',
  '.thumbnails',
  '#recycle',
  '#snapshot',
];

/**
 * Temporary files of uploads in progress (`POST /image` writes `.upload-<16 hex>.part` in the target
 * folder or in DATA_DIR/upload-staging, then gives the file its final name). Dot-files, so scans
 * never ingest them. One not modified for `UPLOAD_LEFTOVER_AGE_MS` belongs to an upload that died
 * with its process: the api's staging sweep and the watcher's scans remove it.
 */
export const UPLOAD_TEMP_NAME = /^\.upload-[0-9a-f]{16}\.part$/;
export const UPLOAD_LEFTOVER_AGE_MS = 60 * 60 * 1000;

export function uploadTempName(randomHex16: string): string {
  const name = `.upload-${randomHex16}.part`;
  if (!UPLOAD_TEMP_NAME.test(name)) throw new Error(`not 16 hex digits: ${randomHex16}`);
  return name;
}

/** An upload temporary file whose last write is at least `UPLOAD_LEFTOVER_AGE_MS` before `nowMs`. */
export function isUploadLeftover(name: string, mtimeMs: number, nowMs: number): boolean {
  return UPLOAD_TEMP_NAME.test(name) && nowMs - mtimeMs >= UPLOAD_LEFTOVER_AGE_MS;
}
