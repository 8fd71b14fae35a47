import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNatsBus, deleteBusPrefix, type NatsBus, NoResponderError } from '@lumen/bus';
import {
  mediaPlaylist,
  parseConfig,
  type SegmentReply,
  type SegmentRequest,
  type StreamPlan,
  type StreamPlanRequest,
  videoRequestSubjects,
} from '@lumen/core';
import { hashFile } from '@lumen/media';
import { natsForTest, natsTestUrl } from '@lumen/test-support';
import { hlsPaths } from '@lumen/video';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { start } from '../src/index.ts';
import { waitFor } from './support/bus-watch.ts';
import { ffmpegCountOn } from './support/ffmpeg-processes.ts';
import { decodeAll, durationOf } from './support/media-client.ts';
import { quietBusLogger, recordingLogger } from './support/test-logger.ts';
import { makeHevc } from './support/test-videos.ts';

/**
 * Segments on demand in a split deployment: the api side only speaks to the bus (as the api does),
 * a transcoder in its own process answers. Viewers asking at once share one ffmpeg run (counted
 * among the machine's processes); a transcoder SIGKILLed mid-stream takes its ffmpeg with it, and
 * the next segment request is answered by another transcoder, the stream still whole.
 */

const servers = natsTestUrl();
const prefix = `test_segbus_${randomBytes(4).toString('hex')}`;
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const childScript = fileURLToPath(new URL('./fixtures/transcoder-process.ts', import.meta.url));
const ASK = { timeoutMs: 30_000 };

let tmp: string | undefined;
const nats = natsForTest(servers);

beforeAll(async () => {
  await nats.up();
});

afterAll(async () => {
  await nats.ifUp(() => deleteBusPrefix(servers, prefix));
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

it('viewers share one run; a SIGKILLed transcoder mid-stream is replaced at the next segment request', async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-segments-bus-'));
  const library = path.join(tmp, 'library');
  await fs.mkdir(library);
  const source = path.join(library, 'long-hevc.mp4');
  await makeHevc(source, 24, '320x240');
  const contentHash = await hashFile(source);
  const env = {
    DATA_DIR: path.join(tmp, 'data'),
    LIBRARIES: `main=${library}`,
    NATS_URL: servers,
    BUS_PREFIX: prefix,
    LOG_LEVEL: 'warn',
  };
  const config = parseConfig(env, tmp);
  const bus: NatsBus = await createNatsBus({ servers, prefix, logger: quietBusLogger });

  const child = execa(process.execPath, ['--import', 'tsx', childScript], {
    cwd: repoRoot,
    env,
    reject: false,
    stdin: 'ignore',
  });
  let childOut = '';
  child.stdout?.on('data', (chunk) => {
    childOut += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    childOut += String(chunk);
  });
  let survivor: Awaited<ReturnType<typeof start>> | undefined;
  try {
    await waitFor(
      () => childOut.includes('TRANSCODER-READY'),
      () => `the child transcoder:\n${childOut}`,
      30_000,
    );
    const request: StreamPlanRequest = {
      contentHash,
      sourcePath: source,
      library: 'main',
      relPath: 'long-hevc.mp4',
      requestedAt: new Date().toISOString(),
    };
    const plan = await bus.request<StreamPlanRequest, StreamPlan>(
      videoRequestSubjects.streamPlan,
      request,
      ASK,
    );
    expect(plan.segments).toHaveLength(12); // 2 s segments
    const segment = (index: number) =>
      bus.request<SegmentRequest, SegmentReply>(
        videoRequestSubjects.segment,
        { contentHash, rendition: 'v0', index },
        ASK,
      );

    // Three viewers at once: one ffmpeg.
    let most = 0;
    let settled = false;
    const asks = Promise.all([segment(0), segment(0), segment(0)]).finally(() => {
      settled = true;
    });
    while (!settled) {
      most = Math.max(most, ffmpegCountOn(source));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await asks).map((r) => r.made)).toEqual(['run', 'run', 'run']);
    expect(most).toBe(1);

    // The run goes on a few segments ahead of the viewers (then pauses); kill its transcoder.
    await waitFor(
      async () =>
        (await fs.readdir(path.join(hlsPaths(config.videoDir, contentHash).dir, 'v0'))).includes(
          'seg00001.ts',
        ),
      'a segment ahead',
      30_000,
    );
    expect(ffmpegCountOn(source)).toBe(1);
    child.kill('SIGKILL');
    expect((await child).signal).toBe('SIGKILL');
    await waitFor(() => ffmpegCountOn(source) === 0, 'its ffmpeg to die with it', 10_000);
    await expect(segment(5)).rejects.toBeInstanceOf(NoResponderError);

    // Another transcoder: the next requests are answered, from where the dead one stopped.
    const survivorLog = recordingLogger();
    survivor = await start({
      config,
      bus,
      logger: survivorLog.logger,
      options: { enqueueOnIngest: false },
    });
    for (let i = 1; i < plan.segments.length; i++) await segment(i);
    const rendition = path.join(hlsPaths(config.videoDir, contentHash).dir, 'v0');
    // The dead transcoder's run folder was cleared by the next run; that run ends once it is done.
    expect(
      survivorLog.records.some((r) => r.msg === 'removed staging folders left by a crashed transcoder'),
    ).toBe(true);
    await waitFor(() => survivor?.segmentRuns().length === 0, 'the last run to end', 10_000);
    expect((await fs.readdir(rendition)).filter((n) => n.startsWith('.'))).toEqual([]);
    const playlist = path.join(rendition, 'local.m3u8');
    await fs.writeFile(
      playlist,
      mediaPlaylist(
        plan.segments.map((s, index) => ({ index, ...s })),
        (i) => `seg${String(i).padStart(5, '0')}.ts`,
      ),
    );
    expect(await decodeAll(playlist)).toEqual({ exitCode: 0, stderr: '' });
    expect(Math.abs((await durationOf(playlist)) - (await durationOf(source)))).toBeLessThan(0.1);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await survivor?.stop();
    await bus.close();
  }
}, 120_000);
