import type { ColumnDataType, ColumnDefinitionBuilder } from 'kysely';

/** The two database engines Lumen runs on. */
export type DatabaseKind = 'sqlite' | 'postgres';

/**
 * The few column types that differ between SQLite and Postgres. SQLite gets its four storage classes
 * (so the generated types read the same names back); Postgres gets types wide enough for the values:
 * `bigint` for millisecond timestamps and byte sizes, `double precision` (not 4-byte `real`) for GPS.
 */
export interface DialectColumns {
  /** Integer that may exceed 2^31 (mtime_ms, size_bytes). */
  bigint: ColumnDataType;
  /** 8-byte floating point. */
  double: ColumnDataType;
  /** Raw bytes (face embeddings). */
  bytes: ColumnDataType;
  /** Auto-increment integer primary key: `integer primary key autoincrement` / identity column. */
  id: (col: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
}

export function dialectColumns(kind: DatabaseKind): DialectColumns {
  if (kind === 'sqlite') {
    return {
      bigint: 'integer',
      double: 'real',
      bytes: 'blob',
      id: (col) => col.primaryKey().autoIncrement(),
    };
  }
  return {
    bigint: 'bigint',
    double: 'double precision',
    bytes: 'bytea',
    id: (col) => col.primaryKey().generatedByDefaultAsIdentity(),
  };
}
