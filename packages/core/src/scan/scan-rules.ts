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
