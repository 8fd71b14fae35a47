import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PathError } from '@lumen/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createInDir,
  openCheckedPath,
  openLibraryDir,
  openLibraryFile,
  readPhotoMetadata,
} from '../src/index.ts';
import { CORPUS_DIR as CORPUS } from './corpus.ts';

describe('openLibraryFile / openLibraryDir: open first, then check the descriptor', () => {
  let tmp: string;
  let root: string;
  let outside: string;

  beforeAll(async () => {
    tmp = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-library-file-')));
    root = path.join(tmp, 'library');
    outside = path.join(tmp, 'outside');
    await fs.mkdir(path.join(root, 'album'), { recursive: true });
    await fs.mkdir(outside);
    await fs.writeFile(path.join(root, 'album/a.jpg'), 'inside');
    await fs.writeFile(path.join(outside, 'a.jpg'), 'outside');
    await fs.symlink('album/a.jpg', path.join(root, 'inside-link.jpg'));
    await fs.symlink(path.join(outside, 'a.jpg'), path.join(root, 'escape.jpg'));
    await fs.symlink(outside, path.join(root, 'escape-dir'));
    await fs.writeFile(path.join(root, 'plain-file'), 'x');
  });

  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  const codeOf = async (work: Promise<unknown>) =>
    work.then(
      () => 'opened',
      (err: unknown) =>
        err instanceof PathError ? err.code : ((err as { code?: string }).code ?? String(err)),
    );

  it('opens a file inside, also through a symlink that stays inside, and reads it by procPath', async () => {
    for (const rel of ['album/a.jpg', 'inside-link.jpg']) {
      const opened = await openLibraryFile(root, rel);
      try {
        expect(opened.realPath).toBe(path.join(root, 'album/a.jpg'));
        expect(opened.procPath).toBe(`/proc/${process.pid}/fd/${opened.handle.fd}`);
        expect(await fs.readFile(opened.procPath, 'utf8')).toBe('inside');
      } finally {
        await opened.close();
      }
    }
  });

  it.each([
    ['escape.jpg', 'path.symlink-escape'],
    ['escape-dir/a.jpg', 'path.symlink-escape'],
    ['../outside/a.jpg', 'path.traversal'],
    ['album/none.jpg', 'ENOENT'],
  ])('refuses %j (%s)', async (rel, code) => {
    expect(await codeOf(openLibraryFile(root, rel))).toBe(code);
  });

  it('the procPath keeps naming the opened file after its folder was swapped for a symlink', async () => {
    const opened = await openLibraryFile(root, 'album/a.jpg');
    await fs.rename(path.join(root, 'album'), path.join(root, 'album-moved'));
    await fs.symlink(outside, path.join(root, 'album'));
    try {
      expect(await fs.readFile(opened.procPath, 'utf8')).toBe('inside');
      // Opened now, the same path is caught: the descriptor's file is outside.
      const resolvedBefore = {
        absPath: path.join(root, 'album/a.jpg'),
        relPath: 'album/a.jpg',
        realPath: path.join(root, 'album/a.jpg'),
        realRoot: root,
      };
      expect(await codeOf(openLibraryFile(root, 'album/a.jpg', { resolved: resolvedBefore }))).toBe(
        'path.symlink-escape',
      );
      expect(await codeOf(openCheckedPath(path.join(root, 'album/a.jpg'), root))).toBe('path.symlink-escape');
    } finally {
      await opened.close();
      await fs.rm(path.join(root, 'album'));
      await fs.rename(path.join(root, 'album-moved'), path.join(root, 'album'));
    }
  });

  it('refuses a final component that became a symlink after the check (path.changed)', async () => {
    const resolvedBefore = {
      absPath: path.join(root, 'album/b.jpg'),
      relPath: 'album/b.jpg',
      realPath: path.join(root, 'album/b.jpg'),
      realRoot: root,
    };
    await fs.symlink(path.join(outside, 'a.jpg'), path.join(root, 'album/b.jpg'));
    try {
      expect(await codeOf(openLibraryFile(root, 'album/b.jpg', { resolved: resolvedBefore }))).toBe(
        'path.changed',
      );
    } finally {
      await fs.rm(path.join(root, 'album/b.jpg'));
    }
  });

  it('openLibraryDir makes missing folders one at a time and creates files only inside', async () => {
    const dir = await openLibraryDir(root, 'new/deeper', { create: true });
    try {
      expect(dir.realPath).toBe(path.join(root, 'new/deeper'));
      const handle = await createInDir(dir, 'x.part');
      await handle.writeFile('data');
      await handle.close();
      expect(await fs.readFile(path.join(root, 'new/deeper/x.part'), 'utf8')).toBe('data');
      // Exclusive: never over an existing name, never through a symlink.
      expect(await codeOf(createInDir(dir, 'x.part'))).toBe('EEXIST');
      await fs.symlink(path.join(outside, 'made.jpg'), path.join(root, 'new/deeper/link.jpg'));
      expect(await codeOf(createInDir(dir, 'link.jpg'))).toBe('EEXIST');
      await expect(fs.access(path.join(outside, 'made.jpg'))).rejects.toThrow();
    } finally {
      await dir.close();
    }
  });

  it('openLibraryDir refuses folders that lead out, or are files', async () => {
    expect(await codeOf(openLibraryDir(root, 'escape-dir', { create: true }))).toBe('path.symlink-escape');
    expect(await codeOf(openLibraryDir(root, 'escape-dir/sub', { create: true }))).toBe(
      'path.symlink-escape',
    );
    expect(await codeOf(openLibraryDir(root, 'plain-file/sub', { create: true }))).toBe('ENOTDIR');
    expect(await fs.readdir(outside)).toEqual(['a.jpg']);
  });

  it('a folder moved out of the library after it was opened fails verify()', async () => {
    const dir = await openLibraryDir(root, 'moving', { create: true });
    try {
      await dir.verify();
      await fs.rename(path.join(root, 'moving'), path.join(outside, 'moving'));
      expect(await codeOf(dir.verify())).toBe('path.symlink-escape');
    } finally {
      await dir.close();
      await fs.rm(path.join(outside, 'moving'), { recursive: true, force: true });
    }
  });

  it('reused descriptor numbers never give sharp a cached result of another file', async () => {
    // Two WebPs of different sizes opened one after the other get the same descriptor number, so
    // the same /proc/<pid>/fd/<fd> name; libvips' operation cache must not answer the second.
    const sizes: string[] = [];
    for (const file of ['photo/mei__HTC_Desire.webp', 'photo/mei__Nikon_Coolpix_P7000.webp']) {
      const dir = path.join(root, 'webp');
      await fs.mkdir(dir, { recursive: true });
      await fs.copyFile(path.join(CORPUS, file), path.join(dir, path.basename(file)));
      const opened = await openLibraryFile(root, `webp/${path.basename(file)}`);
      try {
        const meta = await readPhotoMetadata(opened.procPath, { mtimeMs: 0, kind: 'image', exiftool: false });
        sizes.push(`${meta.width}x${meta.height}`);
      } finally {
        await opened.close();
      }
    }
    expect(sizes).toEqual(['776x909', '3648x2736']);
  });
});
