/**
 * A small key-value store with compare-and-swap, for coordination between replicas (leases).
 * NATS: a JetStream KV bucket `<prefix>_<bucket>` (history 1). Memory: a map per bus, for one
 * process. Values are strings (JSON by convention); every write returns the entry's new revision.
 */

export interface KeyValueEntry {
  value: string;
  /** Changes with every write; the `update` guard. */
  revision: number;
}

export interface KeyValueStore {
  /** The entry, or undefined when the key was never set or is deleted. */
  get(key: string): Promise<KeyValueEntry | undefined>;
  /** Set `key` only when it has no value: the new revision, or undefined when it has one. */
  create(key: string, value: string): Promise<number | undefined>;
  /** Set `key` only when its revision is still `revision`: the new one, or undefined when it moved on. */
  update(key: string, value: string, revision: number): Promise<number | undefined>;
  /** Delete `key` only when its revision is still `revision` (or always, without one). */
  delete(key: string, revision?: number): Promise<boolean>;
  /** Every key with a value, sorted. */
  keys(): Promise<string[]>;
}

export interface KeyValueOptions {
  /** Drop an entry this long after its last write (NATS: the bucket TTL; per-key TTL needs 2.11). */
  maxAgeMs?: number;
}

/** Bucket names: letters, digits, `_` and `-` (NATS KV's rule). */
export function assertBucketName(bucket: string): void {
  if (!/^[A-Za-z0-9_-]+$/.test(bucket)) {
    throw new Error(`invalid key-value bucket "${bucket}": use letters, digits, _ and -`);
  }
}

/** Keys: dot-separated tokens of letters, digits, `_`, `-`, `=` and `/` (NATS KV's rule). */
export function assertKey(key: string): void {
  if (!/^[-/=A-Za-z0-9_]+(\.[-/=A-Za-z0-9_]+)*$/.test(key)) {
    throw new Error(`invalid key "${key}": use dot-separated tokens of letters, digits, _, -, = and /`);
  }
}

/** The in-process store (standalone, tests): the same contract on a map. */
export function memoryKeyValueStore(): KeyValueStore {
  const entries = new Map<string, KeyValueEntry>();
  let sequence = 0;
  return {
    async get(key) {
      assertKey(key);
      const entry = entries.get(key);
      return entry ? { ...entry } : undefined;
    },
    async create(key, value) {
      assertKey(key);
      if (entries.has(key)) return undefined;
      entries.set(key, { value, revision: ++sequence });
      return sequence;
    },
    async update(key, value, revision) {
      assertKey(key);
      if (entries.get(key)?.revision !== revision) return undefined;
      entries.set(key, { value, revision: ++sequence });
      return sequence;
    },
    async delete(key, revision) {
      assertKey(key);
      const entry = entries.get(key);
      if (!entry || (revision !== undefined && entry.revision !== revision)) return false;
      entries.delete(key);
      return true;
    },
    async keys() {
      return [...entries.keys()].sort();
    },
  };
}
