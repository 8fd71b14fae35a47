import fs from 'node:fs';
import path from 'node:path';
import { type LibraryRow, SettingsRepository } from '@lumen/db';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type MissingFileScanOptions,
  type MissingScanFs,
  missingScanCursorKey,
  nodeMissingScanFs,
  runMissingFileScan,
} from '../src/maintenance/missing-file-scan.ts';
import {
  capturingLogger,
  createLibrary,
  imagePaths,
  insertImages,
  maintenanceWorld,
  silentLogger,
  writeFiles,
} from './maintenance-fixtures.ts';

let world: Awaited<ReturnType<typeof maintenanceWorld>>;
let library: LibraryRow;

beforeEach(async () => {
  world = await maintenanceWorld();
  library = await createLibrary(world.database, world.base, 'main');
});
afterEach(() => world.cleanup());

function scan(overrides: Partial<MissingFileScanOptions> = {}) {
  return runMissingFileScan({
    db: world.db,
    library: { id: library.id, root: library.root, status: 'online' },
    pageSize: 500,
    deleteCap: 200,
    dryRun: false,
    logger: silentLogger,
    ...overrides,
  });
}

/** Rows for every path; files on disk only for `present`. */
async function seed(present: string[], missing: string[] = []): Promise<number[]> {
  writeFiles(library.root, present);
  return insertImages(
    world.database,
    library.id,
    [...present, ...missing].map((relPath) => ({ relPath })),
  );
}

/** The real file system, except that lstat of a path matching `fail` throws that error code. */
function failingFs(fail: (file: string) => string | undefined): MissingScanFs {
  return {
    async lstat(file) {
      const code = fail(file);
      if (code) throw Object.assign(new Error(`${code}: injected, lstat '${file}'`), { code });
      return nodeMissingScanFs.lstat(file);
    },
    readdir: nodeMissingScanFs.readdir,
  };
}

