import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Bus, createMemoryBus } from '@lumen/bus';
import { type Config, parseConfig, type VideoJob } from '@lumen/core';
import { hashFile } from '@lumen/media';
import { enqueueVideoJob, gifPath, hlsPaths, previewClipPath, readVideoOutputState } from '@lumen/video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HlsManifest, presetFor, start, type TranscoderHandle } from '../src/index.ts';
import { type BusWatch, watchBus } from './support/bus-watch.ts';
import { masterEntries, measuredBitrates } from './support/hls-folder-check.ts';
import {
  decodeAll,
  durationOf,
  probe,
  psnr,
  topLevelBoxes,
  videoFrameHashes,
} from './support/media-client.ts';
import { type StaticServer, serveFolder } from './support/static-server.ts';
import { quietBusLogger, recordingLogger } from './support/test-logger.ts';
import { GOOD_VIDEOS, makeGoodVideos, type TestVideo } from './support/test-videos.ts';

/**
 * The HLS and preview matrix over the in-process bus: real videos made by ffmpeg, real jobs, real
 * ffmpeg; the HLS output is then played over HTTP by ffmpeg as the client.
 */

let tmp: string;
let config: Config;
let bus: Bus;
let watch: BusWatch;
let transcoder: TranscoderHandle;
let server: StaticServer;
const videos = new Map<string, TestVideo & { hash: string; sourceSec: number }>();

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-transcoder-'));
  const library = path.join(tmp, 'library');
  await fs.mkdir(library);
  config = parseConfig({ DATA_DIR: path.join(tmp, 'data'), LIBRARIES: `main=${library}` }, tmp);
  for (const video of await makeGoodVideos(library)) {
    videos.set(video.name, {
      ...video,
      hash: await hashFile(video.file),
      sourceSec: await durationOf(video.file),
    });
  }

  bus = createMemoryBus({ logger: quietBusLogger });
  watch = await watchBus(bus);
  transcoder = await start({
    config,
    bus,
    logger: recordingLogger().logger,
    options: { concurrency: 2, backoffMs: [50], ackWaitMs: 20_000, enqueueOnIngest: false },
  });
  server = await serveFolder(config.videoDir);

  for (const video of videos.values()) {
    const job: VideoJob = {
      contentHash: video.hash,
      sourcePath: video.file,
      library: 'main',
      relPath: video.name,
      requestedAt: new Date().toISOString(),
    };
    await enqueueVideoJob(bus, 'hls', job);
    await enqueueVideoJob(bus, 'preview', job);
  }
}, 120_000);

