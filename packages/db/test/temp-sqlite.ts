import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Database, openDatabase } from '../src/index.ts';

/** A fresh temp folder for SQLite files; `cleanup` closes what was opened in it and removes it. */
export function tempSqliteFolder() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-db-test-'));
  const opened: Database[] = [];
  return {
    dir,
    file: (name = 'lumen.db') => path.join(dir, name),
    async open(name = 'lumen.db', opts?: { migrate?: boolean }): Promise<Database> {
      const database = await openDatabase({ kind: 'sqlite', file: path.join(dir, name) }, opts);
      opened.push(database);
      return database;
    },
    async cleanup(): Promise<void> {
      for (const database of opened) await database.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
