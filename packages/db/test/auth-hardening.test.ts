import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type Database, LoginLockoutLiftsRepository, migrationsFor, UsersRepository } from '../src/index.ts';
import { ENGINES, openEngine } from './test-engines.ts';

const MIGRATION = '0006-auth-hardening';

describe.each(ENGINES)('migration 0006 and its repositories on %s', (engine) => {
  let opened: { database: Database; cleanup(): Promise<void> } | undefined;
  afterEach(async () => {
    await opened?.cleanup();
    opened = undefined;
  });
  const open = async () => {
    opened = await openEngine(engine);
    return opened.database;
  };

  it('adds users.token_version (0 for users that exist) to a database from before it, and is idempotent', async () => {
    const database = await open();
    const { db } = database;
    const users = new UsersRepository(db);
    // The schema as 0005 left it, with a user in it.
    await sql`delete from kysely_migration where name = ${MIGRATION}`.execute(db);
    await sql`drop table login_lockout_lifts`.execute(db);
    await sql`alter table users drop column token_version`.execute(db);
    await sql`insert into users (username, password_hash, is_admin, created_at, updated_at)
      values ('old', 'hash', 0, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')`.execute(db);

    // What migrateToLatest runs on such a database (later migrations exist here, so the migrator
    // itself would refuse a history with 0006 missing from its middle).
    await migrationsFor(database.kind)[MIGRATION]!.up(db as never);
    const old = await users.findByUsername('old');
    expect(old?.token_version).toBe(0);
    expect((await users.create({ username: 'new', passwordHash: 'h', isAdmin: false })).token_version).toBe(
      0,
    );

    // Run again over the migrated schema (a half-run migration on SQLite, a database changed by hand).
    await migrationsFor(database.kind)[MIGRATION]!.up(db as never);
    expect((await users.findByUsername('old'))?.token_version).toBe(0);
  });

  it('increments token_version with every password change, for that user only', async () => {
    const { db } = await open();
    const users = new UsersRepository(db);
    const ann = await users.create({ username: 'ann', passwordHash: 'h1', isAdmin: false });
    const bob = await users.create({ username: 'bob', passwordHash: 'h1', isAdmin: false });
    expect(await users.updatePassword(ann.id, 'h2')).toBe(true);
    expect(await users.updatePassword(ann.id, 'h3')).toBe(true);
    expect(await users.findById(ann.id)).toMatchObject({ password_hash: 'h3', token_version: 2 });
    expect(await users.findById(bob.id)).toMatchObject({ password_hash: 'h1', token_version: 0 });
    // Listing never shows hashes or versions.
    expect(Object.keys((await users.list())[0]!).sort()).toEqual([
      'created_at',
      'id',
      'is_admin',
      'updated_at',
      'username',
    ]);
  });

  it('finds the lifts that concern a name and an address, and prunes old ones', async () => {
    const { db } = await open();
    const lifts = new LoginLockoutLiftsRepository(db);
    await lifts.add({ username: 'ann', liftedAtMs: 1_000, liftedBy: 'cli' });
    await lifts.add({ address: '203.0.113.7', liftedAtMs: 2_000, liftedBy: 'admin:root' });
    await lifts.add({ username: 'ann', address: '198.51.100.1', liftedAtMs: 3_000, liftedBy: 'cli' });
    await lifts.add({ username: 'bob', liftedAtMs: 4_000, liftedBy: 'cli' });

    const at = async (since: number, username: string, address: string) =>
      (await lifts.matching(since, username, address)).map((l) => l.lifted_at_ms);
    expect(await at(0, 'ann', '203.0.113.7')).toEqual([1_000, 2_000]);
    expect(await at(0, 'ann', '198.51.100.1')).toEqual([1_000, 3_000]);
    expect(await at(0, 'carl', '203.0.113.7')).toEqual([2_000]);
    expect(await at(0, 'carl', '192.0.2.1')).toEqual([]);
    expect(await at(1_000, 'ann', '203.0.113.7')).toEqual([2_000]);
    // A lift naming the address also lifts its address limit, whoever it was for.
    expect(await at(0, 'bob', '198.51.100.1')).toEqual([3_000, 4_000]);
    expect(await at(0, 'carl', '198.51.100.1')).toEqual([3_000]);
    const [row] = await lifts.matching(1_500, 'x', '203.0.113.7');
    expect(row).toMatchObject({ username: null, address: '203.0.113.7', lifted_by: 'admin:root' });

    expect(await lifts.prune(3_000)).toBe(2);
    expect(await at(0, 'ann', '198.51.100.1')).toEqual([3_000]);
  });
});
