import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsersRepository } from '../src/index.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';

let temp: ReturnType<typeof tempSqliteFolder>;
let users: UsersRepository;
beforeEach(async () => {
  temp = tempSqliteFolder();
  users = new UsersRepository((await temp.open()).db);
});
afterEach(() => temp.cleanup());

describe('UsersRepository', () => {
  it('creates a user and finds it by username and id', async () => {
    const created = await users.create({ username: 'ann', passwordHash: 'hash-1', isAdmin: true });
    expect(created).toMatchObject({ username: 'ann', password_hash: 'hash-1', is_admin: 1 });
    expect(created.id).toBeGreaterThan(0);
    expect(created.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(created.updated_at).toBe(created.created_at);

    expect(await users.findByUsername('ann')).toEqual(created);
    expect(await users.findById(created.id)).toEqual(created);
    expect(await users.findByUsername('ANN')).toBeUndefined();
    expect(await users.findById(created.id + 1)).toBeUndefined();
  });

  it('stores is_admin as 0/1', async () => {
    const user = await users.create({ username: 'bob', passwordHash: 'h', isAdmin: false });
    expect(user.is_admin).toBe(0);
  });

  it('rejects a duplicate username', async () => {
    await users.create({ username: 'ann', passwordHash: 'h', isAdmin: false });
    await expect(users.create({ username: 'ann', passwordHash: 'h2', isAdmin: false })).rejects.toThrow(
      /UNIQUE/,
    );
  });

  it('updates the password hash and updated_at', async () => {
    const user = await users.create({ username: 'ann', passwordHash: 'old', isAdmin: false });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await users.updatePassword(user.id, 'new')).toBe(true);
    const after = await users.findById(user.id);
    expect(after?.password_hash).toBe('new');
    expect(after!.updated_at > user.updated_at).toBe(true);
    expect(after?.created_at).toBe(user.created_at);
    expect(await users.updatePassword(user.id + 100, 'x')).toBe(false);
  });

  it('lists users by id without password hashes, and counts them', async () => {
    expect(await users.count()).toBe(0);
    expect(await users.list()).toEqual([]);
    await users.create({ username: 'zed', passwordHash: 'h1', isAdmin: true });
    await users.create({ username: 'amy', passwordHash: 'h2', isAdmin: false });
    const list = await users.list();
    expect(list.map((u) => u.username)).toEqual(['zed', 'amy']);
    for (const user of list) {
      expect(Object.keys(user).sort()).toEqual(['created_at', 'id', 'is_admin', 'updated_at', 'username']);
    }
    expect(await users.count()).toBe(2);
  });
});
