import { freshPostgresDatabase } from '@lumen/test-support';
import { type Database, openDatabase } from '../src/index.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';

export type Engine = 'sqlite' | 'postgres';
export const ENGINES: Engine[] = ['sqlite', 'postgres'];

/**
 * A fresh, migrated database: a temp SQLite file, or a new Postgres database dropped on cleanup
 * (without a reachable PostgreSQL, a MissingServiceError that says so). `openAnother` opens one
 * more connection to it, as another process would (closed by cleanup too).
 */
export async function openEngine(
  engine: Engine,
): Promise<{ database: Database; openAnother(): Promise<Database>; cleanup(): Promise<void> }> {
  if (engine === 'sqlite') {
    const temp = tempSqliteFolder();
    const database = await temp.open();
    return { database, openAnother: () => temp.open(), cleanup: () => temp.cleanup() };
  }
  const fresh = await freshPostgresDatabase();
  const database = await openDatabase({ kind: 'postgres', url: fresh.url });
  const others: Database[] = [];
  return {
    database,
    async openAnother() {
      const another = await openDatabase({ kind: 'postgres', url: fresh.url });
      others.push(another);
      return another;
    },
    async cleanup() {
      for (const another of others) await another.close();
      await database.close();
      await fresh.drop();
    },
  };
}
