import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Bus, createMemoryBus } from '@lumen/bus';
import { type Config, type MediaIngestedEvent, parseConfig, type VideoJob } from '@lumen/core';
import { hashFile } from '@lumen/media';
import { enqueueVideoJob, hlsPaths, readFailureRecord, readVideoOutputState } from '@lumen/video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type TranscoderHandle } from '../src/index.ts';
import { type BusWatch, waitFor, watchBus } from './support/bus-watch.ts';
import { ffmpegRunningOn } from './support/ffmpeg-processes.ts';
import { decodeAll } from './support/media-client.ts';
import { quietBusLogger, recordingLogger } from './support/test-logger.ts';
import { makeH264Aac, makeRotated, makeTruncated, makeVp9 } from './support/test-videos.ts';

/** Retries, dead letters, joining, no-ops, stopping and ingest, over the in-process bus. */

let tmp: string;
let library: string;
let config: Config;
let bus: Bus;
let watch: BusWatch;
let transcoder: TranscoderHandle;
let log: ReturnType<typeof recordingLogger>;
const files = { good: '', truncated: '', vp9: '', long: '' };
const hashes = { good: '', truncated: '', vp9: '', long: '' };

function jobFor(which: keyof typeof files): VideoJob {
  return {
    contentHash: hashes[which],
    sourcePath: files[which],
    library: 'main',
    relPath: path.basename(files[which]),
    requestedAt: new Date().toISOString(),
  };
}

function recordsOf(msg: string, contentHash: string, records = log.records) {
  return records.filter((r) => r.msg === msg && r.contentHash === contentHash);
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-transcoder-jobs-'));
  library = path.join(tmp, 'library');
  await fs.mkdir(library);
  files.good = path.join(library, 'good.mp4');
  files.truncated = path.join(library, 'truncated.mp4');
  files.vp9 = path.join(library, 'clip.webm');
  files.long = path.join(library, 'long-phone.mp4');
  await Promise.all([
    makeH264Aac(files.good, 3),
    makeTruncated(files.truncated),
    makeVp9(files.vp9, 3),
    // long enough that a transcode is still running when the test stops the transcoder
    makeRotated(files.long, 30, '640x360'),
  ]);
  for (const key of Object.keys(files) as (keyof typeof files)[]) hashes[key] = await hashFile(files[key]);

  config = parseConfig(
    { DATA_DIR: path.join(tmp, 'data'), LIBRARIES: `main=${library}`, TRANSCODE_MAX_ATTEMPTS: '3' },
    tmp,
  );
  bus = createMemoryBus({ logger: quietBusLogger });
  watch = await watchBus(bus);
  log = recordingLogger();
  transcoder = await start({
    config,
    bus,
    logger: log.logger,
    options: { concurrency: 2, backoffMs: [50], ackWaitMs: 20_000, stopGraceMs: 5_000 },
  });
}, 120_000);

