import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UPLOAD_LEFTOVER_AGE_MS } from '@lumen/core';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startUploadStagingSweep, sweepUploadStaging } from '../src/services/upload-staging-sweep.ts';

const logger = pino({ level: 'silent' });
const LEFTOVER = '.upload-0123456789abcdef.part';
const YOUNG = '.upload-fedcba9876543210.part';

describe('the upload staging sweep', () => {
  let dir: string;
  let mtime: number;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-staging-'));
    for (const name of [LEFTOVER, YOUNG, 'notes.txt', '.upload-zz.part'])
      await fs.writeFile(path.join(dir, name), 'x');
    await fs.mkdir(path.join(dir, '.upload-aaaaaaaaaaaaaaaa.part'));
    mtime = (await fs.stat(path.join(dir, LEFTOVER))).mtimeMs;
    const old = new Date(mtime - UPLOAD_LEFTOVER_AGE_MS - 1000);
    await fs.utimes(path.join(dir, LEFTOVER), old, old);
    for (const name of ['notes.txt', '.upload-zz.part']) await fs.utimes(path.join(dir, name), old, old);
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('removes only upload temporary files nobody wrote to for an hour', async () => {
    expect(await sweepUploadStaging(dir, mtime, logger)).toBe(1);
    expect((await fs.readdir(dir)).sort()).toEqual([
      '.upload-aaaaaaaaaaaaaaaa.part',
      YOUNG,
      '.upload-zz.part',
      'notes.txt',
    ]);
  });

  it('is fine without a staging folder', async () => {
    expect(await sweepUploadStaging(path.join(dir, 'none'), mtime, logger)).toBe(0);
  });

  it('sweeps at start and then periodically, by the clock it is given', async () => {
    let now = mtime;
    const sweep = await startUploadStagingSweep({ dir, logger, intervalMs: 20, now: () => now });
    try {
      expect((await fs.readdir(dir)).includes(LEFTOVER)).toBe(false);
      expect((await fs.readdir(dir)).includes(YOUNG)).toBe(true);
      now = mtime + UPLOAD_LEFTOVER_AGE_MS + 1000;
      const deadline = Date.now() + 5_000;
      while ((await fs.readdir(dir)).includes(YOUNG) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect((await fs.readdir(dir)).includes(YOUNG)).toBe(false);
    } finally {
      sweep.stop();
    }
  });
});
