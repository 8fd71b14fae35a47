import type SQLite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Statements kept prepared; the api's queries come in a few dozen shapes (IN lists vary by length). */
const DEFAULT_MAX_STATEMENTS = 256;

/**
 * better-sqlite3 for Kysely's SqliteDialect, faster in two ways (both measured on `/photos`, see
 * docs/PERFORMANCE.md):
 *
 * - Prepared statements are reused by SQL text. Kysely prepares every query anew, which costs
 *   SQLite a parse and a plan each time (20-60 us, as much as a primary-key lookup). The last
 *   `maxStatements` statements are kept (least recently used dropped). A statement still being
 *   iterated (Kysely's `stream()`) is `busy` and cannot run again meanwhile, so a busy one is never
 *   handed out: that caller gets a fresh statement. SQLite re-prepares a kept statement itself when
 *   the schema changes.
 * - Rows are read as arrays and turned into objects here: better-sqlite3 builds row objects
 *   property by property in C++, about 2 us per row of 25 columns, against well under 1 us for
 *   the array plus this loop. The objects are the same (column name -> value; a repeated name keeps
 *   the last value, as better-sqlite3 does).
 */
export function withStatementCache(
  sqlite: SQLite.Database,
  maxStatements = DEFAULT_MAX_STATEMENTS,
): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  const schemaVersion = sqlite.prepare('pragma schema_version').pluck();
  const columns = new ColumnNames(() => schemaVersion.get() as number);
  return {
    close: () => {
      statements.clear();
      sqlite.close();
    },
    prepare(sql: string): SqliteStatement {
      const cached = statements.get(sql);
      if (cached && !cached.busy) {
        // Re-insert: a Map iterates in insertion order, so its first key is the least recently used.
        statements.delete(sql);
        statements.set(sql, cached);
        return rowsAsObjects(cached, columns);
      }
      const statement = sqlite.prepare(sql);
      if (!cached) {
        statements.set(sql, statement);
        if (statements.size > maxStatements) statements.delete(statements.keys().next().value as string);
      }
      return rowsAsObjects(statement, columns);
    },
  };
}

/** The statement as Kysely uses it, reading rows as arrays (see withStatementCache). */
function rowsAsObjects(statement: SQLite.Statement, columns: ColumnNames): SqliteStatement {
  if (!statement.reader) return statement as unknown as SqliteStatement;
  return {
    reader: true,
    all(parameters) {
      const rows = statement.raw(true).all(parameters) as unknown[][];
      const names = columns.of(statement);
      return rows.map((values) => toObject(names, values));
    },
    run: (parameters) => statement.run(parameters),
    *iterate(parameters) {
      let names: readonly string[] | undefined;
      for (const values of statement.raw(true).iterate(parameters) as IterableIterator<unknown[]>) {
        names ??= columns.of(statement);
        yield toObject(names, values);
      }
    },
  };
}

/**
 * The result column names of each statement, read once per schema version: `columns()` builds an
 * object per column (as costly as the rows themselves for a wide `select *`), and the names change
 * only when the schema does (SQLite then re-prepares a kept statement when it next runs, so the
 * names are asked for after running it).
 */
class ColumnNames {
  private readonly names = new WeakMap<SQLite.Statement, { version: number; names: string[] }>();

  constructor(private readonly schemaVersion: () => number) {}

  of(statement: SQLite.Statement): readonly string[] {
    const version = this.schemaVersion();
    const known = this.names.get(statement);
    if (known?.version === version) return known.names;
    const names = statement.columns().map((column) => column.name);
    this.names.set(statement, { version, names });
    return names;
  }
}

function toObject(names: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < names.length; i++) row[names[i]!] = values[i];
  return row;
}
