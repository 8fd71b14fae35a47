/**
 * `EXCLUDED_DIRS` (SPEC 2): comma-separated paths or substrings such as `@eaDir`, `.thumbnails` or
 * `private/2019`. A folder is excluded when its library-relative path contains an entry, so an entry
 * matches at any depth (`@eaDir` excludes `2024/@eaDir` and everything under it). Entries are
 * trimmed and lose leading and trailing slashes; empty ones are dropped.
 */
export function normalizeExcludedDirs(entries: readonly string[]): string[] {
  const normalized = entries.map((entry) => entry.trim().replace(/^\/+|\/+$/g, '')).filter((e) => e !== '');
  return [...new Set(normalized)];
}

/** True when the folder `dir` (library-relative, '' for the root) is excluded by a normalized entry. */
export function isExcludedDir(dir: string, excluded: readonly string[]): boolean {
  return excluded.some((entry) => dir.includes(entry));
}
