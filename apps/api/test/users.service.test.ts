import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Database, openDatabase, UsersRepository } from '@lumen/db';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkPassword,
  checkUsername,
  ensureAdminUser,
  UserError,
  UsersService,
  verifyPassword,
} from '../src/services/users.service.ts';

describe('checkUsername / checkPassword', () => {
  it.each([
    ['alice', true],
    ['a', true],
    ['bob.smith@example.com', true],
    ['user_1-x', true],
    ['a'.repeat(64), true],
    ['a'.repeat(65), false],
    ['', false],
    [' alice', false],
    ['-alice', false],
    ['al ice', false],
    ['alice/..', false],
  ])('username %j valid: %s', (name, valid) => {
    if (valid) expect(() => checkUsername(name)).not.toThrow();
    else expect(() => checkUsername(name)).toThrow(UserError);
  });

  it.each([
    ['12345678', null],
    ['1234567', /password too short: 7 characters, at least 8/],
    ['', /password too short: 0 characters/],
    ['ééééééé', /too short: 7 characters/], // characters, not bytes
    ['x'.repeat(72), null],
    ['x'.repeat(73), /password too long: 73 bytes, at most 72/],
    ['é'.repeat(37), /too long: 74 bytes/], // bcrypt counts bytes
  ])('password %j', (password, error) => {
    if (error === null) expect(() => checkPassword(password)).not.toThrow();
    else expect(() => checkPassword(password)).toThrow(error);
  });
});

describe('UsersService and ensureAdminUser', () => {
  let dir: string;
  let database: Database;
  let repo: UsersRepository;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-users-'));
    database = await openDatabase({ kind: 'sqlite', file: path.join(dir, 'lumen.db') });
    repo = new UsersRepository(database.db);
  });
  afterEach(async () => {
    await database.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('creates a user with a bcrypt hash, refuses a duplicate, and changes the password', async () => {
    const users = new UsersService(repo);
    const created = await users.create({ username: 'frank', password: 'franks password' });
    expect(created).toMatchObject({ username: 'frank', isAdmin: false });
    const row = await repo.findByUsername('frank');
    expect(row?.password_hash).toMatch(/^\$2[aby]\$12\$/);
    expect(await verifyPassword('franks password', row!.password_hash)).toBe(true);

    await expect(users.create({ username: 'frank', password: 'another one' })).rejects.toThrow(
      'user "frank" already exists',
    );
    await expect(users.changePassword('nobody', 'whatever123')).rejects.toThrow('unknown user "nobody"');
    await expect(users.changePassword('frank', 'short')).rejects.toThrow(/too short/);

    await users.changePassword('frank', 'a new password');
    const changed = await repo.findByUsername('frank');
    expect(await verifyPassword('a new password', changed!.password_hash)).toBe(true);
    expect(await verifyPassword('franks password', changed!.password_hash)).toBe(false);
  });

  it('verifyPassword is false, not a throw, for a malformed stored hash', async () => {
    expect(await verifyPassword('x', 'not-a-bcrypt-hash')).toBe(false);
  });

  it('creates admin with a generated password once, then leaves it alone', async () => {
    const first = await ensureAdminUser(repo);
    expect(first.created).toBe(true);
    expect(first.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const admin = await repo.findByUsername('admin');
    expect(admin?.is_admin).toBe(1);
    expect(await verifyPassword(first.password!, admin!.password_hash)).toBe(true);

    expect(await ensureAdminUser(repo)).toEqual({ created: false });
    expect(await ensureAdminUser(repo, { password: 'ignored now' })).toEqual({ created: false });
    expect(await repo.count()).toBe(1);
  });

  it('uses the given password and returns none', async () => {
    expect(await ensureAdminUser(repo, { password: 'from ADMIN_PASSWORD' })).toEqual({ created: true });
    const admin = await repo.findByUsername('admin');
    expect(await verifyPassword('from ADMIN_PASSWORD', admin!.password_hash)).toBe(true);
  });

  it('creates an admin when only non-admin users exist, and says so when "admin" is taken', async () => {
    const users = new UsersService(repo);
    await users.create({ username: 'grace', password: 'graces password' });
    expect((await ensureAdminUser(repo)).created).toBe(true);

    const other = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-users-'));
    const db2 = await openDatabase({ kind: 'sqlite', file: path.join(other, 'lumen.db') });
    try {
      const repo2 = new UsersRepository(db2.db);
      await new UsersService(repo2).create({ username: 'admin', password: 'not an admin' });
      await expect(ensureAdminUser(repo2)).rejects.toThrow(/"admin" is taken by a non-admin/);
    } finally {
      await db2.close();
      await fs.rm(other, { recursive: true, force: true });
    }
  });
});
