import { randomBytes } from 'node:crypto';
import { postgresTestUrl, requirePostgres } from '@lumen/test-support';
import pg from 'pg';
import { type Database, openDatabase } from '../src/index.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';

export type Engine = 'sqlite' | 'postgres';
export const ENGINES: Engine[] = ['sqlite', 'postgres'];

const adminUrl = postgresTestUrl();

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

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
  await requirePostgres(adminUrl);
  const name = `lumen_test_${randomBytes(6).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ kind: 'postgres', url: url.toString() });
  return {
    database,
    async cleanup() {
      await database.close();
      await admin(`drop database if exists ${name} with (force)`);
    },
  };
}
