import { freshPostgresDatabase } from '@lumen/test-support';
import { type Database, openDatabase } from '../src/index.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';

export type Engine = 'sqlite' | 'postgres';
export const ENGINES: Engine[] = ['sqlite', 'postgres'];

/**
 * A fresh, migrated database: a temp SQLite file, or a new Postgres database dropped on cleanup
 * (without a reachable PostgreSQL, a MissingServiceError that says so).
 */
export async function openEngine(engine: Engine): Promise<{ database: Database; cleanup(): Promise<void> }> {
  if (engine === 'sqlite') {
    const temp = tempSqliteFolder();
    const database = await temp.open();
    return { database, cleanup: () => temp.cleanup() };
  }
  const fresh = await freshPostgresDatabase();
  const database = await openDatabase({ kind: 'postgres', url: fresh.url });
  return {
    database,
    async cleanup() {
      await database.close();
      await fresh.drop();
    },
  };
}