describe('runMissingFileScan', () => {
  it('deletes the rows of files that are NotFound (ENOENT, ENOTDIR) and keeps the rest', async () => {
    await seed(['a.jpg', '2024/b.jpg', '2024/c.jpg'], ['gone.jpg', '2024/gone.jpg', 'a.jpg/not-a-dir.jpg']);

    const result = await scan();

    expect(result).toMatchObject({ outcome: 'scanned', checked: 6, deleted: 3, skippedErrors: 0 });
    expect(await imagePaths(world.database, library.id)).toEqual(['2024/b.jpg', '2024/c.jpg', 'a.jpg']);
  });

  it('keeps rows whose files stat with EACCES, EPERM or EIO (injected fs layer)', async () => {
    // Tests run as root, where a chmod 000 folder still stats; the injected fs layer gives the errors a
    // real unreadable folder or a failing disk would.
    await seed(['ok.jpg'], ['locked/a.jpg', 'locked/b.jpg', 'perm.jpg', 'bad-sector.jpg', 'really-gone.jpg']);
    const fsLayer = failingFs((file) => {
      if (file.includes(`${path.sep}locked${path.sep}`)) return 'EACCES';
      if (file.endsWith('perm.jpg')) return 'EPERM';
      if (file.endsWith('bad-sector.jpg')) return 'EIO';
      return undefined;
    });

    const result = await scan({ fs: fsLayer });

    expect(result).toMatchObject({ checked: 6, deleted: 1, skippedErrors: 4 });
    expect(result.errorCodes).toEqual({ EACCES: 2, EPERM: 1, EIO: 1 });
    expect(await imagePaths(world.database, library.id)).toEqual([
      'bad-sector.jpg',
      'locked/a.jpg',
      'locked/b.jpg',
      'ok.jpg',
      'perm.jpg',
    ]);
  });

  // Root reads through chmod 000, so as root this is covered by the injected layer above only.
  it.skipIf(process.getuid?.() === 0)('keeps the rows of a real chmod 000 folder (not as root)', async () => {
    await seed(['ok.jpg', 'locked/a.jpg']);
    fs.chmodSync(path.join(library.root, 'locked'), 0o000);
    try {
      const result = await scan();
      expect(result).toMatchObject({ deleted: 0, skippedErrors: 1, errorCodes: { EACCES: 1 } });
    } finally {
      fs.chmodSync(path.join(library.root, 'locked'), 0o755);
    }
  });

  it('deletes at most the cap per tick and continues where it stopped', async () => {
    const missing = Array.from({ length: 10 }, (_, i) => `gone-${String(i).padStart(2, '0')}.jpg`);
    await seed(['keep.jpg'], missing);

    const deletedPerTick: number[] = [];
    for (let tick = 0; tick < 6; tick++) {
      const result = await scan({ deleteCap: 3 });
      deletedPerTick.push(result.deleted);
    }

    expect(deletedPerTick).toEqual([3, 3, 3, 1, 0, 0]);
    expect(await imagePaths(world.database, library.id)).toEqual(['keep.jpg']);
  });

  it('advances the cursor a page per tick and wraps at the end of the library', async () => {
    const ids = await seed(['1.jpg', '2.jpg', '3.jpg', '4.jpg', '5.jpg']);
    const settings = new SettingsRepository(world.db);

    const ticks = [];
    for (let tick = 0; tick < 4; tick++) {
      const { checked, wrapped, cursor } = await scan({ pageSize: 2 });
      ticks.push({ checked, wrapped, cursor });
    }

    expect(ticks).toEqual([
      { checked: 2, wrapped: false, cursor: ids[1] },
      { checked: 2, wrapped: false, cursor: ids[3] },
      { checked: 1, wrapped: true, cursor: 0 },
      { checked: 2, wrapped: false, cursor: ids[1] },
    ]);
    expect(await settings.get(missingScanCursorKey(library.id))).toBe(String(ids[1]));

    // A file behind the cursor that goes away is found once the scan has wrapped.
    fs.rmSync(path.join(library.root, '1.jpg'));
    const deleted: number[] = [];
    for (let tick = 0; tick < 3; tick++) deleted.push((await scan({ pageSize: 2 })).deleted);
    expect(deleted).toEqual([0, 0, 1]);
    expect(await imagePaths(world.database, library.id)).toEqual(['2.jpg', '3.jpg', '4.jpg', '5.jpg']);
  });

  it('starts over at once when the last tick ended exactly at the last row', async () => {
    const ids = await seed(['1.jpg', '2.jpg', '3.jpg', '4.jpg']);
    await scan({ pageSize: 2 });
    expect((await scan({ pageSize: 2 })).cursor).toBe(ids[3]);

    const third = await scan({ pageSize: 2 });

    expect(third).toMatchObject({ checked: 2, wrapped: true, cursor: ids[1] });
  });

  it('skips a Stale library wholesale', async () => {
    await seed([], ['a.jpg', 'b.jpg']);

    const result = await scan({ library: { id: library.id, root: library.root, status: 'stale' } });

    expect(result).toMatchObject({ outcome: 'skipped-stale', checked: 0, deleted: 0 });
    expect(await imagePaths(world.database, library.id)).toEqual(['a.jpg', 'b.jpg']);
    expect(await new SettingsRepository(world.db).get(missingScanCursorKey(library.id))).toBeUndefined();
  });

  it.each([
    {
      case: 'replaced by an empty folder (unmounted)',
      unmount: (root: string) => emptyRoot(root),
      reason: /lists empty/,
    },
    {
      case: 'renamed away',
      unmount: (root: string) => fs.renameSync(root, `${root}.away`),
      reason: /ENOENT/,
    },
  ])('aborts, deleting nothing, when the root is $case', async ({ unmount, reason }) => {
    const ids = await seed(['a.jpg', 'b.jpg']);
    await scan({ pageSize: 1 });
    unmount(library.root);

    const result = await scan({ pageSize: 1 });

    expect(result.outcome).toBe('aborted');
    expect(result.reason).toMatch(reason);
    expect(result.deleted).toBe(0);
    expect(result.cursor).toBe(ids[0]);
    expect(await imagePaths(world.database, library.id)).toEqual(['a.jpg', 'b.jpg']);
  });

  it('aborts, deleting nothing, when the mount drops while the page is being stat-ed', async () => {
    await seed(['a.jpg', 'b.jpg', 'c.jpg']);
    let dropped = false;
    const droppingFs: MissingScanFs = {
      async lstat(file) {
        if (!dropped && file !== library.root) {
          dropped = true;
          emptyRoot(library.root); // the real files vanish, as under an unmounted mount point
        }
        return nodeMissingScanFs.lstat(file);
      },
      readdir: nodeMissingScanFs.readdir,
    };

    const result = await scan({ fs: droppingFs, concurrency: 1 });

    expect(result).toMatchObject({ outcome: 'aborted', checked: 3, deleted: 0 });
    expect(result.reason).toMatch(/before deleting: the library root lists empty/);
    expect(await imagePaths(world.database, library.id)).toEqual(['a.jpg', 'b.jpg', 'c.jpg']);
  });

  it('aborts, deleting nothing, when a stat does not answer in time (hung mount)', async () => {
    await seed(['a.jpg'], ['gone.jpg', 'hung.jpg', 'later.jpg']);
    const started: string[] = [];
    const hangingFs: MissingScanFs = {
      lstat(file) {
        started.push(path.basename(file));
        if (file.endsWith('hung.jpg')) return new Promise(() => {});
        return nodeMissingScanFs.lstat(file);
      },
      readdir: nodeMissingScanFs.readdir,
    };

    const result = await scan({ fs: hangingFs, statTimeoutMs: 50, concurrency: 1 });

    expect(result.outcome).toBe('aborted');
    expect(result.reason).toMatch(/did not answer/);
    expect(started).not.toContain('later.jpg'); // no new stats once one hangs
    expect(result.cursor).toBe(0);
    expect(await imagePaths(world.database, library.id)).toEqual([
      'a.jpg',
      'gone.jpg',
      'hung.jpg',
      'later.jpg',
    ]);
  });

  it('aborts when a required marker file is missing from the root', async () => {
    await seed(['a.jpg'], ['gone.jpg']);

    const without = await scan({ markerFile: '.lumen-library' });
    expect(without).toMatchObject({ outcome: 'aborted', deleted: 0 });
    expect(without.reason).toMatch(/marker/);

    writeFiles(library.root, ['.lumen-library']);
    expect(await scan({ markerFile: '.lumen-library' })).toMatchObject({ outcome: 'scanned', deleted: 1 });
  });

  it('on a dry run logs what it would delete and deletes nothing', async () => {
    await seed(['a.jpg'], ['gone-1.jpg', 'gone-2.jpg']);
    const { logger, lines } = capturingLogger();

    const result = await scan({ dryRun: true, logger });

    expect(result).toMatchObject({ deleted: 0, wouldDelete: 2 });
    expect(await imagePaths(world.database, library.id)).toEqual(['a.jpg', 'gone-1.jpg', 'gone-2.jpg']);
    const line = lines.find((l) => String(l.msg).includes('would delete'));
    expect(line).toMatchObject({ wouldDelete: 2, paths: ['gone-1.jpg', 'gone-2.jpg'] });
  });

  it('with a cap of 0 deletes nothing but still covers the library', async () => {
    await seed(['a.jpg', 'c.jpg'], ['b-gone.jpg']);

    const first = await scan({ deleteCap: 0, pageSize: 2 });
    const second = await scan({ deleteCap: 0, pageSize: 2 });

    expect(first).toMatchObject({ deleted: 0, capped: false, checked: 2, wrapped: false });
    expect(second).toMatchObject({ deleted: 0, capped: true, checked: 1, wrapped: true, cursor: 0 });
    expect(await imagePaths(world.database, library.id)).toHaveLength(3);
  });

  it('10,000 files deleted at once go at most the cap per tick, and all of them eventually', async () => {
    const bulk = Array.from({ length: 10_000 }, (_, i) => `bulk/${String(i).padStart(5, '0')}.jpg`);
    await seed(['keep.jpg', ...bulk]);
    fs.rmSync(path.join(library.root, 'bulk'), { recursive: true });

    const deletedPerTick: number[] = [];
    for (let tick = 0; tick < 200; tick++) {
      const result = await scan({ pageSize: 500, deleteCap: 200 });
      deletedPerTick.push(result.deleted);
      if ((await imagePaths(world.database, library.id)).length === 1) break;
    }

    expect(Math.max(...deletedPerTick)).toBe(200);
    expect(deletedPerTick.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(deletedPerTick.length).toBeLessThanOrEqual(52);
    expect(await imagePaths(world.database, library.id)).toEqual(['keep.jpg']);
  }, 120_000);
});

/** What an unmounted mount point looks like: the folder is still there, empty. */
function emptyRoot(root: string): void {
  fs.renameSync(root, `${root}.unmounted`);
  fs.mkdirSync(root);
}
