/**
 * Quick-scan filter: a directory is worth comparing with the database when it, or any file in
 * it, was modified after `sinceMs`. Adding, removing or renaming a file touches the directory's
 * mtime (even `cp -p`, which keeps the file's old mtime); rewriting a file touches the file's.
 */
export function directoryChangedSince(
  dirMtimeMs: number,
  files: readonly { mtimeMs: number }[],
  sinceMs: number,
): boolean {
  if (dirMtimeMs > sinceMs) return true;
  for (const file of files) if (file.mtimeMs > sinceMs) return true;
  return false;
}
