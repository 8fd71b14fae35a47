/**
 * Pure comparison of one directory's listing with the rows the database holds for it.
 * The scanner lists a directory, loads its rows in one query, and asks this function
 * which files to (re)ingest. Removed files are only reported: deleting their rows is
 * the missing-file pass's job (SPEC 3), never the scan's.
 */

/** A file as the directory walk saw it. */
export interface ListedFile {
  name: string;
  size: number;
  /** `stat.mtimeMs` (may carry a fraction). */
  mtimeMs: number;
}

/** The facts of a stored row the comparison needs. */
export interface KnownFile {
  file_name: string;
  size_bytes: number;
  mtime_ms: number;
}

export interface DirectoryDiff<K extends KnownFile> {
  /** Listed, no row: ingest as new. */
  added: ListedFile[];
  /** Listed and stored, but size or mtime differ: ingest again. */
  changed: { file: ListedFile; known: K }[];
  /** Listed and stored with the same size and mtime (their rows). */
  unchanged: K[];
  /** Stored but not listed (left for the missing-file pass). */
  missing: K[];
}

/** The mtime as stored in `image_exif.mtime_ms` (whole milliseconds). */
export function storedMtimeMs(mtimeMs: number): number {
  return Math.trunc(mtimeMs);
}

export function diffDirectory<K extends KnownFile>(
  listed: readonly ListedFile[],
  known: readonly K[],
): DirectoryDiff<K> {
  const byName = new Map<string, K>();
  for (const row of known) byName.set(row.file_name, row);
  const diff: DirectoryDiff<K> = { added: [], changed: [], unchanged: [], missing: [] };
  const seen = new Set<string>();
  for (const file of listed) {
    seen.add(file.name);
    const row = byName.get(file.name);
    if (!row) diff.added.push(file);
    else if (row.size_bytes !== file.size || storedMtimeMs(row.mtime_ms) !== storedMtimeMs(file.mtimeMs)) {
      diff.changed.push({ file, known: row });
    } else diff.unchanged.push(row);
  }
  for (const row of known) if (!seen.has(row.file_name)) diff.missing.push(row);
  return diff;
}