afterAll(async () => {
  await transcoder?.stop();
  await watch?.close();
  await bus?.close();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('a video ffmpeg cannot read', () => {
  it('is retried, then dead-lettered with the ffmpeg error text; the failure stays visible; nothing crashes', async () => {
    await enqueueVideoJob(bus, 'hls', jobFor('truncated'));
    await enqueueVideoJob(bus, 'preview', jobFor('truncated'));
    await watch.until('hls', hashes.truncated, 'failed', 30_000);
    await watch.until('preview', hashes.truncated, 'failed', 30_000);
    await waitFor(() => watch.deadLetters.length >= 2, 'two dead letters');

    for (const kind of ['hls', 'preview'] as const) {
      const letter = watch.deadLetters.find((l) => l.subject === `video.${kind}`);
      expect(letter).toMatchObject({ attempts: 3, data: { contentHash: hashes.truncated } });
      expect(letter?.error).toMatch(/^ffprobe failed \(exit code 1\):\n/);
      expect(letter?.error).toContain('moov atom not found');
      expect(watch.statesOf(kind, hashes.truncated)).toEqual([
        'running',
        'queued',
        'running',
        'queued',
        'running',
        'failed',
      ]);
      const failed = watch.statuses.find((s) => s.kind === kind && s.state === 'failed');
      expect(failed?.error).toBe(letter?.error);
      expect(await readVideoOutputState(config, kind, hashes.truncated)).toMatchObject({
        state: 'failed',
        error: letter?.error,
        attempts: 3,
      });
    }
    await expect(fs.stat(hlsPaths(config.videoDir, hashes.truncated).dir)).rejects.toThrow();

    // The same transcoder goes on working.
    await enqueueVideoJob(bus, 'hls', jobFor('good'));
    await watch.until('hls', hashes.good, 'ready', 30_000);
  }, 60_000);
});

describe('a job the bus dead-lettered itself', () => {
  it('(nobody acked it in time, e.g. a transcoder crashing on it each time) gets a failure record and `failed`', async () => {
    const job = { ...jobFor('good'), contentHash: `xxh3-128:${'cd'.repeat(16)}` };
    const error = 'not acknowledged within 60000 ms in 3 deliveries';
    // What the bus publishes once the last delivery timed out (see @lumen/bus).
    await bus.publish('dlq.video.hls', { subject: 'video.hls', data: job, attempts: 3, error });
    await watch.until('hls', job.contentHash, 'failed', 10_000);
    expect(watch.statuses.find((s) => s.contentHash === job.contentHash)?.error).toBe(error);
    expect(await readVideoOutputState(config, 'hls', job.contentHash)).toMatchObject({
      state: 'failed',
      error,
      attempts: 3,
    });
  }, 60_000);

  it('a failure our handler already recorded is not recorded or announced twice', async () => {
    await watch.until('hls', hashes.truncated, 'failed', 30_000);
    const failedEvents = () =>
      watch.statuses.filter((s) => s.contentHash === hashes.truncated && s.state === 'failed');
    const before = failedEvents().length;
    const record = await readFailureRecord(config, 'hls', hashes.truncated);
    await bus.publish('dlq.video.hls', {
      subject: 'video.hls',
      data: jobFor('truncated'),
      attempts: 3,
      error: 'again',
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(failedEvents()).toHaveLength(before);
    expect(await readFailureRecord(config, 'hls', hashes.truncated)).toEqual(record);
  }, 60_000);
});

describe('retrying a failed output', () => {
  it('runs it again: the old failure record is dropped when the run starts and written anew', async () => {
    await watch.until('hls', hashes.truncated, 'failed', 30_000);
    const old = await readFailureRecord(config, 'hls', hashes.truncated);
    const failedBefore = watch.statesOf('hls', hashes.truncated).filter((s) => s === 'failed').length;
    await bus.enqueue('video.hls', jobFor('truncated')); // as an explicit request would, past the dedup window
    await watch.until('hls', hashes.truncated, 'failed', 30_000, failedBefore + 1);
    const fresh = await readFailureRecord(config, 'hls', hashes.truncated);
    expect(fresh?.error).toBe(old?.error);
    expect(Date.parse(fresh?.at ?? '')).toBeGreaterThan(Date.parse(old?.at ?? ''));
  }, 60_000);
});

describe('jobs for the same output', () => {
  it('a second job while the first runs joins it: one ffmpeg, both acked', async () => {
    // Two deliveries of the same job (as after a dedup window ran out, or from two requesters).
    await bus.enqueue('video.hls', jobFor('vp9'));
    await bus.enqueue('video.hls', jobFor('vp9'));
    await watch.until('hls', hashes.vp9, 'ready', 30_000, 2);
    expect(recordsOf('making HLS', hashes.vp9)).toHaveLength(1);
    expect(recordsOf('joining the run already making this output', hashes.vp9)).toHaveLength(1);
    expect(watch.statesOf('hls', hashes.vp9)).toEqual(['running', 'ready', 'ready']);
  }, 60_000);

  it('a job whose output exists is a no-op', async () => {
    await watch.until('hls', hashes.good, 'ready', 30_000);
    const manifest = hlsPaths(config.videoDir, hashes.good).manifest;
    const before = await fs.stat(manifest);
    const readyBefore = watch.statesOf('hls', hashes.good).length;
    await enqueueVideoJob(bus, 'hls', { ...jobFor('good'), requestedAt: new Date().toISOString() });
    await bus.enqueue('video.hls', jobFor('good')); // no dedup id: really delivered
    await waitFor(() => watch.statesOf('hls', hashes.good).length > readyBefore, 'the repeated job');
    expect(watch.statesOf('hls', hashes.good).slice(readyBefore)).toEqual(['ready']);
    expect(recordsOf('making HLS', hashes.good)).toHaveLength(1);
    expect((await fs.stat(manifest)).mtimeMs).toBe(before.mtimeMs);
  }, 60_000);

  it('an invalid job is dead-lettered at once', async () => {
    const before = watch.deadLetters.length;
    await bus.enqueue('video.hls', { contentHash: 'nope', sourcePath: 'relative.mp4' });
    await waitFor(() => watch.deadLetters.length > before, 'the dead letter');
    expect(watch.deadLetters.at(-1)).toMatchObject({ subject: 'video.hls', attempts: 1 });
    expect(watch.deadLetters.at(-1)?.error).toMatch(/contentHash/);
  }, 60_000);

  it('staging left by a crashed writer is removed before the output is made', async () => {
    const job = { ...jobFor('good'), contentHash: `xxh3-128:${'ab'.repeat(16)}` };
    const paths = hlsPaths(config.videoDir, job.contentHash);
    const host = os.hostname().replace(/[^A-Za-z0-9_-]/g, '_');
    // A segment run's folder, left by a writer that died (no such pid).
    const crashed = path.join(paths.dir, 'v0', `.run.${host}-999999999.00aa00aa.tmp`);
    await fs.mkdir(crashed, { recursive: true });
    await fs.writeFile(path.join(crashed, 'seg00000.ts'), 'half');
    await enqueueVideoJob(bus, 'hls', job);
    await watch.until('hls', job.contentHash, 'ready', 30_000);
    await expect(fs.stat(crashed)).rejects.toThrow();
    expect((await fs.readdir(path.join(paths.dir, 'v0'))).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(await fs.readdir(path.dirname(paths.dir))).toEqual([path.basename(paths.dir)]);
  }, 60_000);
});

describe('video.ingested jobs', () => {
  const event = (
    relPath: string,
    contentHash: string,
    extra: Partial<MediaIngestedEvent> = {},
  ): MediaIngestedEvent => ({
    libraryId: 1,
    library: 'main',
    relPath,
    contentHash,
    mediaType: 'video',
    sizeBytes: 1,
    isNew: true,
    at: new Date().toISOString(),
    ...extra,
  });

  it('turns a new video into both jobs and ignores photos, unknown libraries and escaping paths', async () => {
    const copy = path.join(library, 'sub', 'copy.mp4');
    await fs.mkdir(path.dirname(copy), { recursive: true });
    await fs.copyFile(files.good, copy);
    const outside = path.join(tmp, 'outside');
    await fs.mkdir(outside);
    await fs.copyFile(files.good, path.join(outside, 'good.mp4'));
    await fs.symlink(outside, path.join(library, 'escape'));
    const fresh = (n: number) => `xxh3-128:${String(n).repeat(32)}`;

    await bus.enqueue('video.ingested', event('sub/copy.mp4', fresh(1), { mediaType: 'photo' }));
    await bus.enqueue('video.ingested', event('sub/copy.mp4', fresh(2), { library: 'elsewhere' }));
    await bus.enqueue('video.ingested', event('escape/good.mp4', fresh(3)));
    await bus.enqueue('video.ingested', event('sub/copy.mp4', fresh(4)));
    await watch.until('hls', fresh(4), 'ready', 30_000);
    await watch.until('preview', fresh(4), 'ready', 30_000);
    expect(watch.statesOf('hls', fresh(4))).toEqual(['queued', 'running', 'ready']);
    for (const n of [1, 2, 3]) {
      expect({
        n,
        hls: watch.statesOf('hls', fresh(n)),
        preview: watch.statesOf('preview', fresh(n)),
      }).toEqual({
        n,
        hls: [],
        preview: [],
      });
    }
    expect(
      log.records.some(
        (r) => r.msg === 'cannot make video outputs for an ingested file' && r.contentHash === fresh(3),
      ),
    ).toBe(true);
  }, 60_000);

  it('enqueues nothing for outputs that exist or failed for good', async () => {
    const before = watch.statuses.length;
    await bus.enqueue('video.ingested', event('good.mp4', hashes.good)); // hls exists; preview never made
    await bus.enqueue('video.ingested', event('truncated.mp4', hashes.truncated)); // both failed for good
    await watch.until('preview', hashes.good, 'ready', 30_000);
    const after = watch.statuses.slice(before);
    expect(after.filter((s) => s.contentHash === hashes.truncated)).toEqual([]);
    expect(after.filter((s) => s.contentHash === hashes.good && s.kind === 'hls')).toEqual([]);
    expect((await readFailureRecord(config, 'hls', hashes.truncated))?.attempts).toBe(3);
  }, 60_000);
});

describe('stop()', () => {
  it('kills ffmpeg mid-transcode and hands the job back; the next transcoder completes it', async () => {
    const ownBus = createMemoryBus({ logger: quietBusLogger });
    const ownWatch = await watchBus(ownBus);
    const first = await start({
      config,
      bus: ownBus,
      logger: recordingLogger().logger,
      options: { stopGraceMs: 5_000 },
    });
    const paths = hlsPaths(config.videoDir, hashes.long);
    await enqueueVideoJob(ownBus, 'hls', jobFor('long'));
    await ownWatch.until('hls', hashes.long, 'running', 30_000);
    const v0 = path.join(paths.dir, 'v0');
    await waitFor(async () => {
      const names = await fs.readdir(v0).catch(() => [] as string[]);
      const staging = names.find((n) => n.endsWith('.tmp'));
      if (!staging) return false;
      const segments = await fs.readdir(path.join(v0, staging)).catch(() => []);
      return segments.some((n) => n.endsWith('.ts'));
    }, 'a segment in a run folder');
    expect(ffmpegRunningOn(files.long)).toBe(true);

    const stopStarted = performance.now();
    await first.stop();
    expect(performance.now() - stopStarted).toBeLessThan(3_000);
    expect(ffmpegRunningOn(files.long)).toBe(false);
    // The run folder is removed; only whole segments were published; the stream is not complete.
    expect((await fs.readdir(v0)).filter((n) => !/^seg[0-9]{5}\.ts$/.test(n))).toEqual([]);
    await expect(fs.access(paths.manifest)).rejects.toThrow();
    expect(ownWatch.statesOf('hls', hashes.long)).toEqual(['running']); // not failed: handed back

    const secondLog = recordingLogger();
    const second = await start({ config, bus: ownBus, logger: secondLog.logger });
    try {
      await ownWatch.until('hls', hashes.long, 'ready', 60_000);
      expect(secondLog.records.find((r) => r.msg === 'making HLS')?.attempt).toBe(2);
      const master = `${paths.master}`;
      expect(await decodeAll(master)).toEqual({ exitCode: 0, stderr: '' });
    } finally {
      await second.stop();
      await ownWatch.close();
      await ownBus.close();
    }
  }, 90_000);
});
