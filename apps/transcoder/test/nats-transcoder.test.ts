import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createNatsBus, deleteBusPrefix, type NatsBus } from '@lumen/bus';
import { type Config, type MediaIngestedEvent, parseConfig } from '@lumen/core';
import { hashFile } from '@lumen/media';
import { natsForTest, natsTestUrl } from '@lumen/test-support';
import { gifPath, hlsPaths, previewClipPath } from '@lumen/video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type TranscoderHandle } from '../src/index.ts';
import { type BusWatch, waitFor, watchBus } from './support/bus-watch.ts';
import { decodeAll, durationOf, probe } from './support/media-client.ts';
import { type StaticServer, serveFolder } from './support/static-server.ts';
import { quietBusLogger, recordingLogger } from './support/test-logger.ts';
import { makeH264Aac, makeTruncated } from './support/test-videos.ts';

/** The transcoder on real NATS JetStream: ingest event -> jobs -> outputs, and a dead letter. */

const servers = natsTestUrl();
const prefix = `test_tc_${randomBytes(4).toString('hex')}`;

let tmp: string;
let config: Config;
let transcoderBus: NatsBus;
let watcherBus: NatsBus;
let watch: BusWatch;
let transcoder: TranscoderHandle;
let server: StaticServer;
const video = { file: '', hash: '' };
const broken = { file: '', hash: '' };

function ingested(relPath: string, contentHash: string): MediaIngestedEvent {
  return {
    libraryId: 1,
    library: 'main',
    relPath,
    contentHash,
    mediaType: 'video',
    sizeBytes: 1,
    isNew: true,
    at: new Date().toISOString(),
  };
}

const nats = natsForTest(servers);
beforeAll(async () => {
  await nats.up();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-transcoder-nats-'));
  const library = path.join(tmp, 'library');
  await fs.mkdir(path.join(library, 'holiday'), { recursive: true });
  video.file = path.join(library, 'holiday', 'beach.mp4');
  broken.file = path.join(library, 'holiday', 'broken.mp4');
  await Promise.all([makeH264Aac(video.file, 4), makeTruncated(broken.file)]);
  video.hash = await hashFile(video.file);
  broken.hash = await hashFile(broken.file);

  config = parseConfig(
    { DATA_DIR: path.join(tmp, 'data'), LIBRARIES: `main=${library}`, NATS_URL: servers, BUS_PREFIX: prefix },
    tmp,
  );
  transcoderBus = await createNatsBus({ servers, prefix, logger: quietBusLogger });
  watcherBus = await createNatsBus({ servers, prefix, logger: quietBusLogger });
  watch = await watchBus(watcherBus);
  transcoder = await start({
    config,
    bus: transcoderBus,
    logger: recordingLogger().logger,
    options: { concurrency: 1, backoffMs: [100], ackWaitMs: 10_000 },
  });
  server = await serveFolder(config.videoDir);
}, 60_000);

afterAll(async () => {
  await transcoder?.stop();
  await watch?.close();
  await Promise.allSettled([transcoderBus?.close(), watcherBus?.close()]);
  await nats.ifUp(() => deleteBusPrefix(servers, prefix));
  await server?.close();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('transcoder on NATS JetStream', () => {
  it('makes HLS, clip and GIF for an ingested video; the stream plays over HTTP', async () => {
    await watcherBus.enqueue('video.ingested', ingested('holiday/beach.mp4', video.hash));
    await watch.until('hls', video.hash, 'ready', 60_000);
    await watch.until('preview', video.hash, 'ready', 60_000);
    expect(watch.statesOf('hls', video.hash)).toEqual(['queued', 'running', 'ready']);

    const dir = hlsPaths(config.videoDir, video.hash).dir;
    const url = `${server.url}/${path.relative(config.videoDir, dir)}/master.m3u8`;
    expect(await decodeAll(url)).toEqual({ exitCode: 0, stderr: '' });
    expect(Math.abs((await durationOf(url)) - (await durationOf(video.file)))).toBeLessThanOrEqual(0.5);
    expect((await probe(previewClipPath(config.previewClipsDir, video.hash))).streams).toHaveLength(1);
    expect((await probe(gifPath(config.gifsDir, video.hash))).streams[0]?.codec_name).toBe('gif');
  }, 60_000);

  it('dead-letters a video ffmpeg cannot read, with the error text, after TRANSCODE_MAX_ATTEMPTS', async () => {
    await watcherBus.enqueue('video.ingested', ingested('holiday/broken.mp4', broken.hash));
    await waitFor(() => watch.deadLetters.length >= 2, 'both jobs dead-lettered', 60_000);
    for (const kind of ['hls', 'preview'] as const) {
      const letter = watch.deadLetters.find((l) => l.subject === `video.${kind}`);
      expect(letter?.attempts).toBe(config.env.TRANSCODE_MAX_ATTEMPTS);
      expect(letter?.error).toContain('moov atom not found');
      expect(letter?.data).toMatchObject({
        contentHash: broken.hash,
        library: 'main',
        relPath: 'holiday/broken.mp4',
      });
      await watch.until(kind, broken.hash, 'failed', 5_000);
    }
  }, 60_000);
});
