import fs from 'node:fs';
import path from 'node:path';
import { LibrariesRepository, type LibraryRow } from '@lumen/db';
import { makeThumbnail } from '@lumen/media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createUserAndTag,
  derivedLocations,
  imagePaths,
  insertDerived,
  type Location,
  missingPaths,
} from './maintenance-fixtures.ts';
import { copyIn, type Harness, startHarness } from './watcher-harness.ts';

/**
 * The watcher as it runs in production (`start()` with its default maintenance pass), over real
 * files: ticks are driven by `tickNow()` (the quick interval is an hour, so every tick after the
 * first is a quick scan unless said otherwise), and every file is old, so a quick scan compares a
 * folder only when something in it really changed.
 */
const OLD = new Date('2020-06-01T12:00:00Z');

/** Give every file and folder under `dir` (and `dir` itself) the old mtime. */
function ageTree(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) ageTree(full);
    else fs.utimesSync(full, OLD, OLD);
  }
  fs.utimesSync(dir, OLD, OLD);
}

let h: Harness;
let main: LibraryRow;
let archive: LibraryRow;
let owner: { userId: number; tagId: number };

/** The hash ingest stored for a file. */
async function hashOf(library: LibraryRow, relPath: string): Promise<string> {
  const row = await h.database.db
    .selectFrom('image_exif')
    .select('content_hash')
    .where('library_id', '=', library.id)
    .where('rel_path', '=', relPath)
    .executeTakeFirstOrThrow();
  return row.content_hash!;
}

/** Derived rows (all four tables) of one content hash. */
async function derivedOf(contentHash: string): Promise<Location[]> {
  const all = await derivedLocations(h.database);
  return Object.values(all)
    .flat()
    .filter((row) => row.content_hash === contentHash);
}

const fourAt = (library: LibraryRow, relPath: string, contentHash: string): Location[] =>
  Array.from({ length: 4 }, () => ({ library_id: library.id, rel_path: relPath, content_hash: contentHash }));

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const json = await h.watcher.registry.getMetricsAsJSON();
  return (
    json
      .find((m) => m.name === name)
      ?.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
      .reduce((total, v) => total + v.value, 0) ?? 0
  );
}

async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await h.watcher.tickNow();
}

