import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import * as sqliteVec from 'sqlite-vec';
import type { DatabaseKind } from './migrations/dialect-columns.ts';
import { migrationsFor } from './migrations/migration-list.ts';
import type { DB } from './schema.generated.ts';
import { withStatementCache } from './sqlite-statement-cache.ts';

/** Where the database lives; the same shape as `Config['database']` from @lumen/core. */
export type DatabaseTarget = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

export interface OpenDatabaseOptions {
  /** Run pending migrations before returning (default true). */
  migrate?: boolean;
}

export interface Database {
  db: Kysely<DB>;
  kind: DatabaseKind;
  close(): Promise<void>;
  /** True when a trivial query answers within a few seconds. Never throws. */
  ping(): Promise<boolean>;
  /**
   * Changes whenever the database may have changed: a token to key cached reads by (see ReadCache).
   * SQLite: the data_version pragma (bumped by every commit of another connection, other processes
   * included) and total_changes() (every row this connection wrote). Null on Postgres, where there
   * is no cheap equivalent: callers then read every time.
   */
  changeStamp(): string | null;
  /**
   * How face similarity is searched: `sqlite-vec` (the extension loaded into this SQLite
   * connection: vec_distance_cosine in SQL) or `exact-scan` (embeddings paged into JS; Postgres,
   * or SQLite where the extension does not load). See FaceVectorIndex.
   */
  vectorSearch: 'sqlite-vec' | 'exact-scan';
}

const SQLITE_BUSY_TIMEOUT_MS = 5_000;
const PG_CONNECTION_TIMEOUT_MS = 10_000;
const PG_IDLE_TIMEOUT_MS = 30_000;
const PG_POOL_SIZE = 10;
const PING_TIMEOUT_MS = 5_000;

/** Open SQLite (WAL, foreign keys on) or Postgres, and bring the schema up to date unless told not to. */
export async function openDatabase(
  target: DatabaseTarget,
  opts: OpenDatabaseOptions = {},
): Promise<Database> {
  const migrate = opts.migrate ?? true;
  if (target.kind === 'sqlite') {
    const sqlite = openSqliteFile(target.file);
    const vectors = loadSqliteVec(sqlite);
    const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    if (migrate) await closeOnError(db, () => migrateSqlite(db, sqlite));
    return wrap(db, 'sqlite', sqliteChangeStamp(sqlite), vectors);
  }
  const pool = new pg.Pool({
    connectionString: target.url,
    connectionTimeoutMillis: PG_CONNECTION_TIMEOUT_MS,
    idleTimeoutMillis: PG_IDLE_TIMEOUT_MS,
    max: PG_POOL_SIZE,
    types: { getTypeParser: pgTypeParser } as pg.CustomTypesConfig,
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener that
  // would crash the process. The pool drops the client and the next query reconnects (or fails).
  pool.on('error', () => {});
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  if (migrate) await closeOnError(db, () => migrateToLatest(db, 'postgres'));
  return wrap(db, 'postgres', () => null, 'exact-scan');
}

/**
 * Run every pending migration. On Postgres the Migrator takes an advisory lock and runs them in one
 * transaction; on SQLite call `migrateSqlite` instead, which adds the write lock Kysely leaves out.
 */
export async function migrateToLatest(db: Kysely<DB>, kind: DatabaseKind): Promise<void> {
  const migrations = migrationsFor(kind);
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${errorMessage(error)}`, { cause: error });
  }
}

/** The database holds password hashes: owner-only (issue 11). */
const SQLITE_FILE_MODE = 0o600;
/** Files SQLite keeps beside the database; it creates them with the database file's mode. */
const SQLITE_SIDE_FILES = ['', '-wal', '-shm', '-journal'];

/**
 * A new database file is created 0600 (in a folder created 0700) before SQLite opens it, and an
 * existing one (with its -wal/-shm/-journal files) that others could read is narrowed to 0600.
 * SQLite gives the files it creates beside the database the database file's mode.
 */
function makeSqliteFilePrivate(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.closeSync(fs.openSync(file, 'wx', SQLITE_FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  for (const suffix of SQLITE_SIDE_FILES) {
    const side = `${file}${suffix}`;
    let mode: number;
    try {
      mode = fs.statSync(side).mode;
    } catch {
      continue;
    }
    if ((mode & 0o077) === 0) continue;
    try {
      fs.chmodSync(side, mode & 0o700);
    } catch {
      // Not ours to change (another account's file, a read-only mount): SQLite reports what matters.
    }
  }
}

function openSqliteFile(file: string): SQLite.Database {
  if (file !== ':memory:') makeSqliteFilePrivate(file);
  const sqlite = new SQLite(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  // sqlite-vec (vector distance functions) when its binary loads here; vector search scans in JS otherwise.
  try {
    sqliteVec.load(sqlite);
  } catch {
    // Not available on this platform: SummaryVectorsRepository falls back to an exact scan.
  }
  return sqlite;
}

/**
 * Kysely runs SQLite migrations without a transaction or lock, so two processes opening one file at
 * once (api + watcher) could both create tables. BEGIN IMMEDIATE takes the write lock first (waiting
 * up to the busy timeout); the second process then finds the migrations already recorded.
 * Nothing else uses the connection while the database is being opened.
 */
async function migrateSqlite(db: Kysely<DB>, sqlite: SQLite.Database): Promise<void> {
  sqlite.exec('BEGIN IMMEDIATE');
  try {
    await migrateToLatest(db, 'sqlite');
    sqlite.exec('COMMIT');
  } catch (error) {
    if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
    throw error;
  }
}

/** pg returns int8 (bigint columns, count(*)) as strings; ours fit in a double, so read them as numbers. */
function pgTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === pg.types.builtins.INT8 && format !== 'binary') return Number;
  return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
}

/** Load the sqlite-vec extension (the npm package ships the binary); `exact-scan` when it cannot. */
function loadSqliteVec(sqlite: SQLite.Database): Database['vectorSearch'] {
  try {
    sqliteVec.load(sqlite);
    return 'sqlite-vec';
  } catch {
    return 'exact-scan';
  }
}

function wrap(
  db: Kysely<DB>,
  kind: DatabaseKind,
  changeStamp: () => string | null,
  vectorSearch: Database['vectorSearch'],
): Database {
  return {
    db,
    kind,
    vectorSearch,
    close: () => db.destroy(),
    ping: () => ping(db),
    changeStamp,
  };
}

/** See Database.changeStamp: one prepared statement, a few microseconds. */
function sqliteChangeStamp(sqlite: SQLite.Database): () => string {
  const statement = sqlite
    .prepare('select data_version as version, total_changes() as changes from pragma_data_version')
    .raw();
  return () => {
    const [version, changes] = statement.get() as [number, number];
    return `${version}:${changes}`;
  };
}

async function ping(db: Kysely<DB>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
  });
  const query = sql`select 1`
    .execute(db)
    .then(() => true)
    .catch(() => false);
  try {
    return await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function closeOnError(db: Kysely<DB>, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    await db.destroy().catch(() => {});
    throw error;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
