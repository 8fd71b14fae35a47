import fs from 'node:fs';
import path from 'node:path';
import { LibrariesRepository, type LibraryRow, SettingsRepository } from '@lumen/db';
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
  missingPaths,
  silentLogger,
  writeFiles,
} from './maintenance-fixtures.ts';

let world: Awaited<ReturnType<typeof maintenanceWorld>>;
let library: LibraryRow;
/** The scan's clock: moved by tests to get past the grace period. */
let clock: number;
const DAY = 86_400_000;
const GRACE_SECONDS = 7 * 86_400;

beforeEach(async () => {
  world = await maintenanceWorld();
  library = await createLibrary(world.database, world.base, 'main');
  clock = Date.parse('2026-06-01T12:00:00Z');
});
afterEach(() => world.cleanup());

function scan(overrides: Partial<MissingFileScanOptions> = {}) {
  return runMissingFileScan({
    db: world.db,
    library: { id: library.id, root: library.root, status: 'online' },
    pageSize: 500,
    deleteCap: 200,
    dryRun: false,
    graceSeconds: GRACE_SECONDS,
    logger: silentLogger,
    now: () => clock,
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

/** `n` files `<prefix>-00.jpg`... */
const names = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}.jpg`);

const present = () => imagePaths(world.database, library.id);
const hidden = () => missingPaths(world.database, library.id);
const libraryRow = async () => (await new LibrariesRepository(world.db).findById(library.id))!;

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

describe('runMissingFileScan: missing is a state', () => {
  it('marks the rows of NotFound files (ENOENT, ENOTDIR) missing, deletes nothing, keeps the rest', async () => {
    await seed(names('keep', 10), ['gone.jpg', 'keep-00.jpg/not-a-dir.jpg']);

    const result = await scan();

    expect(result).toMatchObject({ outcome: 'scanned', checked: 12, marked: 2, deleted: 0, braked: false });
    expect(await present()).toEqual(names('keep', 10));
    expect(await hidden()).toEqual(['gone.jpg', 'keep-00.jpg/not-a-dir.jpg']);
  });

  it('keeps rows whose files stat with EACCES, EPERM or EIO (injected fs layer)', async () => {
    // Tests run as root, where a chmod 000 folder still stats; the injected fs layer gives the errors a
    // real unreadable folder or a failing disk would.
    await seed(
      ['ok.jpg', ...names('more', 8)],
      ['locked/a.jpg', 'locked/b.jpg', 'perm.jpg', 'bad-sector.jpg', 'really-gone.jpg'],
    );
    const fsLayer = failingFs((file) => {
      if (file.includes(`${path.sep}locked${path.sep}`)) return 'EACCES';
      if (file.endsWith('perm.jpg')) return 'EPERM';
      if (file.endsWith('bad-sector.jpg')) return 'EIO';
      return undefined;
    });

    const result = await scan({ fs: fsLayer });

    expect(result).toMatchObject({ checked: 14, marked: 1, skippedErrors: 4 });
    expect(result.errorCodes).toEqual({ EACCES: 2, EPERM: 1, EIO: 1 });
    expect(await hidden()).toEqual(['really-gone.jpg']);
  });

  it('revives a file that comes back at the same path, with the same row id', async () => {
    const ids = await seed(names('keep', 5), []);
    fs.renameSync(path.join(library.root, 'keep-02.jpg'), path.join(world.base, 'aside.jpg'));
    expect((await scan()).marked).toBe(1);
    expect(await hidden()).toEqual(['keep-02.jpg']);

    fs.renameSync(path.join(world.base, 'aside.jpg'), path.join(library.root, 'keep-02.jpg'));
    const result = await scan();

    expect(result).toMatchObject({ revived: 1, marked: 0 });
    expect(await hidden()).toEqual([]);
    const row = await world.db
      .selectFrom('image_exif')
      .select('id')
      .where('rel_path', '=', 'keep-02.jpg')
      .executeTakeFirstOrThrow();
    expect(row.id).toBe(ids[2]);
  });

  it('deletes a missing row only once the grace period is over, and only if the file is still gone', async () => {
    await seed(names('keep', 10), ['gone.jpg', 'back-later.jpg']);
    await scan();
    expect(await hidden()).toEqual(['back-later.jpg', 'gone.jpg']);

    clock += 6 * DAY;
    expect((await scan()).deleted).toBe(0);

    writeFiles(library.root, ['back-later.jpg']);
    clock += 1 * DAY; // exactly the grace period
    const result = await scan();

    expect(result).toMatchObject({ deleted: 1, revived: 1 });
    expect(await hidden()).toEqual([]);
    expect(await present()).toEqual(['back-later.jpg', ...names('keep', 10)]);
  });

  it('deletes at most the cap per tick and continues where it stopped', async () => {
    await seed(names('keep', 30), names('gone', 10));
    await scan();
    clock += 8 * DAY;

    const deletedPerTick: number[] = [];
    for (let tick = 0; tick < 5; tick++) deletedPerTick.push((await scan({ deleteCap: 3 })).deleted);

    expect(deletedPerTick).toEqual([3, 3, 3, 1, 0]);
    expect(await hidden()).toEqual([]);
  });

  it('with a cap of 0 deletes nothing, ever', async () => {
    await seed(names('keep', 30), ['gone.jpg']);
    await scan({ deleteCap: 0 });
    clock += 100 * DAY;
    expect(await scan({ deleteCap: 0 })).toMatchObject({ deleted: 0, capped: true });
    expect(await hidden()).toEqual(['gone.jpg']);
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
    const marked: number[] = [];
    for (let tick = 0; tick < 3; tick++) marked.push((await scan({ pageSize: 2 })).marked);
    expect(marked).toEqual([0, 0, 1]);
    expect(await hidden()).toEqual(['1.jpg']);
  });

  it('skips a Stale library wholesale', async () => {
    await seed([], ['a.jpg', 'b.jpg']);

    const result = await scan({ library: { id: library.id, root: library.root, status: 'stale' } });

    expect(result).toMatchObject({ outcome: 'skipped-stale', checked: 0, marked: 0 });
    expect(await present()).toEqual(['a.jpg', 'b.jpg']);
    expect(await new SettingsRepository(world.db).get(missingScanCursorKey(library.id))).toBeUndefined();
  });

  it('never deletes expired rows of a library on a tick it is Stale', async () => {
    await seed(names('keep', 30), ['gone.jpg']);
    await scan();
    clock += 30 * DAY;
    await scan({ library: { id: library.id, root: library.root, status: 'stale' } });
    expect(await hidden()).toEqual(['gone.jpg']);
  });

  it.each([
    {
      case: 'replaced by an empty folder (unmounted)',
      unmount: (root: string) => emptyRoot(root),
      reason: /lists no files/,
    },
    {
      case: 'replaced by a folder holding only dotfiles',
      unmount: (root: string) => {
        emptyRoot(root);
        fs.writeFileSync(path.join(root, '.DS_Store'), 'x');
        fs.writeFileSync(path.join(root, '.lumen-library'), 'x');
      },
      reason: /lists no files/,
    },
    {
      case: 'renamed away',
      unmount: (root: string) => fs.renameSync(root, `${root}.away`),
      reason: /ENOENT/,
    },
  ])('aborts, changing nothing, when the root is $case', async ({ unmount, reason }) => {
    const ids = await seed(['a.jpg', 'b.jpg']);
    await scan({ pageSize: 1 });
    unmount(library.root);

    const result = await scan({ pageSize: 1 });

    expect(result.outcome).toBe('aborted');
    expect(result.reason).toMatch(reason);
    expect(result.marked).toBe(0);
    expect(result.cursor).toBe(ids[0]);
    expect(await present()).toEqual(['a.jpg', 'b.jpg']);
  });

  it('aborts, changing nothing, when the mount drops while the page is being stat-ed', async () => {
    await seed(names('f', 3));
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

    // Every file vanished at once in a small library: the brake holds before the root is re-checked.
    expect(result.marked).toBe(0);
    expect(await present()).toEqual(names('f', 3));
  });

  it('aborts before marking when the mount drops between the stats and the marking', async () => {
    await seed([...names('keep', 30), 'gone.jpg']);
    fs.rmSync(path.join(library.root, 'gone.jpg'));

    const result = await scan({
      onPhase: (phase) => {
        if (phase === 'missing-scan:apply') emptyRoot(library.root);
      },
    });

    expect(result.outcome).toBe('aborted');
    expect(result.reason).toMatch(/before marking: the library root lists no files/);
    expect(await hidden()).toEqual([]);
  });

  it('aborts, changing nothing, when a stat does not answer in time (hung mount)', async () => {
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
    expect(await present()).toEqual(['a.jpg', 'gone.jpg', 'hung.jpg', 'later.jpg']);
  });

  it('aborts when a required marker file is missing from the root', async () => {
    await seed(names('keep', 30), ['gone.jpg']);

    const without = await scan({ markerFile: '.lumen-library' });
    expect(without).toMatchObject({ outcome: 'aborted', marked: 0 });
    expect(without.reason).toMatch(/marker/);

    writeFiles(library.root, ['.lumen-library']);
    expect(await scan({ markerFile: '.lumen-library' })).toMatchObject({ outcome: 'scanned', marked: 1 });
  });

  it('on a dry run logs what it would mark and delete and changes nothing', async () => {
    await seed(names('keep', 30), ['gone-1.jpg', 'gone-2.jpg']);
    const { logger, lines } = capturingLogger();

    const result = await scan({ dryRun: true, logger });

    expect(result).toMatchObject({ marked: 0, wouldMark: 2, deleted: 0 });
    expect(await hidden()).toEqual([]);
    const line = lines.find((l) => String(l.msg).includes('would mark'));
    expect(line).toMatchObject({ wouldMark: 2, paths: ['gone-1.jpg', 'gone-2.jpg'] });
  });
});

describe('runMissingFileScan: the mass-disappearance brake', () => {
  it('marks nothing when more than half of 20+ checked files vanish at once, and keeps the cursor', async () => {
    await seed([...names('keep', 9), ...names('bulk', 11)]);
    for (const name of names('bulk', 11)) fs.rmSync(path.join(library.root, name));

    const result = await scan();

    expect(result).toMatchObject({ outcome: 'braked', braked: true, marked: 0, cursor: 0, wrapped: false });
    expect(result.reason).toMatch(/more than 50% of the files checked vanished/);
    expect(await hidden()).toEqual([]);
    const row = await libraryRow();
    expect(row.suspect_reason).toMatch(/vanished/);
    expect(row.suspect_since).toBe(new Date(clock).toISOString());
  });

  it('clears when the files come back, marking nothing', async () => {
    await seed([...names('keep', 9), ...names('bulk', 11)]);
    fs.renameSync(library.root, `${library.root}.real`);
    fs.mkdirSync(library.root);
    fs.mkdirSync(path.join(library.root, 'somewhere-else')); // lists a visible entry: not an empty root
    expect((await scan()).braked).toBe(true);

    fs.rmSync(library.root, { recursive: true });
    fs.renameSync(`${library.root}.real`, library.root);
    const result = await scan();

    expect(result).toMatchObject({ braked: false, marked: 0, outcome: 'scanned' });
    expect((await libraryRow()).suspect_reason).toBeNull();
    expect(await present()).toHaveLength(20);
  });

  it('holds for every file of a small library, until an admin confirms the episode', async () => {
    await seed(['2024/a.jpg', '2024/b.jpg', '2024/c.jpg']);
    for (const name of ['a.jpg', 'b.jpg', 'c.jpg']) fs.rmSync(path.join(library.root, '2024', name));

    for (let tick = 0; tick < 3; tick++) {
      expect(await scan()).toMatchObject({ braked: true, marked: 0 });
    }
    const libraries = new LibrariesRepository(world.db);
    const since = (await libraryRow()).suspect_since;
    expect(await libraries.confirmMissing(library.id)).toBe(true);

    const result = await scan();
    expect(result).toMatchObject({ braked: false, marked: 3 });
    expect(await hidden()).toEqual(['2024/a.jpg', '2024/b.jpg', '2024/c.jpg']);
    // Still within the episode the admin confirmed; it ends when nothing vanishes any more.
    expect((await libraryRow()).missing_confirmed_at).toBe(since);
    clock += 8 * DAY;
    expect((await scan()).deleted).toBe(3);
  });

  it('a later episode brakes again after an earlier one was confirmed', async () => {
    await seed(['a.jpg']);
    fs.rmSync(path.join(library.root, 'a.jpg'));
    writeFiles(library.root, ['x/other.txt']);
    expect((await scan()).braked).toBe(true);
    await new LibrariesRepository(world.db).confirmMissing(library.id);
    expect((await scan()).marked).toBe(1);

    // Nothing vanishes for a tick: the episode ends.
    await seed(['b.jpg']);
    clock += DAY;
    const quiet = await scan();
    expect(quiet.braked).toBe(false);
    expect(quiet.suspect).toBeUndefined();
    fs.rmSync(path.join(library.root, 'b.jpg'));
    expect(await scan()).toMatchObject({ braked: true, marked: 0 });
  });

  it('hides the files of a folder that lists empty (a dropped nested mount) but deletes nothing while it does', async () => {
    await seed([...names('keep', 30), 'nas/2023/a.jpg', 'nas/2023/b.jpg', 'nas/c.jpg']);
    const nas = path.join(library.root, 'nas');
    fs.renameSync(nas, `${nas}.real`);
    fs.mkdirSync(nas); // the mount point stays, empty
    fs.writeFileSync(path.join(nas, '.DS_Store'), 'x');

    const result = await scan();
    expect(result).toMatchObject({ marked: 3, braked: true });
    expect(result.suspect).toMatch(/folder "nas" lists no files/);
    expect(await hidden()).toEqual(['nas/2023/a.jpg', 'nas/2023/b.jpg', 'nas/c.jpg']);

    clock += 30 * DAY;
    for (let tick = 0; tick < 3; tick++) expect(await scan()).toMatchObject({ deleted: 0, braked: true });

    fs.rmSync(nas, { recursive: true });
    fs.renameSync(`${nas}.real`, nas);
    expect(await scan()).toMatchObject({ revived: 3 });
    expect(await hidden()).toEqual([]);
    expect(await scan()).toMatchObject({ braked: false });
    expect((await libraryRow()).suspect_reason).toBeNull();
  });

  it('treats a folder a person removed as deleted: its files are hidden, and deleted after the grace period', async () => {
    await seed([...names('keep', 30), 'trip/a.jpg', 'trip/b.jpg']);
    fs.rmSync(path.join(library.root, 'trip'), { recursive: true });

    expect(await scan()).toMatchObject({ marked: 2, braked: false });
    clock += 8 * DAY;
    expect(await scan()).toMatchObject({ deleted: 2, braked: false });
    expect(await hidden()).toEqual([]);
  });

  it('a nested mount with folders inside: the mount point lists empty, the folders are gone; suspect too', async () => {
    await seed([...names('keep', 30), 'nas/2023/a.jpg', 'nas/2024/summer/b.jpg']);
    const nas = path.join(library.root, 'nas');
    fs.renameSync(nas, `${nas}.real`);
    fs.mkdirSync(nas);

    expect(await scan()).toMatchObject({ marked: 2, braked: true });
    clock += 30 * DAY;
    expect(await scan()).toMatchObject({ deleted: 0, braked: true });
  });

  it('a folder moved away (its content found elsewhere) leaves an empty parent without making anything suspect', async () => {
    const ids = await insertImages(world.database, library.id, [
      ...names('keep', 30).map((relPath) => ({ relPath })),
      { relPath: 'inbox/trip/a.jpg', hash: 'xxh3-128:aa' },
      { relPath: 'archive/trip/a.jpg', hash: 'xxh3-128:aa' },
    ]);
    writeFiles(library.root, [...names('keep', 30), 'archive/trip/a.jpg']);
    fs.mkdirSync(path.join(library.root, 'inbox')); // `mv inbox/trip archive/` left inbox empty

    expect(await scan()).toMatchObject({ marked: 1, braked: false });
    expect(ids).toHaveLength(32);
    clock += 8 * DAY;
    expect(await scan()).toMatchObject({ deleted: 1, braked: false });
  });

  it('10,000 files vanishing from a big library: braked until confirmed, then hidden, then deleted at most the cap per tick', async () => {
    const bulk = Array.from({ length: 10_000 }, (_, i) => `bulk/${String(i).padStart(5, '0')}.jpg`);
    await seed(['keep.jpg', ...bulk]);
    fs.rmSync(path.join(library.root, 'bulk'), { recursive: true });

    expect(await scan()).toMatchObject({ braked: true, marked: 0 });
    await new LibrariesRepository(world.db).confirmMissing(library.id);
    let ticks = 0;
    while ((await present()).length > 1 && ticks++ < 40) await scan();
    expect(await hidden()).toHaveLength(10_000);

    clock += 8 * DAY;
    const deletedPerTick: number[] = [];
    for (let tick = 0; tick < 200 && (await hidden()).length > 0; tick++) {
      deletedPerTick.push((await scan()).deleted);
    }
    expect(Math.max(...deletedPerTick)).toBe(200);
    expect(deletedPerTick.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(await present()).toEqual(['keep.jpg']);
  }, 120_000);
});

/** What an unmounted mount point looks like: the folder is still there, empty. */
function emptyRoot(root: string): void {
  fs.renameSync(root, `${root}.unmounted`);
  fs.mkdirSync(root);
}
