/**
 * Issue 15 item 2, durable events, transcoder side (real NATS JetStream): an ingested video is a
 * `video.ingested` work item, so a video ingested while no transcoder runs gets its background HLS
 * and preview once one starts, and a video already done is not done again.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createNatsBus, deleteBusPrefix, type NatsBus } from '@lumen/bus';
import { type Config, parseConfig, type VideoIngestedJob } from '@lumen/core';
import { hashFile } from '@lumen/media';
import { natsForTest, natsTestUrl } from '@lumen/test-support';
import { outputExists } from '@lumen/video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type TranscoderHandle } from '../src/index.ts';
import { type BusWatch, watchBus } from './support/bus-watch.ts';
import { quietBusLogger, recordingLogger } from './support/test-logger.ts';
import { makeH264Aac } from './support/test-videos.ts';

const servers = natsTestUrl();
const prefix = `test_durable_${randomBytes(4).toString('hex')}`;

let tmp: string;
let config: Config;
let watcherBus: NatsBus;
let watch: BusWatch;
const videos = { first: { rel: 'first.mp4', hash: '' }, second: { rel: 'second.mp4', hash: '' } };
const cleanups: (() => Promise<unknown>)[] = [];

function ingested(video: { rel: string; hash: string }): VideoIngestedJob {
  return {
    libraryId: 1,
    library: 'main',
    relPath: video.rel,
    contentHash: video.hash,
    mediaType: 'video',
    sizeBytes: 1,
    isNew: true,
    at: new Date().toISOString(),
  };
}

/** A transcoder process of its own: its own NATS connection, as after a restart. */
async function startTranscoder(): Promise<{ handle: TranscoderHandle; stop(): Promise<void> }> {
  const bus = await createNatsBus({ servers, prefix, logger: quietBusLogger });
  const handle = await start({
    config,
    bus,
    logger: recordingLogger().logger,
    options: { concurrency: 2, backoffMs: [100], ackWaitMs: 10_000 },
  });
  const stop = async () => {
    await handle.stop();
    await bus.close();
  };
  cleanups.push(stop);
  return { handle, stop };
}

const nats = natsForTest(servers);
beforeAll(async () => {
  await nats.up();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-durable-ingest-'));
  const library = path.join(tmp, 'library');
  await fs.mkdir(library, { recursive: true });
  for (const video of Object.values(videos)) {
    const file = path.join(library, video.rel);
    await makeH264Aac(file, 2);
    video.hash = await hashFile(file);
  }
  config = parseConfig(
    { DATA_DIR: path.join(tmp, 'data'), LIBRARIES: `main=${library}`, NATS_URL: servers, BUS_PREFIX: prefix },
    tmp,
  );
  watcherBus = await createNatsBus({ servers, prefix, logger: quietBusLogger });
  watch = await watchBus(watcherBus);
}, 30_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await watch?.close();
  await watcherBus?.close();
  await nats.ifUp(() => deleteBusPrefix(servers, prefix));
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('ingested videos reach the transcoder durably', () => {
  it('a video ingested while no transcoder runs gets HLS and preview once one starts', async () => {
    // As the watcher does for every ingested video; nothing consumes the queue yet.
    await watcherBus.enqueue('video.ingested', ingested(videos.first));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(watch.statuses).toEqual([]);

    const transcoder = await startTranscoder();
    await watch.until('hls', videos.first.hash, 'ready', 20_000);
    await watch.until('preview', videos.first.hash, 'ready', 20_000);
    expect(watch.statesOf('hls', videos.first.hash)).toEqual(['queued', 'running', 'ready']);
    expect(await outputExists(config, 'hls', videos.first.hash)).toBe(true);
    await transcoder.stop();
  }, 30_000);

  it('a transcoder that was down catches up, and does not redo a video whose outputs exist', async () => {
    // While no transcoder runs: a new video, and the first one ingested again (read again by a scan).
    await watcherBus.enqueue('video.ingested', ingested(videos.second));
    await watcherBus.enqueue('video.ingested', { ...ingested(videos.first), isNew: false });
    const firstBefore = watch.statuses.filter((s) => s.contentHash === videos.first.hash).length;

    const transcoder = await startTranscoder();
    await watch.until('hls', videos.second.hash, 'ready', 20_000);
    await watch.until('preview', videos.second.hash, 'ready', 20_000);
    expect(watch.statesOf('hls', videos.second.hash)).toEqual(['queued', 'running', 'ready']);
    // The first video's outputs exist: its second video.ingested job enqueued nothing.
    expect(watch.statuses.filter((s) => s.contentHash === videos.first.hash)).toHaveLength(firstBefore);
    expect(transcoder.handle.running()).toBe(0);
    await transcoder.stop();
  }, 30_000);
});
