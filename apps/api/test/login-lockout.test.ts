import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Database, LoginLockoutLiftsRepository, openDatabase } from '@lumen/db';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoginLockout } from '../src/services/login-lockout.service.ts';

// Two api processes over one SQLite database: two LoginLockout instances, each with its own counts.
let dir: string;
let databases: Database[];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-lockout-'));
  databases = [];
});
afterEach(async () => {
  for (const database of databases) await database.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function process(maxFailures = 2): Promise<LoginLockout> {
  const database = await openDatabase({ kind: 'sqlite', file: path.join(dir, 'lumen.db') });
  databases.push(database);
  return new LoginLockout(new LoginLockoutLiftsRepository(database.db), { maxFailures });
}

/** `n` failed attempts of `username` from `address` at `at`. */
async function fail(lockout: LoginLockout, username: string, address: string, at: number, n = 1) {
  for (let i = 0; i < n; i++) expect((await lockout.begin(username, address, at)).allowed).toBe(true);
}

describe('LoginLockout', () => {
  it('locks a name at an address, not the name elsewhere nor other names there', async () => {
    const api = await process();
    await fail(api, 'ann', '10.0.0.1', 0, 2);
    expect(await api.begin('ann', '10.0.0.1', 1_000)).toEqual({
      allowed: false,
      retryAfterSeconds: 59,
      scope: 'user-and-address',
    });
    expect((await api.begin('ann', '10.0.0.2', 1_000)).allowed).toBe(true);
    expect((await api.begin('bob', '10.0.0.1', 1_000)).allowed).toBe(true);
    expect(await api.locks(1_000)).toEqual([
      { username: 'ann', address: '10.0.0.1', failures: 2, retryAfterSeconds: 59 },
    ]);
  });

  it('a success takes its attempt back', async () => {
    const api = await process();
    for (let i = 0; i < 5; i++) {
      const attempt = await api.begin('ann', '10.0.0.1', i);
      if (!attempt.allowed) throw new Error('refused');
      await api.succeeded(attempt);
    }
    expect(await api.locks(10)).toEqual([]);
  });

  it('caps an address at five times the limit over all names', async () => {
    const api = await process(2);
    for (let i = 0; i < 10; i++) await fail(api, `name-${i}`, '10.0.0.9', i);
    expect(await api.begin('fresh', '10.0.0.9', 20)).toMatchObject({ allowed: false, scope: 'address' });
    expect(await api.locks(20)).toContainEqual({
      username: null,
      address: '10.0.0.9',
      failures: 10,
      retryAfterSeconds: 60,
    });
  });

  it.each([
    [
      'the name on every address',
      { username: 'ann' },
      { annA: true, annB: true, bobA: false, address: false },
    ],
    [
      'the address for every name',
      { address: '10.0.0.1' },
      { annA: true, annB: false, bobA: true, address: true },
    ],
    [
      'the name at the address',
      { username: 'ann', address: '10.0.0.1' },
      { annA: true, annB: false, bobA: false, address: true },
    ],
  ])('a lift made by another process covers %s', async (_label, request, lifted) => {
    const first = await process(2);
    const second = await process(2);
    // ann locked at A and at B, bob locked at A; A's address limit (10) reached with other names.
    await fail(first, 'ann', '10.0.0.1', 0, 2);
    await fail(first, 'ann', '10.0.0.2', 0, 2);
    await fail(first, 'bob', '10.0.0.1', 0, 2);
    for (let i = 0; i < 6; i++) await fail(first, `x-${i}`, '10.0.0.1', 0);
    expect((await first.begin('newcomer', '10.0.0.1', 1)).allowed).toBe(false);

    const { forgotten } = await second.lift(request, 'cli', 1_000);
    expect(forgotten).toBe(0); // the other process counted nothing

    // The first process applies the lift when it is about to refuse. Pair locks are checked first,
    // so the address limit is seen through a name that has no pair lock of its own.
    const allowed = async (username: string, address: string) =>
      (await first.begin(username, address, 2_000)).allowed;
    expect(await allowed('ann', '10.0.0.2')).toBe(lifted.annB);
    expect(await allowed('newcomer', '10.0.0.1')).toBe(lifted.address);
    if (lifted.address) {
      expect(await allowed('ann', '10.0.0.1')).toBe(lifted.annA);
      expect(await allowed('bob', '10.0.0.1')).toBe(lifted.bobA);
    }
  });

  it('failures after a lift count again', async () => {
    const api = await process(2);
    await fail(api, 'ann', '10.0.0.1', 0, 2);
    expect((await api.lift({ username: 'ann' }, 'admin:root', 500)).forgotten).toBe(2);
    await fail(api, 'ann', '10.0.0.1', 600, 2);
    expect((await api.begin('ann', '10.0.0.1', 700)).allowed).toBe(false);
  });
});
