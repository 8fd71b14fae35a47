import fs from 'node:fs';
import path from 'node:path';
import { type Bus, createNatsBus, type NatsBus } from '@lumen/bus';
import type { Config, MediaIngestedEvent } from '@lumen/core';
import { type Database, JobOutboxRepository } from '@lumen/db';
import { natsTestUrl, uniqueJpeg } from '@lumen/test-support';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { start, type WatcherHandle } from '../src/start.ts';
import { copyIn, natsWorld, waitFor } from './watcher-harness.ts';

const servers = natsTestUrl();
const silent = pino({ level: 'silent' });
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

const VIDEOS = ['clips/one.m4v', 'clips/two.mp4'];

interface World {
  root: string;
  config: Config;
  database: Database;
  observer: NatsBus;
  outbox: JobOutboxRepository;
  /** A watcher on its own connection; `bus` wraps it (fault injection, counting). */
  startWatcher(
    id: string,
    wrap: (bus: Bus) => Bus,
  ): Promise<{ handle: WatcherHandle; stop(): Promise<void> }>;
  /** Ingested rows of the videos with a thumbnail. */
  readyVideos(): Promise<number>;
  /** Take the `video.ingested` jobs waiting in the queue (waits `settleMs` for more). */
  takeJobs(expected: number, settleMs?: number): Promise<MediaIngestedEvent[]>;
}

async function world(): Promise<World> {
  const { prefix, root, config, database, observer, cleanup } = await natsWorld('outbox');
  cleanups.push(cleanup);
  // The shortest clips of the corpus (0.07 s, 0.17 s): thumbnails and previews are quick.
  copyIn(root, 'video/file-type__fixture.m4v', VIDEOS[0]!);
  copyIn(root, 'video/mei__with-gps.mp4', VIDEOS[1]!);
  fs.writeFileSync(path.join(root, 'clips/still.jpg'), await uniqueJpeg('still'));
  return {
    root,
    config,
    database,
    observer,
    outbox: new JobOutboxRepository(database.db),
    async startWatcher(id, wrap) {
      const bus = await createNatsBus({ servers, prefix, logger: silent });
      const handle = await start({
        config: { ...config, env: { ...config.env, REPLICA_ID: id } },
        database,
        bus: wrap(bus),
        logger: silent,
        maintenance: [],
        faces: false,
      });
      let stopped: Promise<void> | undefined;
      const stop = () => {
        stopped ??= (async () => {
          await handle.stop();
          await bus.close();
        })();
        return stopped;
      };
      cleanups.push(stop);
      return { handle, stop };
    },
    async readyVideos() {
      const rows = await database.db
        .selectFrom('image_exif')
        .select('rel_path')
        .where('media_type', '=', 'video')
        .where('thumb_status', '=', 'ready')
        .execute();
      return rows.length;
    },
    async takeJobs(expected, settleMs = 300) {
      const jobs: MediaIngestedEvent[] = [];
      const consumer = await observer.consume<MediaIngestedEvent>('video.ingested', async (job) => {
        jobs.push(job.data);
        await job.ack();
      });
      await waitFor(`${expected} video.ingested jobs`, () => jobs.length >= expected, 15_000);
      await new Promise((r) => setTimeout(r, settleMs)); // room for a duplicate, if there were one
      await consumer.stop();
      return jobs;
    },
  };
}

/** `bus` with `enqueue` replaced (the other methods unchanged). */
function withEnqueue(bus: Bus, enqueue: Bus['enqueue']): Bus {
  return new Proxy(bus, {
    get: (target, key, receiver) => (key === 'enqueue' ? enqueue : Reflect.get(target, key, receiver)),
  });
}

describe('the video.ingested job survives a watcher that dies before enqueueing it', () => {
  // One world for both cases (each ingest of a video costs ffmpeg runs): a death, then the normal path.
  it('a failed enqueue leaves the jobs in the outbox, the next watcher enqueues each exactly once; the normal path leaves the outbox empty', async () => {
    const w = await world();
    const failing = await w.startWatcher('w1', (bus) =>
      withEnqueue(bus, async (subject, data, opts) => {
        if (subject === 'video.ingested') throw new Error('injected: died before the enqueue');
        await bus.enqueue(subject, data, opts);
      }),
    );
    await waitFor('both videos ingested', async () => (await w.readyVideos()) === 2, 20_000);
    await failing.stop();
    const left = await w.outbox.page(0, 10);
    expect(left.map((row) => row.subject)).toEqual(['video.ingested', 'video.ingested']);
    expect(await w.takeJobs(0)).toEqual([]);

    // The next watcher's first tick drains the outbox: one enqueue per video.
    const enqueued: string[] = [];
    const next = await w.startWatcher('w2', (bus) =>
      withEnqueue(bus, async (subject, data, opts) => {
        if (subject === 'video.ingested') enqueued.push(opts?.dedupId ?? '');
        await bus.enqueue(subject, data, opts);
      }),
    );
    await waitFor('the outbox drained', async () => (await w.outbox.count()) === 0, 15_000);
    expect(enqueued.sort()).toEqual(left.map((row) => row.dedup_id).sort());
    expect(new Set(enqueued).size).toBe(2);
    const jobs = await w.takeJobs(2);
    expect(jobs.map((job) => job.relPath).sort()).toEqual(VIDEOS);
    expect(jobs.every((job) => job.mediaType === 'video' && job.v === 1)).toBe(true);

    // The normal path: a new video's job is enqueued once, right after its row, and leaves nothing.
    copyIn(w.root, 'video/mei__sample.3gp', 'clips/three.3gp');
    await waitFor('the new video ingested', async () => {
      if ((await w.readyVideos()) === 3) return true;
      await next.handle.tickNow();
      return false;
    });
    await waitFor('its job enqueued', () => enqueued.length === 3);
    await waitFor('the outbox emptied', async () => (await w.outbox.count()) === 0);
    expect((await w.takeJobs(1)).map((job) => job.relPath)).toEqual(['clips/three.3gp']);
    expect(enqueued).toHaveLength(3);
  }, 40_000);
});
