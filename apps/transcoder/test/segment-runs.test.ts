import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { StreamPlan } from '@lumen/core';
import { mediaPlaylist } from '@lumen/core';
import { hlsPaths } from '@lumen/video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStreamPlan } from '../src/stream/plan-stream.ts';
import { SegmentRuns } from '../src/stream/segment-runs.ts';
import { decodeAll, durationOf, probe } from './support/media-client.ts';
import { recordingLogger } from './support/test-logger.ts';
import { makeH264Aac, makeHevc, makeRotated } from './support/test-videos.ts';

/**
 * Segments made on demand by several ffmpeg runs (out of order, joined, after a seek) must read as
 * one stream: ffmpeg as a client decodes the whole playlist without an error and finds the source's
 * duration within 0.1 s.
 */

let dir: string;
let videoDir: string;
const abort = new AbortController();
const { logger, records } = recordingLogger();
let runs: SegmentRuns;
const sources: Record<string, string> = {};

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-segments-'));
  videoDir = path.join(dir, 'video');
  sources.hevc = path.join(dir, 'clip-hevc.mp4');
  sources.h264 = path.join(dir, 'clip-h264.mp4');
  sources.rotated = path.join(dir, 'clip-rotated.mp4');
  await Promise.all([
    makeHevc(sources.hevc, 14, '320x240'),
    makeH264Aac(sources.h264, 14),
    makeRotated(sources.rotated, 9),
  ]);
  runs = new SegmentRuns({ videoDir, logger, signal: abort.signal, idleMs: 4_000, pollMs: 50 });
}, 120_000);

afterAll(async () => {
  abort.abort();
  await new Promise((resolve) => setTimeout(resolve, 200));
  await fs.rm(dir, { recursive: true, force: true });
});

function ctx() {
  return { signal: abort.signal, logger };
}

async function plan(name: string): Promise<StreamPlan> {
  return ensureStreamPlan(
    {
      contentHash: `xxh3-128:${Buffer.from(name).toString('hex').padEnd(32, '0')}`,
      sourcePath: sources[name] as string,
    },
    videoDir,
    ctx(),
  );
}

/** A local playlist of the segments on disk, for ffmpeg as a client. */
async function localPlaylist(p: StreamPlan, rendition: string): Promise<string> {
  const paths = hlsPaths(videoDir, p.contentHash);
  const file = path.join(paths.dir, rendition, 'local.m3u8');
  const segments = p.segments.map((s, index) => ({ index, ...s }));
  await fs.writeFile(
    file,
    mediaPlaylist(segments, (i) => path.basename(paths.segment(rendition, i))),
  );
  return file;
}

function runsStarted(contentHash: string): number {
  return records.filter((r) => r.msg === 'segment run starting' && r.contentHash === contentHash).length;
}