afterAll(async () => {
  await transcoder?.stop();
  await watch?.close();
  await bus?.close();
  await server?.close();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

function get(name: string) {
  const video = videos.get(name);
  if (!video) throw new Error(`no test video ${name}`);
  return video;
}

describe.each(GOOD_VIDEOS.map((v) => v.name))('%s', (name) => {
  it('becomes HLS that ffmpeg plays over HTTP without a decode error, as long as the source', async () => {
    const video = get(name);
    await watch.until('hls', video.hash, 'ready', 90_000);
    expect(watch.statesOf('hls', video.hash)).toEqual(['running', 'ready']);
    expect(await readVideoOutputState(config, 'hls', video.hash)).toEqual({ state: 'ready' });

    const paths = hlsPaths(config.videoDir, video.hash);
    const base = `${server.url}/${path.relative(config.videoDir, paths.dir)}`;
    expect(await decodeAll(`${base}/master.m3u8`)).toEqual({ exitCode: 0, stderr: '' });
    const playedSec = await durationOf(`${base}/master.m3u8`);
    expect(Math.abs(playedSec - video.sourceSec)).toBeLessThanOrEqual(0.5);

    const manifest = JSON.parse(await fs.readFile(paths.manifest, 'utf8')) as HlsManifest;
    expect(manifest.mode).toBe(video.mode);
    expect(manifest.audio).toBe(video.hasAudio ? (video.mode === 'remux' ? 'copy' : 'encode') : 'none');

    // Each rendition, as a player sees it: H.264 at the expected displayed size, audio when the source has it.
    const shown: { width: number; height: number }[] = [];
    for (const rendition of manifest.renditions) {
      const variant = await probe(`${base}/${rendition.playlist}`);
      const v = variant.streams.find((s) => s.codec_type === 'video');
      expect(v?.codec_name).toBe('h264');
      expect(v?.side_data_list?.some((d) => d.rotation)).toBeFalsy();
      shown.push({ width: v?.width ?? 0, height: v?.height ?? 0 });
      expect(variant.streams.some((s) => s.codec_type === 'audio' && s.codec_name === 'aac')).toBe(
        video.hasAudio,
      );
      expect(rendition.segments).toBeGreaterThan(0);
    }
    expect(shown).toEqual(video.renditions);

    const sourceFrames = await videoFrameHashes(video.file);
    const playedFrames = await videoFrameHashes(`${base}/${manifest.renditions[0]?.playlist}`);
    if (video.mode === 'remux') {
      // Copied, not re-encoded: every decoded frame is bit-identical to the source's.
      expect(playedFrames).toEqual(sourceFrames);
    } else {
      expect(playedFrames.length).toBeGreaterThan(0);
      expect(playedFrames).not.toEqual(sourceFrames);
      // x264 ultrafast (the 1080p class, for speed) makes Constrained Baseline; the others High.
      const top = video.renditions[0] ?? { width: 0, height: 0 };
      const profile = (await probe(`${base}/${manifest.renditions[0]?.playlist}`)).streams[0]?.profile;
      expect(profile).toBe(presetFor(top) === 'ultrafast' ? 'Constrained Baseline' : 'High');
      // Re-encoded, yet the same picture the same way up: 25-45 dB here; upside down or sideways scores below 10.
      expect(await psnr(`${base}/${manifest.renditions[0]?.playlist}`, video.file)).toBeGreaterThan(20);
    }
  }, 120_000);

  it('gets a master playlist written from its variants: BANDWIDTH, RESOLUTION and CODECS per rendition', async () => {
    const video = get(name);
    await watch.until('hls', video.hash, 'ready', 90_000);
    const paths = hlsPaths(config.videoDir, video.hash);
    const master = await fs.readFile(paths.master, 'utf8');
    expect(master.startsWith('#EXTM3U\n')).toBe(true);
    const manifest = JSON.parse(await fs.readFile(paths.manifest, 'utf8')) as HlsManifest;
    const entries = masterEntries(master);
    expect(entries.map((e) => e.uri)).toEqual(manifest.renditions.map((r) => r.playlist));
    expect(entries.map((e) => e.attributes.RESOLUTION)).toEqual(
      video.renditions.map((r) => `${r.width}x${r.height}`),
    );

    for (const [i, entry] of entries.entries()) {
      const bandwidth = Number(entry.attributes.BANDWIDTH);
      const average = Number(entry.attributes['AVERAGE-BANDWIDTH']);
      expect(Number.isInteger(bandwidth) && bandwidth > 0).toBe(true);
      expect(Number.isInteger(average) && average > 0).toBe(true);
      const measured = await measuredBitrates(path.join(paths.dir, entry.uri));
      expect(Math.abs(bandwidth - measured.peak)).toBeLessThanOrEqual(1);
      expect(Math.abs(average - measured.average)).toBeLessThanOrEqual(1);
      expect(average).toBeLessThanOrEqual(bandwidth);
      expect(manifest.renditions[i]).toMatchObject({ bandwidth, averageBandwidth: average });

      // CODECS names the H.264 profile and level a player gets (ffprobe's view of the variant), plus AAC-LC.
      const v = (await probe(path.join(paths.dir, entry.uri))).streams.find((s) => s.codec_type === 'video');
      const profileIdc = { 'Constrained Baseline': 0x42, Baseline: 0x42, Main: 0x4d, High: 0x64 }[
        v?.profile ?? ''
      ];
      const hex = (n: number | undefined) => (n ?? -1).toString(16).padStart(2, '0');
      const codecs = new RegExp(
        `^avc1\\.${hex(profileIdc)}[0-9a-f]{2}${hex(v?.level)}${video.hasAudio ? ',mp4a\\.40\\.2' : ''}$`,
      );
      expect(entry.attributes.CODECS).toMatch(codecs);
      expect(manifest.renditions[i]?.codecs).toBe(entry.attributes.CODECS);
    }
  }, 120_000);

  it('gets a silent 480 px faststart preview clip of about 3 s and a 320 px GIF', async () => {
    const video = get(name);
    await watch.until('preview', video.hash, 'ready', 90_000);
    const clip = previewClipPath(config.previewClipsDir, video.hash);
    const gif = gifPath(config.gifsDir, video.hash);
    const expectedSec = Math.min(3, video.sourceSec);

    const clipProbe = await probe(clip);
    expect(clipProbe.streams.map((s) => s.codec_type)).toEqual(['video']);
    expect(clipProbe.streams[0]).toMatchObject({ codec_name: 'h264', width: 480, pix_fmt: 'yuv420p' });
    const portrait = video.renditions[0]!.height > video.renditions[0]!.width;
    expect((clipProbe.streams[0]?.height ?? 0) > 480).toBe(portrait);
    expect(Math.abs(Number(clipProbe.format.duration) - expectedSec)).toBeLessThanOrEqual(0.25);
    const boxes = await topLevelBoxes(clip);
    expect(boxes.indexOf('moov')).toBeGreaterThan(-1);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat')); // faststart: the index first
    expect(await decodeAll(clip)).toEqual({ exitCode: 0, stderr: '' });

    const gifProbe = await probe(gif);
    expect(gifProbe.streams[0]).toMatchObject({ codec_name: 'gif', width: 320 });
    expect(Math.abs(Number(gifProbe.format.duration) - expectedSec)).toBeLessThanOrEqual(0.25);
    expect((await fs.stat(gif)).size).toBeLessThan(2 * 1024 * 1024);
  }, 120_000);
});

describe('output folders', () => {
  it('hold only published outputs: no staging entries left once every job is done', async () => {
    for (const video of videos.values()) {
      await watch.until('hls', video.hash, 'ready', 90_000);
      await watch.until('preview', video.hash, 'ready', 90_000);
    }
    const leftovers: string[] = [];
    for (const dir of [config.videoDir, config.previewClipsDir, config.gifsDir]) {
      for (const entry of await fs.readdir(dir, { recursive: true })) {
        if (path.basename(String(entry)).endsWith('.tmp')) leftovers.push(String(entry));
      }
    }
    expect(leftovers).toEqual([]);
  }, 120_000);
});
