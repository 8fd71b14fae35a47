import { afterEach, beforeEach, expect, it } from 'vitest';
import { SettingsRepository } from '../src/index.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';

let temp: ReturnType<typeof tempSqliteFolder>;
let settings: SettingsRepository;
beforeEach(async () => {
  temp = tempSqliteFolder();
  settings = new SettingsRepository((await temp.open()).db);
});
afterEach(() => temp.cleanup());

it('gets, sets, replaces and deletes values', async () => {
  expect(await settings.get('missing-scan:1')).toBeUndefined();
  await settings.set('missing-scan:1', '500');
  expect(await settings.get('missing-scan:1')).toBe('500');
  await settings.set('missing-scan:1', '1000');
  await settings.set('other', '');
  expect(await settings.get('missing-scan:1')).toBe('1000');
  expect(await settings.get('other')).toBe('');
  expect(await settings.delete('missing-scan:1')).toBe(true);
  expect(await settings.delete('missing-scan:1')).toBe(false);
  expect(await settings.get('missing-scan:1')).toBeUndefined();
});

it('keeps values across reopening the file', async () => {
  await settings.set('k', 'v');
  const reopened = new SettingsRepository((await temp.open()).db);
  expect(await reopened.get('k')).toBe('v');
});