describe('segments on demand', () => {
  it('an HEVC stream made out of order by several runs plays as one: no decode error, duration kept', async () => {
    const p = await plan('hevc');
    expect(p.mode).toBe('transcode');
    expect(p.segments.map((s) => s.startSec)).toEqual([0, 2, 4, 6, 8, 10, 12]);
    // A seek first (segment 4), then the start, then the gap between them and the rest.
    expect(await runs.segment(p, 'v0', 4)).toEqual({ made: 'run' });
    expect(await runs.segment(p, 'v0', 0)).toEqual({ made: 'run' });
    await Promise.all([1, 2, 3, 5, 6].map((i) => runs.segment(p, 'v0', i)));
    expect(await runs.segment(p, 'v0', 1)).toEqual({ made: 'disk' });

    const playlist = await localPlaylist(p, 'v0');
    const decoded = await decodeAll(playlist);
    expect(decoded.stderr).toBe('');
    expect(decoded.exitCode).toBe(0);
    expect(Math.abs((await durationOf(playlist)) - (await durationOf(sources.hevc as string)))).toBeLessThan(
      0.1,
    );
    // Segment boundaries: each segment's first frame is where the plan says, on one timeline.
    const starts: number[] = [];
    for (let i = 0; i < p.segments.length; i++) {
      const info = await probe(hlsPaths(videoDir, p.contentHash).segment('v0', i));
      expect(info.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
      const { execa } = await import('execa');
      const out = await execa('ffprobe', [
        '-v',
        'error',
        '-select_streams',
        'v',
        '-show_entries',
        'frame=pts_time',
        '-read_intervals',
        '%+#1',
        '-of',
        'csv=p=0',
        hlsPaths(videoDir, p.contentHash).segment('v0', i),
      ]);
      starts.push(Number.parseFloat(String(out.stdout).trim()));
    }
    const offset = (starts[0] as number) - 0;
    starts.forEach((start, i) => {
      expect(start - offset).toBeCloseTo(p.segments[i]?.startSec as number, 2);
    });
  }, 90_000);

  it('viewers asking for the same segments share one run', async () => {
    const p = await plan('h264');
    // Copied H.264: keyframe-aligned segments.
    expect(p.mode).toBe('remux');
    const before = runsStarted(p.contentHash);
    const origins = await Promise.all([0, 0, 1, 0, 1].map((i) => runs.segment(p, 'v0', i)));
    expect(origins.every((o) => o.made === 'run')).toBe(true);
    expect(runsStarted(p.contentHash) - before).toBe(1);
    for (let i = 2; i < p.segments.length; i++) await runs.segment(p, 'v0', i);
    const playlist = await localPlaylist(p, 'v0');
    expect((await decodeAll(playlist)).stderr).toBe('');
    expect(Math.abs((await durationOf(playlist)) - (await durationOf(sources.h264 as string)))).toBeLessThan(
      0.1,
    );
  });

  it('a rotated video comes out upright, its size swapped', async () => {
    const p = await plan('rotated');
    expect(p.renditions[0]).toMatchObject({ width: 240, height: 320 });
    for (let i = 0; i < p.segments.length; i++) await runs.segment(p, 'v0', i);
    const info = await probe(hlsPaths(videoDir, p.contentHash).segment('v0', 0));
    expect(info.streams.find((s) => s.codec_type === 'video')).toMatchObject({ width: 240, height: 320 });
    const playlist = await localPlaylist(p, 'v0');
    expect((await decodeAll(playlist)).stderr).toBe('');
    expect(
      Math.abs((await durationOf(playlist)) - (await durationOf(sources.rotated as string))),
    ).toBeLessThan(0.1);
  });

  it('a run pauses a few segments ahead of its reader and stops when idle', async () => {
    const p = await plan('hevc');
    const fresh: StreamPlan = { ...p, contentHash: 'xxh3-128:0000000000000000000000000000beef' };
    // ffmpeg reading at the source's own pace (-re): a small clip is not done before it can pause.
    const slowFfmpeg = path.join(dir, 'ffmpeg-at-pace.sh');
    await fs.writeFile(slowFfmpeg, '#!/bin/sh\nexec ffmpeg -re "$@"\n', { mode: 0o755 });
    const own = new SegmentRuns({
      videoDir,
      logger,
      signal: abort.signal,
      aheadSegments: 1,
      // Longer than writing two segments at the source's pace, so it pauses before it idles out.
      idleMs: 10_000,
      pollMs: 50,
      ffmpegPath: slowFfmpeg,
    });
    await own.segment(fresh, 'v0', 0);
    // Ahead by one: segment 1 is written, then the run waits (paused) instead of writing 2 and 3.
    await expect.poll(() => own.runs()[0]?.paused, { timeout: 20_000 }).toBe(true);
    const segment = (i: number) => hlsPaths(videoDir, fresh.contentHash).segment('v0', i);
    await expect(fs.access(segment(3))).rejects.toThrow();
    // Nobody asks: it stops.
    await expect.poll(() => own.runs().length, { timeout: 20_000 }).toBe(0);
    own.stopAll();
  }, 60_000);

  it("a viewer's read-ahead yields the CPU while another viewer waits for a segment", async () => {
    const p = await plan('hevc');
    const fresh: StreamPlan = { ...p, contentHash: 'xxh3-128:0000000000000000000000000000f1e1' };
    const slowFfmpeg = path.join(dir, 'ffmpeg-at-pace-2.sh');
    await fs.writeFile(slowFfmpeg, '#!/bin/sh\nexec ffmpeg -re "$@"\n', { mode: 0o755 });
    const own = new SegmentRuns({
      videoDir,
      logger,
      signal: abort.signal,
      aheadSegments: 2,
      idleMs: 20_000,
      // The first run is not abandoned by the seek: the player was still reading it.
      abandonMs: 60_000,
      pollMs: 50,
      ffmpegPath: slowFfmpeg,
    });
    const last = fresh.segments.length - 1;
    await own.segment(fresh, 'v0', 0);
    const first = () => own.runs().find((r) => r.from === 0);
    // Reading ahead (segments 1 and 2), not paused: nobody else waits.
    expect(first()?.paused).toBe(false);
    // A seek to the end: a second run, and the first one stops while the seek waits.
    const seek = own.segment(fresh, 'v0', last);
    seek.catch(() => undefined); // awaited below; a failed expect before must not leave it unhandled
    await expect.poll(() => own.runs().some((r) => r.from === last), { timeout: 5_000 }).toBe(true);
    expect(first()?.paused).toBe(true);
    await seek;
    // The seek got its segment: the read-ahead goes on (it is not ahead of its reader yet).
    await expect.poll(() => first()?.paused, { timeout: 5_000 }).toBe(false);
    own.stopAll();
  }, 60_000);

  it('a run slower than the idle time is not stopped while someone waits for it', async () => {
    const p = await plan('hevc');
    const fresh: StreamPlan = { ...p, contentHash: 'xxh3-128:000000000000000000000000000051e0' };
    const own = new SegmentRuns({ videoDir, logger, signal: abort.signal, idleMs: 50, pollMs: 50 });
    const t0 = performance.now();
    expect(await own.segment(fresh, 'v0', 0)).toEqual({ made: 'run' });
    // It took longer than the idle time, and still one run made it.
    expect(performance.now() - t0).toBeGreaterThan(50);
    expect(runsStarted(fresh.contentHash)).toBe(1);
    own.stopAll();
  });
});
