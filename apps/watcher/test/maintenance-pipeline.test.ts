import fs from 'node:fs';
import path from 'node:path';
import type { LibraryRow, LibraryStatus } from '@lumen/db';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMaintenanceMetrics, type MaintenanceMetrics } from '../src/maintenance/maintenance-metrics.ts';
import { createMaintenancePass } from '../src/maintenance/maintenance-pass.ts';
import {
  type MaintenanceSummary,
  type RunMaintenanceOptions,
  runMaintenance,
} from '../src/maintenance/maintenance-pipeline.ts';
import type { MissingScanFs } from '../src/maintenance/missing-file-scan.ts';
import { nodeMissingScanFs } from '../src/maintenance/missing-file-scan.ts';
import { OrphanGcRunner } from '../src/maintenance/orphan-gc.ts';
import {
  createLibrary,
  createUserAndTag,
  derivedLocations,
  hash,
  imagePaths,
  insertDerived,
  insertImages,
  type Location,
  maintenanceWorld,
  missingPaths,
  silentLogger,
  writeFiles,
} from './maintenance-fixtures.ts';

let world: Awaited<ReturnType<typeof maintenanceWorld>>;
let recent: LibraryRow;
let archive: LibraryRow;
let owner: { userId: number; tagId: number };
let gcRunner: OrphanGcRunner;
/** The pipeline's clock, moved past the grace period by tests. */
let clock: number;
const PAST_GRACE_MS = 8 * 86_400_000;

const knobs = {
  IMAGE_EXIF_MISSING_SCAN_PAGE_SIZE: 500,
  IMAGE_EXIF_MISSING_DELETE_CAP_PER_TICK: 200,
  MAINTENANCE_DRY_RUN: false,
  MISSING_GRACE_SECONDS: 7 * 86_400,
  MISSING_SUSPECT_MIN_CHECKED: 20,
  MISSING_SUSPECT_SHARE: 0.5,
};

beforeEach(async () => {
  world = await maintenanceWorld();
  recent = await createLibrary(world.database, world.base, 'recent');
  archive = await createLibrary(world.database, world.base, 'archive');
  owner = await createUserAndTag(world.database);
  gcRunner = new OrphanGcRunner();
  clock = Date.parse('2026-06-01T12:00:00Z');
  // recent: a photo with a tag, a favorite, a face and an insight, and one more photo;
  // archive: an older photo with its own derived rows.
  writeFiles(recent.root, ['2024/a.jpg', 'keep.jpg']);
  writeFiles(archive.root, ['2019/old.jpg']);
  await insertImages(world.database, recent.id, [
    { relPath: '2024/a.jpg', hash: hash(1) },
    { relPath: 'keep.jpg', hash: hash(2) },
  ]);
  await insertImages(world.database, archive.id, [{ relPath: '2019/old.jpg', hash: hash(3) }]);
  await insertDerived(world.database, {
    libraryId: recent.id,
    relPath: '2024/a.jpg',
    hash: hash(1),
    ...owner,
  });
  await insertDerived(world.database, {
    libraryId: archive.id,
    relPath: '2019/old.jpg',
    hash: hash(3),
    ...owner,
  });
});
afterEach(() => world.cleanup());

function tick(
  statuses: { recent?: LibraryStatus; archive?: LibraryStatus } = {},
  overrides: Partial<RunMaintenanceOptions> = {},
): Promise<MaintenanceSummary> {
  return runMaintenance({
    db: world.db,
    libraries: [
      { id: recent.id, name: recent.name, root: recent.root, status: statuses.recent ?? 'online' },
      { id: archive.id, name: archive.name, root: archive.root, status: statuses.archive ?? 'online' },
    ],
    config: knobs,
    gcRunner,
    logger: silentLogger,
    now: () => clock,
    ...overrides,
  });
}

/** What ingest does when it finds the moved file: a row at the new location with the same hash. */
function ingestMovedFile(): Promise<number[]> {
  return insertImages(world.database, archive.id, [{ relPath: '2024/a.jpg', hash: hash(1) }]);
}

/** `mv recent/2024 archive/` (a person moving a folder; an emptied folder left behind would look like a dropped mount). */
function moveOnDisk(): void {
  fs.renameSync(path.join(recent.root, '2024'), path.join(archive.root, '2024'));
}

/** A person deleting a folder (`rm -r`). */
function deleteFolder(root: string, folder: string): void {
  fs.rmSync(path.join(root, folder), { recursive: true });
}

/** The four derived rows of each photo, by hash, with their location. */
async function derivedByHash(): Promise<Record<string, Location[]>> {
  const byHash: Record<string, Location[]> = {};
  for (const rows of Object.values(await derivedLocations(world.database))) {
    for (const row of rows) {
      byHash[row.content_hash] = [...(byHash[row.content_hash] ?? []), row];
    }
  }
  return byHash;
}

function gcDeleted(summary: MaintenanceSummary): number {
  return Object.values(summary.gc?.deleted ?? {}).reduce((a, b) => a + b, 0);
}

