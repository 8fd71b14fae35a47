import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Bus, createMemoryBus, type JobMessage } from '@lumen/bus';
import { parseConfig, type VideoJob } from '@lumen/core';
import {
  type Database,
  LibrariesRepository,
  MissingFilesRepository,
  openDatabase,
  PhotosRepository,
} from '@lumen/db';
import { hlsPaths } from '@lumen/video';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImageMetrics } from '../src/services/image-metrics.ts';
import { createImagesService } from '../src/services/images.service.ts';
import { LibrariesService } from '../src/services/libraries.service.ts';
import {
  FAILED_EVENT_GRACE_MS,
  REQUEUE_AFTER_MS,
  VideoService,
  type VideoSource,
} from '../src/services/video.service.ts';
import { VideoStatusBoard } from '../src/services/video-status-board.ts';
import { VideoUrlSigner } from '../src/services/video-url-signer.ts';

/**
 * When the api enqueues a job and what it reports, on a clock the test moves: files first, then
 * what the bus said; a dead letter counts until its failure record could have appeared; a queued
 * job with no news for long is asked for again, a retry held by the bus is not. The jobs land on
 * a real in-process bus (no transcoder: the test takes them itself).
 */

const HASH = 'xxh3-128:00112233445566778899aabbccddeeff';
const HEX = '00112233445566778899aabbccddeeff';

let dir: string;
let database: Database;
let bus: Bus;
let jobs: VideoJob[];
let now: number;
let board: VideoStatusBoard;
let service: VideoService;
let video: VideoSource;
let videoDir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-video-state-'));
  const config = parseConfig({ DATA_DIR: dir, SECRET_KEY: 'video-state-secret-0123456789abcdef' }, dir);
  videoDir = config.videoDir;
  database = await openDatabase(config.database);
  // No dedup window: every enqueue the service makes shows up as a job.
  bus = createMemoryBus({ dedupWindowMs: 0, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  jobs = [];
  // Takes each job and keeps it un-acked long enough for the test (nothing runs ffmpeg here).
  await bus.consume<VideoJob>(
    'video.hls',
    async (job: JobMessage<VideoJob>) => {
      jobs.push(job.data);
    },
    { ackWaitMs: 60_000 },
  );
  now = Date.UTC(2024, 4, 1, 12, 0, 0);
  board = new VideoStatusBoard(() => now);
  const librariesRepo = new LibrariesRepository(database.db);
  const libraries = new LibrariesService(librariesRepo, new MissingFilesRepository(database.db));
  const library = await librariesRepo.create({ name: 'main', root: dir });
  service = new VideoService({
    images: createImagesService({ database, config }, libraries, createImageMetrics(new Registry())),
    libraries,
    librariesRepo,
    photos: new PhotosRepository(database.db, database.kind),
    bus,
    board,
    signer: new VideoUrlSigner('video-state-secret-0123456789abcdef', () => now),
    dirs: config,
    logger: pino({ level: 'silent' }),
    clock: () => now,
  });
  video = { library, relPath: 'a.mp4', realPath: path.join(dir, 'a.mp4'), contentHash: HASH, hex: HEX };
});

afterEach(async () => {
  await bus.close();
  await database.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('VideoService.request', () => {
  it('enqueues a missing output once, then reports it queued without enqueueing again', async () => {
    expect(await service.request('hls', video)).toEqual({ state: 'queued' });
    await settle();
    expect(jobs).toEqual([
      {
        contentHash: HASH,
        sourcePath: video.realPath,
        library: 'main',
        relPath: 'a.mp4',
        requestedAt: new Date(now).toISOString(),
        v: 1,
      },
    ]);
    now += REQUEUE_AFTER_MS - 1000;
    expect(await service.request('hls', video)).toEqual({ state: 'queued' });
    await settle();
    expect(jobs).toHaveLength(1);
  });

  it('asks again for a queued output with no news for long (a lost job), but not for a retry', async () => {
    await service.request('hls', video);
    now += REQUEUE_AFTER_MS + 1000;
    await service.request('hls', video);
    await settle();
    expect(jobs).toHaveLength(2);

    board.record({
      kind: 'hls',
      contentHash: HASH,
      state: 'queued',
      error: 'attempt 2 of 3 failed: x',
      at: '',
    });
    now += REQUEUE_AFTER_MS + 1000;
    expect(await service.request('hls', video)).toEqual({
      state: 'queued',
      error: 'attempt 2 of 3 failed: x',
    });
    await settle();
    expect(jobs).toHaveLength(2);
  });

  it('leaves running, ready and failed outputs alone', async () => {
    board.record({ kind: 'hls', contentHash: HASH, state: 'running', at: '' });
    expect(await service.request('hls', video)).toEqual({ state: 'running' });

    const paths = hlsPaths(videoDir, HASH);
    await fs.mkdir(path.dirname(paths.failure), { recursive: true });
    await fs.writeFile(
      paths.failure,
      JSON.stringify({ kind: 'hls', contentHash: HASH, error: 'moov atom not found', attempts: 3, at: '' }),
    );
    expect(await service.request('hls', video)).toEqual({ state: 'failed', error: 'moov atom not found' });

    await fs.rm(paths.failure);
    await fs.mkdir(paths.dir, { recursive: true });
    // A folder of the layout before segments on demand (master, manifest, no plan) is not ready.
    await fs.writeFile(paths.master, '#EXTM3U\n');
    await fs.writeFile(paths.manifest, '{}\n');
    expect(await service.request('hls', video)).toEqual({ state: 'running' });
    // Complete: the plan and the manifest (written once every segment is made).
    await fs.writeFile(paths.plan, '{}\n');
    expect(await service.request('hls', video)).toEqual({ state: 'ready' });
    await settle();
    expect(jobs).toEqual([]);
  });

  it('believes a dead letter until its failure record could have appeared, then the files again', async () => {
    board.recordDeadLetter('dlq.video.hls', {
      subject: 'video.hls',
      data: { contentHash: HASH },
      attempts: 3,
      error: 'not acknowledged in 3 deliveries',
    });
    now += FAILED_EVENT_GRACE_MS - 1000;
    expect(await service.request('hls', video)).toEqual({
      state: 'failed',
      error: 'not acknowledged in 3 deliveries',
    });
    await settle();
    expect(jobs).toEqual([]);

    // No record appeared (or it was deleted to retry): the video can be asked for again.
    now += 2000;
    expect(await service.request('hls', video)).toEqual({ state: 'queued' });
    await settle();
    expect(jobs).toHaveLength(1);
  });

  it('answers 503 and forgets the mark when the bus refuses the job', async () => {
    await bus.close();
    await expect(service.request('hls', video)).rejects.toMatchObject({ kind: 'unavailable' });
    expect(board.get('hls', HEX)).toBeUndefined();
  });
});
