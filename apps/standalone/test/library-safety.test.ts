/**
 * Issue 10, item 5: our first promise (a mount that drops never costs a tag or a favorite) against
 * the three ways it broke, with the real watcher loop and the real api (library-world.ts):
 *
 * 1. the root of `archive` emptied: the mount point stays, empty;
 * 2. the root of `archive` holding only a dotfile (a Finder `.DS_Store`, our own marker);
 * 3. a nested mount in `recent`: the folder `nas` replaced by an empty folder;
 * (and 4. the root of `archive` gone altogether.)
 *
 * Each is made at every phase of a tick: before the probe, between the probe and the scan, during
 * the scan, during the missing-file scan (before its stats, between its stats and its changes),
 * and during the orphan GC. Then 15 ticks, with the clock moved past the grace period halfway;
 * then the folder comes back. Throughout, every tag link and favorite stays; at the end every
 * photo is listed again with its tags and favorite, and nothing unchanged was ingested again.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TickPhase } from '@lumen/watcher';
import { afterEach, describe, expect, it } from 'vitest';
import { type LibraryWorld, startLibraryWorld, writeJpeg } from './library-world.ts';

const RECENT = [
  '2024/a.jpg',
  '2024/b.jpg',
  '2024/c.jpg',
  'phone/d.jpg',
  'phone/e.jpg',
  'nas/n1.jpg',
  'nas/n2.jpg',
  'nas/n3.jpg',
];
const ARCHIVE = ['2019/old-1.jpg', '2019/old-2.jpg'];
const DAY = 86_400_000;

interface Scenario {
  name: string;
  library: 'recent' | 'archive';
  /** The photos that vanish, relative to their library. */
  affected: string[];
  drop(world: LibraryWorld): void;
  restore(world: LibraryWorld): void;
}

/**
 * `folder` (absolute) set aside at `aside` (outside every library, as a dropped mount's files are
 * nowhere the watcher looks), and an empty folder made in its place with `leave` in it.
 */
function unmount(folder: string, aside: string, leave: string[] = []): void {
  fs.renameSync(folder, aside);
  fs.mkdirSync(folder);
  for (const name of leave) fs.writeFileSync(path.join(folder, name), 'x');
}
function remount(folder: string, aside: string): void {
  fs.rmSync(folder, { recursive: true, force: true });
  fs.renameSync(aside, folder);
}
const aside = (root: string, name: string) => `${root}.${name}.mounted`;

const scenarios: Scenario[] = [
  {
    name: 'an emptied root (the mount point stays)',
    library: 'archive',
    affected: ARCHIVE,
    drop: (w) => unmount(w.roots.archive!, aside(w.roots.archive!, 'root')),
    restore: (w) => remount(w.roots.archive!, aside(w.roots.archive!, 'root')),
  },
  {
    name: 'a root holding only dotfiles',
    library: 'archive',
    affected: ARCHIVE,
    drop: (w) => unmount(w.roots.archive!, aside(w.roots.archive!, 'root'), ['.DS_Store', '.lumen-library']),
    restore: (w) => remount(w.roots.archive!, aside(w.roots.archive!, 'root')),
  },
  {
    name: 'a root that is gone',
    library: 'archive',
    affected: ARCHIVE,
    drop: (w) => fs.renameSync(w.roots.archive!, `${w.roots.archive!}.mounted`),
    restore: (w) => fs.renameSync(`${w.roots.archive!}.mounted`, w.roots.archive!),
  },
  {
    name: 'a nested mount (a subfolder replaced by an empty folder)',
    library: 'recent',
    affected: ['nas/n1.jpg', 'nas/n2.jpg', 'nas/n3.jpg'],
    // Set aside outside the library: inside it, the watcher would rightly see the files as moved.
    drop: (w) => unmount(path.join(w.roots.recent!, 'nas'), aside(w.roots.recent!, 'nas')),
    restore: (w) => remount(path.join(w.roots.recent!, 'nas'), aside(w.roots.recent!, 'nas')),
  },
];

const phases: TickPhase[] = [
  'probe',
  'scan',
  'scan:directory',
  'missing-scan:stat',
  'missing-scan:apply',
  'gc',
];

let world: LibraryWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A world with every photo tagged `keep` and favorited by the admin. */
async function taggedWorld(): Promise<{ w: LibraryWorld; everything: string[] }> {
  const w = await startLibraryWorld({ libraries: { recent: RECENT, archive: ARCHIVE } });
  const everything = [...RECENT.map((p) => `recent:${p}`), ...ARCHIVE.map((p) => `archive:${p}`)].sort();
  expect(await w.listed()).toEqual(everything);
  const items = everything.map((id) => {
    const [library, relPath] = id.split(/:(.*)/s) as [string, string];
    return { library, path: relPath };
  });
  expect((await w.post('/image/tags/batch', { items, add: ['keep'] })).status).toBe(200);
  for (const item of items) expect((await w.post('/favorites', item)).status).toBe(200);
  return { w, everything };
}

async function expectEverythingKept(w: LibraryWorld, count: number, when: string): Promise<void> {
  expect(await w.derivedCount(), when).toEqual({ tags: count, favorites: count });
}