const at = (library: LibraryRow, relPath: string, h: string): Location[] =>
  Array.from({ length: 4 }, () => ({ library_id: library.id, rel_path: relPath, content_hash: h }));

describe('reconcile: a photo moved from recent to archive', () => {
  it('keeps its tag, favorite, face and insight when ingest finds the new location first', async () => {
    moveOnDisk();
    await ingestMovedFile();
    const summaries = [await tick(), await tick()];

    expect(summaries[0]?.missing.map((r) => r.marked)).toEqual([1, 0]);
    expect(summaries[0]?.backRefs?.total).toBe(4);
    expect(summaries.map(gcDeleted)).toEqual([0, 0]);
    expect(await derivedByHash()).toEqual({
      [hash(1)]: at(archive, '2024/a.jpg', hash(1)),
      [hash(3)]: at(archive, '2019/old.jpg', hash(3)),
    });
    expect(await imagePaths(world.database, recent.id)).toEqual(['keep.jpg']);
    expect(await missingPaths(world.database, recent.id)).toEqual(['2024/a.jpg']);
  });

  it('keeps them when the missing scan notices the move a tick before ingest finds the new file', async () => {
    moveOnDisk();
    const first = await tick(); // old row marked missing: its hash is still referenced
    expect(first.missing[0]?.marked).toBe(1);
    expect(first.gc).toMatchObject({ orphans: 0, pending: 0, hashesDeleted: 0 });

    await ingestMovedFile();
    const second = await tick();
    expect(second.backRefs?.total).toBe(4);
    expect(second.gc).toMatchObject({ orphans: 0, hashesDeleted: 0 });

    clock += PAST_GRACE_MS; // the old location's row goes for good; the content lives on in archive
    for (let i = 0; i < 3; i++) expect(gcDeleted(await tick())).toBe(0);
    expect(await missingPaths(world.database, recent.id)).toEqual([]);
    expect(await derivedByHash()).toEqual({
      [hash(1)]: at(archive, '2024/a.jpg', hash(1)),
      [hash(3)]: at(archive, '2019/old.jpg', hash(3)),
    });
  });

  it('skips the GC on a tick whose ingest did not scan, so a slow scan cannot turn a move into a delete', async () => {
    moveOnDisk();
    await tick(); // the missing scan notices: marked missing
    clock += PAST_GRACE_MS;
    await tick({}, { ingestScanned: false }); // the grace is over: the missing row goes, hash(1) orphaned
    for (let i = 0; i < 5; i++) {
      const summary = await tick({}, { ingestScanned: false });
      expect(summary.gc).toBeUndefined();
    }
    await ingestMovedFile();
    const found = await tick();
    expect(found.gc).toMatchObject({ hashesDeleted: 0 });
    expect((await derivedByHash())[hash(1)]).toEqual(at(archive, '2024/a.jpg', hash(1)));
  });
});

