/**
 * How many values go into one `IN (...)` list. SQLite caps bound variables per statement (32766 in
 * better-sqlite3 12, 999 in old builds), Postgres at 65535; 500 keeps statements small on both.
 */
export const IN_LIST_CHUNK_SIZE = 500;

/** Bound variables allowed in one multi-row INSERT (below SQLite's 32766). */
export const MAX_BOUND_VARIABLES = 30_000;

/** Split `items` into consecutive arrays of at most `size` items. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (size < 1) throw new RangeError(`chunk size must be at least 1, got ${size}`);
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
