/**
 * Results of reads, kept until the database changes: every lookup compares the entry's change stamp
 * with the current one (Database.changeStamp), so a write anywhere (this process, the watcher, the
 * CLI) makes every entry stale at once. Nothing is served that the database would not answer now,
 * apart from what a read racing a write may see anyway. Without a stamp (Postgres) it always reads.
 *
 * For reads that are costly and repeated, like the COUNT behind `/photos` totals while a user pages
 * through one search. Values are shared between callers: treat them as read-only.
 */
export class ReadCache {
  private readonly entries = new Map<string, { stamp: string; value: unknown }>();

  constructor(
    private readonly changeStamp: () => string | null,
    private readonly maxEntries = 500,
  ) {}

  /** The cached value of `key` if nothing changed since it was read, else `load()` (then kept). */
  async get<T>(key: string, load: () => Promise<T>): Promise<T> {
    // The stamp is taken before reading, so a write that lands during the read leaves the entry
    // stale (its stamp is older), never a stale value under a new stamp.
    const stamp = this.changeStamp();
    if (stamp === null) return load();
    const hit = this.entries.get(key);
    if (hit && hit.stamp === stamp) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value as T;
    }
    const value = await load();
    this.entries.delete(key);
    this.entries.set(key, { stamp, value });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }

  /** How many entries are kept (for tests). */
  get size(): number {
    return this.entries.size;
  }
}
