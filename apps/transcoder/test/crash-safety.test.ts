import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNatsBus, deleteBusPrefix, type NatsBus } from '@lumen/bus';
import { parseConfig, type VideoJob } from '@lumen/core';
import { hashFile } from '@lumen/media';
import { natsForTest, natsTestUrl } from '@lumen/test-support';
import { enqueueVideoJob, hlsPaths } from '@lumen/video';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { start } from '../src/index.ts';
import { waitFor, watchBus } from './support/bus-watch.ts';
import { ffmpegRunningOn } from './support/ffmpeg-processes.ts';
import { hlsFolderState } from './support/hls-folder-check.ts';
import { decodeAll, durationOf } from './support/media-client.ts';
import { quietBusLogger, recordingLogger } from './support/test-logger.ts';
import { makeRotated } from './support/test-videos.ts';

/**
 * A transcoder process is SIGKILLed in the middle of a transcode. Its job must come back (JetStream
 * redelivers it after the ack wait), another transcoder must finish it without making again the
 * segments the dead one published, and at no moment may a published segment be half-written: a
 * segment file, once visible, never changes; only run folders (staging) held partial output.
 */

const servers = natsTestUrl();
const prefix = `test_crash_${randomBytes(4).toString('hex')}`;
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const childScript = fileURLToPath(new URL('./fixtures/transcoder-process.ts', import.meta.url));
const ACK_WAIT_MS = 2_000;

let tmp: string | undefined;

const nats = natsForTest(servers);
beforeAll(nats.up);

afterAll(async () => {
  await nats.ifUp(() => deleteBusPrefix(servers, prefix));
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

it('a SIGKILLed transcoder: the job is redelivered and completes; no half-written output is ever visible', async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-transcoder-crash-'));
  const library = path.join(tmp, 'library');
  await fs.mkdir(library);
  const source = path.join(library, 'long-phone.mp4');
  await makeRotated(source, 30, '640x360'); // rotated: a real transcode, a few seconds long
  const contentHash = await hashFile(source);
  const env = {
    DATA_DIR: path.join(tmp, 'data'),
    LIBRARIES: `main=${library}`,
    NATS_URL: servers,
    BUS_PREFIX: prefix,
    LOG_LEVEL: 'warn',
  };
  const config = parseConfig(env, tmp);
  const paths = hlsPaths(config.videoDir, contentHash);
  const parent = path.dirname(paths.dir);
  const renditionDir = path.join(paths.dir, 'v0');

  const bus: NatsBus = await createNatsBus({ servers, prefix, logger: quietBusLogger });
  const watch = await watchBus(bus);

  // Watch the folders the whole time: a published segment never changes once it is visible.
  const seen = { partial: [] as string[], staging: false, stagingSegments: 0 };
  const sizes = new Map<string, number>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      for (const name of await fs.readdir(renditionDir).catch(() => [] as string[])) {
        if (name.endsWith('.ts')) {
          const size = (await fs.stat(path.join(renditionDir, name)).catch(() => undefined))?.size;
          if (size === undefined) continue;
          const first = sizes.get(name);
          if (first === undefined) sizes.set(name, size);
          else if (first !== size) seen.partial.push(`${name}: ${first} then ${size} bytes`);
          continue;
        }
        if (!name.endsWith('.tmp')) continue;
        seen.staging = true;
        const segments = await fs.readdir(path.join(renditionDir, name)).catch(() => [] as string[]);
        seen.stagingSegments = Math.max(
          seen.stagingSegments,
          segments.filter((n) => n.endsWith('.ts')).length,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();

  const child = execa(process.execPath, ['--import', 'tsx', childScript], {
    cwd: repoRoot,
    env: { ...env, TEST_ACK_WAIT_MS: String(ACK_WAIT_MS) },
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
  try {
    await waitFor(
      () => childOut.includes('TRANSCODER-READY'),
      () => `the child transcoder to start:\n${childOut}`,
      30_000,
    );

    const job: VideoJob = {
      contentHash,
      sourcePath: source,
      library: 'main',
      relPath: 'long-phone.mp4',
      requestedAt: new Date().toISOString(),
    };
    await enqueueVideoJob(bus, 'hls', job);
    await watch.until('hls', contentHash, 'running', 30_000);
    await waitFor(
      () => seen.stagingSegments >= 1,
      'the child to write a segment into its staging folder',
      30_000,
    );
    expect(ffmpegRunningOn(source)).toBe(true);

    child.kill('SIGKILL');
    const exited = await child;
    expect(exited.signal).toBe('SIGKILL');
    await expect(fs.access(paths.manifest)).rejects.toThrow(); // not complete
    expect((await fs.readdir(renditionDir)).filter((n) => n.endsWith('.tmp'))).toHaveLength(1); // left behind
    const publishedBeforeKill = (await fs.readdir(renditionDir)).filter((n) => n.endsWith('.ts')).length;
    // Its ffmpeg dies too: the next progress write hits the closed pipe (SIGPIPE).
    await waitFor(() => !ffmpegRunningOn(source), 'the orphaned ffmpeg to exit', 10_000);

    const log = recordingLogger();
    const survivor = await start({
      config,
      bus,
      logger: log.logger,
      options: { concurrency: 1, ackWaitMs: ACK_WAIT_MS },
    });
    try {
      await watch.until('hls', contentHash, 'ready', 90_000);
    } finally {
      await survivor.stop();
    }
    expect(log.records.find((r) => r.msg === 'making HLS')?.attempt).toBe(2);
    // What the dead transcoder published was kept, not made again.
    const ready = log.records.find((r) => r.msg === 'HLS ready');
    expect(Number(ready?.segmentsMade) + publishedBeforeKill).toBe(Number(ready?.segments));
    expect(log.records.some((r) => r.msg === 'removed staging folders left by a crashed transcoder')).toBe(
      true,
    );
  } finally {
    watching = false;
    await watcher;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await watch.close();
    await bus.close();
  }

  expect(seen.staging).toBe(true);
  expect(seen.partial).toEqual([]);
  expect(await hlsFolderState(paths.dir)).toBe('complete');
  expect(await fs.readdir(parent)).toEqual([path.basename(paths.dir)]);
  expect(await decodeAll(paths.master)).toEqual({ exitCode: 0, stderr: '' });
  expect(Math.abs((await durationOf(paths.master)) - (await durationOf(source)))).toBeLessThanOrEqual(0.5);
}, 120_000);