describe('runMaintenance', () => {
  it('hides a deleted file at once, deletes its row after the grace period, then its derived rows after two all-Online ticks', async () => {
    deleteFolder(recent.root, '2024');

    const before = [await tick(), await tick()];
    expect(before.map((s) => s.missing[0]?.marked)).toEqual([1, 0]);
    expect(before.map(gcDeleted)).toEqual([0, 0]);
    expect(Object.keys(await derivedByHash()).sort()).toEqual([hash(1), hash(3)]);

    clock += PAST_GRACE_MS;
    const summaries = [await tick(), await tick(), await tick()];

    expect(summaries.map((s) => s.missing[0]?.deleted)).toEqual([1, 0, 0]);
    expect(summaries.map(gcDeleted)).toEqual([0, 4, 0]);
    expect(Object.keys(await derivedByHash())).toEqual([hash(3)]);
  });

  it('deletes nothing anywhere over 10 ticks while a library root is unmounted, and resumes after', async () => {
    deleteFolder(recent.root, '2024'); // a real orphan-to-be in recent
    await tick(); // recent's row is marked missing
    clock += PAST_GRACE_MS;
    fs.renameSync(archive.root, `${archive.root}.unmounted`);
    fs.mkdirSync(archive.root); // an empty mount point

    for (let i = 0; i < 10; i++) {
      // Half of the ticks the probe has noticed (Stale); the other half it raced the unmount and
      // still said Online: the scan's own root check must catch it.
      const summary = await tick({ archive: i % 2 === 0 ? 'stale' : 'online' });
      expect(summary.allOnline).toBe(false);
      expect(summary.missing[1]?.deleted).toBe(0);
      expect(summary.missing[1]?.marked).toBe(0);
      expect(summary.missing[1]?.outcome).toBe(i % 2 === 0 ? 'skipped-stale' : 'aborted');
      expect(gcDeleted(summary)).toBe(0);
    }
    expect(await imagePaths(world.database, archive.id)).toEqual(['2019/old.jpg']);
    // recent was Online: its expired row went, but the GC kept the derived rows while archive was away.
    expect(await missingPaths(world.database, recent.id)).toEqual([]);
    expect(Object.keys(await derivedByHash()).sort()).toEqual([hash(1), hash(3)]);

    fs.rmdirSync(archive.root);
    fs.renameSync(`${archive.root}.unmounted`, archive.root);
    const back = [await tick(), await tick()];
    expect(back.map(gcDeleted)).toEqual([0, 4]);
    expect(await imagePaths(world.database, archive.id)).toEqual(['2019/old.jpg']);
    expect(Object.keys(await derivedByHash())).toEqual([hash(3)]);
  });

  it('keeps rows whose files fail with EIO and derived rows of their content', async () => {
    const eio: MissingScanFs = {
      async lstat(file) {
        if (file.endsWith('a.jpg')) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        return nodeMissingScanFs.lstat(file);
      },
      readdir: nodeMissingScanFs.readdir,
    };
    deleteFolder(recent.root, '2024');

    for (let i = 0; i < 3; i++) {
      const summary = await tick({}, { fs: eio });
      expect(summary.missing[0]).toMatchObject({ marked: 0, skippedErrors: 1, errorCodes: { EIO: 1 } });
      expect(gcDeleted(summary)).toBe(0);
    }
    expect(await imagePaths(world.database, recent.id)).toEqual(['2024/a.jpg', 'keep.jpg']);
  });

  it('on a dry run marks and deletes nothing, tick after tick, and reports what it would do', async () => {
    deleteFolder(recent.root, '2024');
    const dryRun = { ...knobs, MAINTENANCE_DRY_RUN: true };

    const summaries: MaintenanceSummary[] = [];
    for (let i = 0; i < 4; i++) summaries.push(await tick({}, { config: dryRun }));

    expect(summaries.every((s) => s.dryRun)).toBe(true);
    expect(summaries.map((s) => s.missing[0]?.wouldMark)).toEqual([1, 1, 1, 1]);
    expect(summaries.map(gcDeleted)).toEqual([0, 0, 0, 0]);
    expect(await imagePaths(world.database, recent.id)).toEqual(['2024/a.jpg', 'keep.jpg']);
    expect(Object.keys(await derivedByHash()).sort()).toEqual([hash(1), hash(3)]);
  });

  it('exports its counts as metrics', async () => {
    const registry = new Registry();
    const metrics: MaintenanceMetrics = createMaintenanceMetrics(registry);
    moveOnDisk();
    await ingestMovedFile();
    deleteFolder(archive.root, '2019');

    await tick({}, { metrics });
    const afterFirst = await registry.getMetricsAsJSON();
    clock += PAST_GRACE_MS;
    await tick({}, { metrics });
    const afterSecond = await registry.getMetricsAsJSON();
    await tick({}, { metrics });
    const afterThird = await registry.getMetricsAsJSON();

    const value = (json: typeof afterFirst, name: string, labels: Record<string, string> = {}) =>
      json
        .find((m) => m.name === name)
        ?.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
        .reduce((total, v) => total + v.value, 0);
    expect(value(afterFirst, 'lumen_maintenance_missing_rows_marked_total', { library: 'recent' })).toBe(1);
    expect(value(afterFirst, 'lumen_maintenance_missing_rows_marked_total', { library: 'archive' })).toBe(1);
    expect(value(afterFirst, 'lumen_maintenance_backrefs_repointed_total')).toBe(4);
    expect(value(afterFirst, 'lumen_maintenance_gc_pending')).toBe(0);
    expect(value(afterFirst, 'lumen_library_suspect', { library: 'archive' })).toBe(0);
    expect(value(afterSecond, 'lumen_maintenance_missing_rows_deleted_total')).toBe(2);
    expect(value(afterSecond, 'lumen_maintenance_gc_pending')).toBe(1);
    expect(value(afterThird, 'lumen_maintenance_gc_rows_deleted_total')).toBe(4);
    expect(value(afterThird, 'lumen_maintenance_gc_rows_deleted_total', { table: 'favorites' })).toBe(1);
  });

  it('runs as one pass of the watcher tick, keeping the GC state between ticks', async () => {
    const pass = createMaintenancePass({
      db: world.db,
      config: knobs,
      logger: silentLogger,
      now: () => clock,
    });
    deleteFolder(recent.root, '2024');
    const ctx = {
      libraries: [
        { library: recent, status: 'online' as const },
        { library: archive, status: 'online' as const },
      ],
      ingestScanned: true,
      signal: new AbortController().signal,
    };

    await pass.run(ctx);
    expect(pass.lastSummary()?.missing[0]).toMatchObject({ marked: 1 });
    clock += PAST_GRACE_MS;
    await pass.run(ctx);
    expect(pass.lastSummary()?.gc).toMatchObject({ pending: 1, hashesDeleted: 0 });
    // A tick whose scans did not all finish does not count for the GC.
    await pass.run({ ...ctx, ingestScanned: false });
    expect(pass.lastSummary()?.gc).toBeUndefined();
    expect(Object.keys(await derivedByHash()).sort()).toEqual([hash(1), hash(3)]);
    await pass.run(ctx);
    expect(pass.lastSummary()?.gc).toMatchObject({ hashesDeleted: 1 });
    expect(Object.keys(await derivedByHash())).toEqual([hash(3)]);
  });
});
