import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withStatementCache } from '../src/sqlite-statement-cache.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';

describe('withStatementCache', () => {
  let sqlite: SQLite.Database;
  beforeAll(() => {
    sqlite = new SQLite(':memory:');
    sqlite.exec(`create table t (id integer primary key, name text, n real, b blob);
      insert into t (name, n, b) values ('a', 1.5, x'00ff'), ('b', null, null), ('c', -2, x'');`);
  });
  afterAll(() => sqlite.close());

  it.each([
    ['select * from t order by id'],
    ['select id, name as id from t order by id'], // a repeated name keeps the last value
    ['select count(*) as c, sum(n) as s from t'],
    ['select * from t where 0'],
  ])('rows are the objects better-sqlite3 builds: %s', (query) => {
    const cached = withStatementCache(sqlite);
    expect(cached.prepare(query).all([])).toEqual(sqlite.prepare(query).all());
  });

  it('hands out one prepared statement per SQL text, and keeps the most recently used', () => {
    const cached = withStatementCache(sqlite, 2);
    const runs = (query: string) => cached.prepare(query).all([]);
    expect(runs('select 1 as x')).toEqual([{ x: 1 }]);
    const prepare = sqlite.prepare.bind(sqlite);
    let prepared = 0;
    sqlite.prepare = ((text: string) => {
      prepared++;
      return prepare(text);
    }) as typeof sqlite.prepare;
    try {
      runs('select 1 as x');
      expect(prepared).toBe(0);
      runs('select 2 as x');
      runs('select 3 as x'); // drops `select 1`, the least recently used
      runs('select 3 as x');
      runs('select 1 as x');
      expect(prepared).toBe(3);
    } finally {
      sqlite.prepare = prepare;
    }
  });

  it('a statement being iterated is not handed out again: the second caller gets its own', () => {
    const cached = withStatementCache(sqlite);
    const query = 'select id from t order by id';
    const iterator = cached.prepare(query).iterate([]);
    expect(iterator.next().value).toEqual({ id: 1 });
    // Same text while the first is mid-iteration (better-sqlite3 would throw "busy" on reuse).
    expect(cached.prepare(query).all([])).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect([...iterator]).toEqual([{ id: 2 }, { id: 3 }]);
    expect(cached.prepare(query).all([])).toHaveLength(3);
  });

  it('writes report their changes and row ids', () => {
    const cached = withStatementCache(sqlite);
    const result = cached.prepare("insert into t (name) values ('d')").run([]);
    expect(Number(result.changes)).toBe(1);
    expect(Number(result.lastInsertRowid)).toBe(4);
    cached.prepare('delete from t where id = ?').run([4]);
  });

  it('a kept `select *` follows a schema change', async () => {
    const temp = tempSqliteFolder();
    try {
      const database = await temp.open();
      const columns = async () =>
        Object.keys((await sql`select * from libraries`.execute(database.db)).rows[0] as object);
      await database.db
        .insertInto('libraries')
        .values({ name: 'x', root: '/x', created_at: new Date().toISOString() })
        .execute();
      const before = await columns();
      await sql`alter table libraries add column extra text`.execute(database.db);
      expect(await columns()).toEqual([...before, 'extra']);
    } finally {
      await temp.cleanup();
    }
  });
});
