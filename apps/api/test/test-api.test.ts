import fs from 'node:fs';
import { openDatabase } from '@lumen/db';
import { describe, expect, it } from 'vitest';
import { startTestApi, TEST_DIALECT, testDialectFrom } from './test-api.ts';

// The dialect switch of the api tests: the '@lumen/api (postgres)' project of the root vitest
// config runs this file with LUMEN_TEST_DATABASE=postgres, the '@lumen/api' project without it.

describe('testDialectFrom', () => {
  it.each([
    [undefined, 'sqlite'],
    ['', 'sqlite'],
    ['sqlite', 'sqlite'],
    ['postgres', 'postgres'],
  ] as const)('reads %j as %s', (value, dialect) => {
    expect(testDialectFrom(value)).toBe(dialect);
  });

  it.each(['pg', 'Postgres', 'mysql'])('refuses %j, naming the values it takes', (value) => {
    expect(() => testDialectFrom(value)).toThrow(
      `LUMEN_TEST_DATABASE must be "sqlite" or "postgres", not "${value}"`,
    );
  });
});

describe(`startTestApi (${TEST_DIALECT})`, () => {
  it('runs the api over the dialect LUMEN_TEST_DATABASE names and removes its database on stop', async () => {
    const t = await startTestApi();
    try {
      expect(t.database.kind).toBe(TEST_DIALECT);
      expect(t.config.database.kind).toBe(TEST_DIALECT);
      const health = await fetch(`${t.url}/health`);
      expect(await health.json()).toMatchObject({ db: { ok: true, dialect: TEST_DIALECT } });
    } finally {
      await t.stop();
    }
    const target = t.config.database;
    if (target.kind === 'sqlite') expect(fs.existsSync(target.file)).toBe(false);
    else {
      const dropped = await openDatabase(target, { migrate: false });
      try {
        await expect(dropped.db.selectFrom('users').select('id').execute()).rejects.toThrow(
          /database "lumen_test_\w+" does not exist/,
        );
      } finally {
        await dropped.close();
      }
    }
  });
});
