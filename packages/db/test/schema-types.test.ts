import fs from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateSchemaTypes } from '../scripts/schema-types.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';

const checkedIn = new URL('../src/schema.generated.ts', import.meta.url);
let temp: ReturnType<typeof tempSqliteFolder>;
beforeEach(() => {
  temp = tempSqliteFolder();
});
afterEach(() => temp.cleanup());

it('schema.generated.ts matches the migrations', async () => {
  const database = await temp.open();
  const generated = await generateSchemaTypes(database.db);
  const current = fs.readFileSync(checkedIn, 'utf8');
  expect(current, 'src/schema.generated.ts is out of date: run `pnpm --filter @lumen/db gen:types`').toBe(
    generated,
  );
});

it('generates every table with ids as Generated<number> and nullable columns as `| null`', async () => {
  const database = await temp.open();
  const generated = await generateSchemaTypes(database.db);
  for (const table of [
    'app_settings',
    'face_detections',
    'favorites',
    'image_exif',
    'libraries',
    'persons',
    'photo_insights',
    'tagged_photo',
    'tags',
    'users',
  ]) {
    expect(generated).toContain(`  ${table}: `);
  }
  expect(generated).toContain('export interface Users {\n  id: Generated<number>;\n  username: string;');
  expect(generated).toContain('  embedding: Buffer | null;');
  expect(generated).toContain('  thumb_status: Generated<string>;');
  expect(generated).not.toContain('kysely_migration');
});
