import fs from 'node:fs';
import path from 'node:path';
import { createNatsBus, type NatsBus } from '@lumen/bus';
import type { Config, MediaIngestedEvent } from '@lumen/core';
import { type Database, LibrariesRepository } from '@lumen/db';
import { natsTestUrl, uniqueJpeg } from '@lumen/test-support';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { start, type WatcherHandle } from '../src/start.ts';
import { CORPUS, natsWorld } from './watcher-harness.ts';

const servers = natsTestUrl();
const silent = pino({ level: 'silent' });
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface World {
  prefix: string;
  root: string;
  config: Config;
  database: Database;
  observer: NatsBus;
  ingested: MediaIngestedEvent[];
  /** A watcher replica on its own connection; its scans are held, so only uploads ingest files. */
  startWatcher(id: string): Promise<{ handle: WatcherHandle; stop(): Promise<void> }>;
  upload(relPath: string): Promise<void>;
  libraryId(): Promise<number>;
}

async function world(): Promise<World> {
  const { prefix, root, config, database, observer, cleanup } = await natsWorld('uploads');
  cleanups.push(cleanup);
  fs.mkdirSync(path.join(root, 'uploads'), { recursive: true });
  const ingested: MediaIngestedEvent[] = [];
  await observer.subscribe<MediaIngestedEvent>('media.ingested', (e) => {
    ingested.push(e);
  });
  const libraries = new LibrariesRepository(database.db);
  const w: World = {
    prefix,
    root,
    config,
    database,
    observer,
    ingested,
    async startWatcher(id) {
      const bus = await createNatsBus({ servers, prefix, logger: silent });
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const handle = await start({
        config: { ...config, env: { ...config.env, REPLICA_ID: id } },
        database,
        bus,
        logger: silent,
        maintenance: [],
        faces: false,
        // The holder probes its libraries (they turn Online), then its tick waits here.
        onPhase: (phase) => (phase === 'scan' ? held : undefined),
      });
      let stopped: Promise<void> | undefined;
      const stop = () => {
        stopped ??= (async () => {
          release();
          await handle.stop();
          await bus.close();
        })();
        return stopped;
      };
      cleanups.push(stop);
      return { handle, stop };
    },
    async upload(relPath) {
      await observer.enqueue('media.uploaded', {
        libraryId: await w.libraryId(),
        library: 'main',
        relPath,
        at: new Date().toISOString(),
      });
    },
    async libraryId() {
      return Number((await libraries.findByName('main'))!.id);
    },
  };
  return w;
}

const countOf = (events: MediaIngestedEvent[], relPath: string) =>
  events.filter((e) => e.relPath === relPath).length;

describe('uploads are work items for exactly one watcher', () => {
  it('two replicas: each upload is ingested once; a video leaves a video.ingested job for the transcoder', async () => {
    const w = await world();
    const first = await w.startWatcher('w1');
    const second = await w.startWatcher('w2');
    await until('a replica holds the lease', () => first.handle.active() || second.handle.active());
    await until('the library is Online', async () => {
      const row = await new LibrariesRepository(w.database.db).findByName('main');
      return row?.status === 'online';
    });

    const files = ['uploads/a.jpg', 'uploads/b.jpg', 'uploads/c.jpg', 'uploads/d.jpg'];
    for (const rel of files) fs.writeFileSync(path.join(w.root, rel), await uniqueJpeg(rel));
    fs.copyFileSync(path.join(CORPUS, 'video/mei__sample_mpeg4.mp4'), path.join(w.root, 'uploads/clip.mp4'));
    const all = [...files, 'uploads/clip.mp4'];
    for (const rel of all) await w.upload(rel);

    await until('every upload ingested', () => all.every((rel) => countOf(w.ingested, rel) >= 1), 20_000);
    await new Promise((r) => setTimeout(r, 700)); // room for a second ingest, if there were one
    expect(Object.fromEntries(all.map((rel) => [rel, countOf(w.ingested, rel)]))).toEqual(
      Object.fromEntries(all.map((rel) => [rel, 1])),
    );
    const rows = await w.database.db.selectFrom('image_exif').select('rel_path').execute();
    expect(rows.map((r) => r.rel_path).sort()).toEqual([...all].sort());

    // The video waits as a work item until a transcoder takes it (here: this consumer).
    const jobs: MediaIngestedEvent[] = [];
    const consumer = await w.observer.consume<MediaIngestedEvent>('video.ingested', async (job) => {
      jobs.push(job.data);
    });
    await until('the video.ingested job', () => jobs.length === 1);
    await consumer.stop();
    expect(jobs[0]).toMatchObject({ relPath: 'uploads/clip.mp4', mediaType: 'video', v: 1 });
  }, 30_000);

  it('an upload sent while no watcher runs is ingested when one starts', async () => {
    const w = await world();
    const before = await w.startWatcher('w1');
    await until('the library is Online', async () => {
      const row = await new LibrariesRepository(w.database.db).findByName('main');
      return row?.status === 'online';
    });
    await before.stop();

    fs.writeFileSync(path.join(w.root, 'uploads/late.jpg'), await uniqueJpeg('late'));
    await w.upload('uploads/late.jpg');
    await new Promise((r) => setTimeout(r, 300));
    expect(w.ingested).toEqual([]);

    await w.startWatcher('w2');
    await until('the upload ingested', () => countOf(w.ingested, 'uploads/late.jpg') === 1);
    expect(w.ingested.map((e) => e.relPath)).toEqual(['uploads/late.jpg']);
  }, 30_000);
});
