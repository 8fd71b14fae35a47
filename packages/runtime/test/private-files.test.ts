import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '@lumen/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateSecretKey, securePrivateDirs } from '../src/index.ts';

let base: string;
let previousUmask: number;
beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-private-'));
  // The usual umask, so a folder or file made without an explicit mode would be readable by others.
  previousUmask = process.umask(0o022);
});
afterEach(async () => {
  process.umask(previousUmask);
  await fs.rm(base, { recursive: true, force: true });
});

const mode = async (file: string) => (await fs.stat(file)).mode & 0o777;

describe('securePrivateDirs', () => {
  it('makes DATA_DIR and the folders Lumen keeps in it 0700', async () => {
    const dataDir = path.join(base, 'data');
    const config = parseConfig({ DATA_DIR: dataDir }, base);
    const report = await securePrivateDirs(config);
    for (const dir of [
      dataDir,
      ...['thumbnails', 'video', 'gifs', 'preview-clips', 'upload-staging'].map((d) => path.join(dataDir, d)),
    ]) {
      expect({ dir, mode: await mode(dir) }).toEqual({ dir, mode: 0o700 });
    }
    expect(report.created).toContain(dataDir);
    expect(report.tightened).toEqual([]);
  });

  it('narrows existing folders under DATA_DIR, and leaves alone existing ones configured elsewhere', async () => {
    const dataDir = path.join(base, 'data');
    const elsewhere = path.join(base, 'shared-thumbs');
    const missingElsewhere = path.join(base, 'new-video');
    await fs.mkdir(path.join(dataDir, 'gifs'), { recursive: true, mode: 0o755 });
    await fs.chmod(dataDir, 0o755);
    await fs.mkdir(elsewhere, { mode: 0o755 });
    const config = parseConfig(
      { DATA_DIR: dataDir, THUMBNAILS: elsewhere, VIDEO_PATH: missingElsewhere },
      base,
    );
    const report = await securePrivateDirs(config);
    expect(await mode(dataDir)).toBe(0o700);
    expect(await mode(path.join(dataDir, 'gifs'))).toBe(0o700);
    expect(report.tightened.sort()).toEqual([dataDir, path.join(dataDir, 'gifs')].sort());
    expect(await mode(elsewhere)).toBe(0o755);
    expect(await mode(missingElsewhere)).toBe(0o700);
  });
});

describe('loadOrCreateSecretKey', () => {
  it('creates secret.key 0600 in a DATA_DIR made 0700, and reads the same key back', async () => {
    const dataDir = path.join(base, 'data');
    const key = await loadOrCreateSecretKey(dataDir);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(await mode(path.join(dataDir, 'secret.key'))).toBe(0o600);
    expect(await mode(dataDir)).toBe(0o700);
    expect(await loadOrCreateSecretKey(dataDir)).toBe(key);
    expect(await fs.readdir(dataDir)).toEqual(['secret.key']);
  });

  it('narrows an existing key file that others could read', async () => {
    const file = path.join(base, 'secret.key');
    await fs.writeFile(file, `${'k'.repeat(40)}\n`, { mode: 0o644 });
    expect(await mode(file)).toBe(0o644);
    expect(await loadOrCreateSecretKey(base)).toBe('k'.repeat(40));
    expect(await mode(file)).toBe(0o600);
  });
});