beforeAll(async () => {
  h = await startHarness({
    extraLibraries: ['archive'],
    env: { WATCH_QUICK_INTERVAL_SECONDS: '3600', WATCH_FULL_INTERVAL_SECONDS: '3600' },
    prepare(root, roots) {
      copyIn(root, 'photo/exif-samples__Canon_40D.jpg', 'recent/2024-trip/a.jpg');
      copyIn(root, 'photo/exif-samples__Nikon_D70.jpg', 'recent/2024-trip/day2/b.jpg');
      copyIn(root, 'photo/exif-samples__Pentax_K10D.jpg', 'keep.jpg');
      copyIn(root, 'photo/exif-samples__Kodak_CX7530.jpg', 'edits/e.jpg');
      copyIn(root, 'photo/exif-samples__Ricoh_Caplio_RR330.jpg', 'doomed/d.jpg');
      copyIn(roots.archive!, 'photo/exif-samples__Sony_HDR-HC3.jpg', '2019/old.jpg');
      ageTree(root);
      ageTree(roots.archive!);
    },
  });
  const libraries = new LibrariesRepository(h.database.db);
  main = (await libraries.findByName('main'))!;
  archive = (await libraries.findByName('archive'))!;
  // The first tick (a full scan) runs at once; tickNow waits for it, then runs a quick one.
  await h.watcher.tickNow();
  owner = await createUserAndTag(h.database);
  for (const relPath of [
    'recent/2024-trip/a.jpg',
    'recent/2024-trip/day2/b.jpg',
    'edits/e.jpg',
    'doomed/d.jpg',
  ]) {
    await insertDerived(h.database, {
      libraryId: main.id,
      relPath,
      hash: await hashOf(main, relPath),
      ...owner,
    });
  }
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('a folder moved with its old mtimes, found by quick scans', () => {
  it('is ingested on the next quick tick when moved within a library, and its tags follow', async () => {
    const a = await hashOf(main, 'recent/2024-trip/a.jpg');
    const b = await hashOf(main, 'recent/2024-trip/day2/b.jpg');
    fs.mkdirSync(path.join(h.root, 'archive'));
    fs.renameSync(path.join(h.root, 'recent/2024-trip'), path.join(h.root, 'archive/2024-trip'));

    await h.watcher.tickNow();
    expect(h.watcher.lastScans()).toEqual([
      expect.objectContaining({ library: 'main', kind: 'quick', new: 2, unknownDirs: 2, completed: true }),
      expect.objectContaining({ library: 'archive', kind: 'quick', new: 0 }),
    ]);
    expect(await imagePaths(h.database, main.id)).toEqual([
      'archive/2024-trip/a.jpg',
      'archive/2024-trip/day2/b.jpg',
      'doomed/d.jpg',
      'edits/e.jpg',
      'keep.jpg',
    ]);
    expect(await derivedOf(a)).toEqual(fourAt(main, 'archive/2024-trip/a.jpg', a));
    expect(await derivedOf(b)).toEqual(fourAt(main, 'archive/2024-trip/day2/b.jpg', b));

    await ticks(3);
    expect(await derivedOf(a)).toEqual(fourAt(main, 'archive/2024-trip/a.jpg', a));
    expect(await derivedOf(b)).toEqual(fourAt(main, 'archive/2024-trip/day2/b.jpg', b));
    expect(await metric('lumen_maintenance_gc_rows_deleted_total')).toBe(0);
  });

  it('is ingested on the next quick tick when moved to another library, and its tags follow', async () => {
    const a = await hashOf(main, 'archive/2024-trip/a.jpg');
    const b = await hashOf(main, 'archive/2024-trip/day2/b.jpg');
    fs.renameSync(path.join(h.root, 'archive/2024-trip'), path.join(h.roots.archive!, '2024-trip'));

    await h.watcher.tickNow();
    expect(h.watcher.lastScans()).toEqual([
      expect.objectContaining({ library: 'main', kind: 'quick', new: 0 }),
      expect.objectContaining({ library: 'archive', kind: 'quick', new: 2, unknownDirs: 2, completed: true }),
    ]);
    expect(await imagePaths(h.database, archive.id)).toEqual([
      '2019/old.jpg',
      '2024-trip/a.jpg',
      '2024-trip/day2/b.jpg',
    ]);
    expect(await imagePaths(h.database, main.id)).toEqual(['doomed/d.jpg', 'edits/e.jpg', 'keep.jpg']);
    expect(await derivedOf(a)).toEqual(fourAt(archive, '2024-trip/a.jpg', a));
    expect(await derivedOf(b)).toEqual(fourAt(archive, '2024-trip/day2/b.jpg', b));

    await ticks(3);
    expect(await derivedOf(a)).toEqual(fourAt(archive, '2024-trip/a.jpg', a));
    expect(await derivedOf(b)).toEqual(fourAt(archive, '2024-trip/day2/b.jpg', b));
    expect(await metric('lumen_maintenance_gc_rows_deleted_total')).toBe(0);
  });

  it('does not compare the moved folders again once the database knows them', async () => {
    await h.watcher.tickNow();
    // main's root is compared still: mkdir touched it less than the quick-scan slack ago.
    expect(h.watcher.lastScans()).toEqual([
      expect.objectContaining({ library: 'main', kind: 'quick', unknownDirs: 0, new: 0 }),
      expect.objectContaining({ library: 'archive', kind: 'quick', comparedDirs: 0, unknownDirs: 0 }),
    ]);
  });
});

describe('a file edited in place', () => {
  it('keeps its tag, favorite, face and insight on its new content, through GC ticks', async () => {
    const file = path.join(h.root, 'edits/e.jpg');
    const before = await hashOf(main, 'edits/e.jpg');
    const reencoded = path.join(h.base, 'reencoded.jpg');
    await makeThumbnail(fs.readFileSync(file), reencoded, { size: 120, quality: 70 });
    fs.writeFileSync(file, fs.readFileSync(reencoded)); // same path, same inode, new bytes

    await h.watcher.tickNow();
    const after = await hashOf(main, 'edits/e.jpg');
    expect(after).not.toBe(before);
    expect(h.ingested.find((e) => e.contentHash === after)).toMatchObject({
      relPath: 'edits/e.jpg',
      isNew: false,
    });
    expect(await derivedOf(after)).toEqual(fourAt(main, 'edits/e.jpg', after));
    expect(await derivedOf(before)).toEqual([]);

    await ticks(3);
    expect(await derivedOf(after)).toEqual(fourAt(main, 'edits/e.jpg', after));
    expect(await metric('lumen_maintenance_gc_rows_deleted_total')).toBe(0);
  });
});

describe('the default maintenance pass', () => {
  it('hides a deleted folder at once, deletes its rows after the grace period, then their derived rows after two all-Online ticks', async () => {
    const d = await hashOf(main, 'doomed/d.jpg');
    const markedBefore = await metric('lumen_maintenance_missing_rows_marked_total', { library: 'main' });
    fs.rmSync(path.join(h.root, 'doomed'), { recursive: true });

    await h.watcher.tickNow();
    expect(await imagePaths(h.database, main.id)).toEqual(['edits/e.jpg', 'keep.jpg']);
    // The folders moved away earlier left rows marked missing too (their content lives on elsewhere).
    const hidden = await missingPaths(h.database, main.id);
    expect(hidden).toContain('doomed/d.jpg');
    expect(await metric('lumen_maintenance_missing_rows_marked_total', { library: 'main' })).toBe(
      markedBefore + 1,
    );
    await ticks(3);
    expect(await derivedOf(d)).toHaveLength(4); // kept through the grace period

    h.advanceClock(8 * 86_400_000);
    await h.watcher.tickNow();
    expect(await missingPaths(h.database, main.id)).toEqual([]);
    expect(await metric('lumen_maintenance_missing_rows_deleted_total', { library: 'main' })).toBe(
      hidden.length,
    );
    expect(await derivedOf(d)).toHaveLength(4); // pending: one tick is not enough

    await h.watcher.tickNow();
    expect(await derivedOf(d)).toEqual([]);
    expect(await metric('lumen_maintenance_gc_rows_deleted_total')).toBe(4);
    // Everything else is still there.
    expect(await derivedLocations(h.database).then((all) => Object.values(all).flat().length)).toBe(12);
  });
});
