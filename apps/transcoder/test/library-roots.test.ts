import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibraryPathError, libraryRootsFrom, resolveLibraryFile } from '../src/library-roots.ts';

let dir: string;
let roots: ReturnType<typeof libraryRootsFrom>;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-roots-'));
  await fs.mkdir(path.join(dir, 'lib', 'trips'), { recursive: true });
  await fs.mkdir(path.join(dir, 'outside'));
  await fs.writeFile(path.join(dir, 'lib', 'trips', 'a.mp4'), 'x');
  await fs.writeFile(path.join(dir, 'outside', 'secret.mp4'), 'x');
  await fs.symlink(path.join(dir, 'outside'), path.join(dir, 'lib', 'escape'));
  await fs.symlink(path.join(dir, 'lib', 'trips'), path.join(dir, 'lib', 'inside-link'));
  roots = libraryRootsFrom([{ name: 'main', root: path.join(dir, 'lib') }]);
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('resolveLibraryFile', () => {
  it('turns {library, relPath} into the absolute path under the root', async () => {
    expect(await resolveLibraryFile(roots, 'main', 'trips/a.mp4')).toBe(
      path.join(dir, 'lib', 'trips', 'a.mp4'),
    );
  });

  it('follows a symlink that stays inside', async () => {
    expect(await resolveLibraryFile(roots, 'main', 'inside-link/a.mp4')).toBe(
      path.join(dir, 'lib', 'inside-link', 'a.mp4'),
    );
  });

  it.each([
    ['unknown library', 'other', 'trips/a.mp4', /unknown library/],
    ['.. out of the root', 'main', '../outside/secret.mp4', /leaves library/],
    ['absolute path', 'main', '/etc/passwd', /not relative/],
    ['the root itself', 'main', '.', /leaves library/],
    ['symlink out of the root', 'main', 'escape/secret.mp4', /through a symlink/],
    ['missing file', 'main', 'trips/missing.mp4', /cannot be read/],
  ])('refuses %s', async (_label, library, relPath, message) => {
    await expect(resolveLibraryFile(roots, library, relPath)).rejects.toThrow(LibraryPathError);
    await expect(resolveLibraryFile(roots, library, relPath)).rejects.toThrow(message);
  });
});