describe.each(scenarios)('$name', (scenario) => {
  it.each(phases)('made at phase %s: nothing is lost, and everything comes back', async (phase) => {
    const { w, everything } = await taggedWorld();
    world = w;
    const affected = scenario.affected.map((p) => `${scenario.library}:${p}`);
    // A new photo in the library, so the next scan compares a folder (the scan:directory phase).
    await writeJpeg(
      w.roots[scenario.library]!,
      scenario.library === 'recent' ? '2024/new.jpg' : '2019/new.jpg',
    );
    w.at(phase, () => scenario.drop(w));

    for (let i = 0; i < 15; i++) {
      if (i === 7) w.advanceClock(30 * DAY); // far past the grace period, while the folder is away
      await w.tick();
      await expectEverythingKept(w, everything.length, `tick ${i + 1} after the drop at ${phase}`);
      const { present, missing } = await w.rows();
      for (const id of affected)
        expect([...present, ...missing], `row of ${id} at tick ${i + 1}`).toContain(id);
    }
    const status = await w.libraryStatus(scenario.library);
    if (scenario.library === 'archive') expect(status.status).toBe('stale');
    else {
      // The folder lists empty: its photos are hidden, and the library brakes (nothing is deleted).
      expect(status.status).toBe('suspect');
      expect(status.suspect_reason).toMatch(/folder "nas" lists no files/);
      const listed = await w.listed();
      for (const id of affected) expect(listed).not.toContain(id);
    }
    if (scenario.name.startsWith('an emptied root')) {
      // Nothing was written into the empty mount point (no marker that would make it look mounted).
      expect(fs.readdirSync(w.roots.archive!)).toEqual([]);
    }

    const ingestedBefore = w.ingested.length;
    scenario.restore(w);
    await w.tick(3);

    const newPhoto = `${scenario.library}:${scenario.library === 'recent' ? '2024/new.jpg' : '2019/new.jpg'}`;
    expect(await w.listed()).toEqual([...everything, newPhoto].sort());
    for (const id of affected) {
      const [library, relPath] = id.split(/:(.*)/s) as [string, string];
      expect(await w.tagsOf(library, relPath), id).toEqual(['keep']);
    }
    expect(await w.favorites()).toEqual(everything);
    expect((await w.libraryStatus(scenario.library)).status).toBe('online');
    const reingested = w.ingested.slice(ingestedBefore).map((e) => e.relPath);
    expect(reingested.filter((p) => scenario.affected.includes(p))).toEqual([]);
  });
});

describe('what the marker and the probe do with an emptied root', () => {
  it('never writes the marker into a root that lists no media while the database has its rows', async () => {
    const { w } = await taggedWorld();
    world = w;
    const marker = path.join(w.roots.archive!, '.lumen-library');
    expect(fs.existsSync(marker)).toBe(true); // written by the first scan, which saw media
    // The mount drops after the probe said Online: the full scan of the empty root completes.
    w.at('scan', () => unmount(w.roots.archive!, aside(w.roots.archive!, 'root')));
    await w.tick(3);
    expect(fs.readdirSync(w.roots.archive!)).toEqual([]);
    expect((await w.libraryStatus('archive')).status).toBe('stale');
  });
});

describe('a user deleting things for real', () => {
  it('a deleted folder leaves /photos on the next tick and its rows go after the grace period', async () => {
    const { w, everything } = await taggedWorld();
    world = w;
    fs.rmSync(path.join(w.roots.recent!, 'phone'), { recursive: true });
    await w.tick();
    const gone = ['recent:phone/d.jpg', 'recent:phone/e.jpg'];
    expect(await w.listed()).toEqual(everything.filter((id) => !gone.includes(id)));
    expect((await w.rows()).missing).toEqual(gone);
    expect(await w.get(`/image/metadata?library=recent&path=phone/d.jpg`)).toMatchObject({
      status: 200,
      body: { path: 'phone/d.jpg', missing_since: expect.stringMatching(/^\d{4}-/) },
    });
    expect((await w.libraryStatus('recent')).counts).toMatchObject({ missing: 2 });
    await w.tick(3);
    expect(await w.derivedCount()).toEqual({ tags: everything.length, favorites: everything.length });

    w.advanceClock(8 * DAY);
    await w.tick(3); // the rows go, then two all-Online ticks take their tags and favorites
    expect((await w.rows()).missing).toEqual([]);
    expect(await w.derivedCount()).toEqual({ tags: everything.length - 2, favorites: everything.length - 2 });
  });

  it('a folder moved to another library keeps its tags and favorites and is not lost after the grace period', async () => {
    const { w, everything } = await taggedWorld();
    world = w;
    fs.renameSync(path.join(w.roots.recent!, 'phone'), path.join(w.roots.archive!, 'phone'));
    await w.tick(2);
    const moved = everything.map((id) => id.replace(/^recent:phone\//, 'archive:phone/')).sort();
    expect(await w.listed()).toEqual(moved);
    w.advanceClock(8 * DAY);
    await w.tick(4);
    expect(await w.tagsOf('archive', 'phone/d.jpg')).toEqual(['keep']);
    expect(await w.favorites()).toEqual(moved);
    expect(await w.derivedCount()).toEqual({ tags: everything.length, favorites: everything.length });
  });

  it('deleting every file of a small library shows suspect and marks nothing until an admin confirms', async () => {
    const { w } = await taggedWorld();
    world = w;
    for (const file of ARCHIVE) fs.rmSync(path.join(w.roots.archive!, file));
    await w.tick(3);
    const archive = await w.libraryStatus('archive');
    expect(archive).toMatchObject({ status: 'suspect', counts: { missing: 0 } });
    expect(archive.suspect_reason).toMatch(/every file of the library/);
    expect((await w.listed()).filter((id) => id.startsWith('archive:'))).toEqual(
      ARCHIVE.map((p) => `archive:${p}`),
    );

    const confirm = await w.post(`/libraries/${archive.id}/confirm-missing`);
    expect(confirm.status).toBe(200);
    await w.tick();
    expect((await w.listed()).filter((id) => id.startsWith('archive:'))).toEqual([]);
    expect((await w.libraryStatus('archive')).counts).toMatchObject({ missing: 2 });
  });
});
