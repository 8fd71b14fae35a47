import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Bus } from '@lumen/bus';
import { splitRelPath } from '@lumen/core';
import { type ImageExifInput, ImageExifRepository, LibrariesRepository } from '@lumen/db';
import { contentHashHex, hashFile } from '@lumen/media';
import { start as startTranscoder, type TranscoderHandle } from '@lumen/transcoder';
import pino from 'pino';
import { startTestApi, type TestApi } from './test-api.ts';

/**
 * The real api and the real transcoder in one process on one in-process bus (as `pnpm start` runs
 * them), over a temp library of small videos made with ffmpeg, with their image_exif rows written
 * as the watcher would. The transcoder does not react to ingest here: every job comes from the api.
 */

const FFMPEG_TIMEOUT_MS = 60_000;

export interface FixtureVideo {
  relPath: string;
  make(file: string): Promise<void>;
  mediaType?: 'video' | 'photo';
  mime?: string;
  /** date_taken, so the wall order is known. */
  dateTaken?: string;
}

export interface MadeVideo {
  relPath: string;
  absPath: string;
  contentHash: string;
  hex: string;
  /** ffprobe's container duration of the source, seconds (null when it cannot be read). */
  durationSec: number | null;
}

export interface VideoFixture {
  t: TestApi;
  url: string;
  root: string;
  token: string;
  auth: Record<string, string>;
  videos: Record<string, MadeVideo>;
  /** Transcoder log records (warn and above). */
  transcoderLogs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a program (ffmpeg, ffprobe) to the end, with a time limit; never throws for a non-zero exit. */
export function run(program: string, args: string[], timeoutMs = FFMPEG_TIMEOUT_MS): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      program,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        resolve({
          exitCode: error ? (typeof code === 'number' ? code : -1) : 0,
          stdout: String(stdout),
          stderr: String(stderr) + (error && typeof code !== 'number' ? `\n${error.message}` : ''),
        });
      },
    );
  });
}

async function ffmpeg(args: string[]): Promise<void> {
  const result = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args]);
  if (result.exitCode !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${result.stderr}`);
}

const testSource = (size: string, seconds: number) => [
  '-f',
  'lavfi',
  '-i',
  `testsrc2=size=${size}:rate=24:duration=${seconds}`,
];
const tone = (seconds: number) => [
  '-f',
  'lavfi',
  '-i',
  `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
];

/** H.264 + AAC in MP4, a keyframe every 2 s (remuxed into several segments). */
export async function makeH264Aac(file: string, seconds = 4, size = '320x240'): Promise<void> {
  await ffmpeg([
    ...testSource(size, seconds),
    ...tone(seconds),
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '48', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-shortest', file],
  ]);
}

/** HEVC + AAC in MP4 (tagged hvc1, as phones write it): transcoded. */
export async function makeHevc(file: string, seconds = 3, size = '480x270'): Promise<void> {
  await ffmpeg([
    ...testSource(size, seconds),
    ...tone(seconds),
    ...['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error'],
    ...['-pix_fmt', 'yuv420p', '-tag:v', 'hvc1', '-c:a', 'aac', '-shortest', file],
  ]);
}

/** VP9 + Opus in WebM: transcoded. */
export async function makeVp9(file: string, seconds = 3, size = '320x240'): Promise<void> {
  await ffmpeg([
    ...testSource(size, seconds),
    ...tone(seconds),
    ...['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k'],
    ...['-c:a', 'libopus', '-shortest', file],
  ]);
}

/** An MP4 cut at 60%: its index (`moov`, written last) is gone, so ffprobe fails on it. */
export async function makeTruncated(file: string): Promise<void> {
  const whole = `${file}.whole.mp4`;
  await makeH264Aac(whole, 3);
  const bytes = await fs.readFile(whole);
  await fs.writeFile(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  await fs.rm(whole);
}

/** A small JPEG (for "not a video"). */
export async function makeJpeg(file: string): Promise<void> {
  await ffmpeg([...testSource('64x48', 1), '-frames:v', '1', file]);
}

export async function probeDuration(input: string, headers?: string): Promise<number | null> {
  const result = await run('ffprobe', [
    '-hide_banner',
    '-v',
    'error',
    ...(headers ? ['-headers', headers] : []),
    '-show_entries',
    'format=duration',
    '-of',
    'default=nw=1:nk=1',
    input,
  ]);
  const value = Number(result.stdout.trim());
  return result.exitCode === 0 && Number.isFinite(value) ? value : null;
}

export interface VideoFixtureOptions {
  /** The api's bus (default the in-process one); closed by stop(). */
  bus?: Bus;
  /** Start the in-process transcoder on the api's bus (default true). */
  transcoder?: boolean;
}

export async function startVideoFixture(
  files: FixtureVideo[],
  env: Record<string, string> = {},
  opts: VideoFixtureOptions = {},
): Promise<VideoFixture> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-video-test-'));
  const root = path.join(base, 'library');
  const made = await Promise.all(
    files.map(async (file) => {
      const absPath = path.join(root, file.relPath);
      await fs.mkdir(path.dirname(absPath), { recursive: true });
      await file.make(absPath);
      return { file, absPath };
    }),
  );

  const t = await startTestApi(env, opts.bus ? { bus: opts.bus } : {});
  const transcoderLogs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) transcoderLogs.push(JSON.parse(line));
      if (process.env.TEST_LOG_LEVEL) process.stderr.write(chunk);
      done();
    },
  });
  let transcoder: TranscoderHandle | undefined;
  try {
    transcoder =
      (opts.transcoder ?? true)
        ? await startTranscoder({
            config: t.config,
            bus: t.bus,
            logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' }, sink),
            // Fast retries and two attempts, so the truncated video is dead-lettered within seconds.
            options: {
              concurrency: 2,
              maxAttempts: 2,
              backoffMs: [200],
              ackWaitMs: 30_000,
              enqueueOnIngest: false,
            },
          })
        : undefined;

    const libraryId = Number(
      (await new LibrariesRepository(t.database.db).create({ name: 'main', root })).id,
    );
    const videos: Record<string, MadeVideo> = {};
    const rows: ImageExifInput[] = [];
    for (const { file, absPath } of made) {
      const stats = await fs.stat(absPath);
      const contentHash = await hashFile(absPath);
      const durationSec = await probeDuration(absPath);
      const { dir, fileName } = splitRelPath(file.relPath);
      const mediaType = file.mediaType ?? 'video';
      videos[file.relPath] = {
        relPath: file.relPath,
        absPath,
        contentHash,
        hex: contentHashHex(contentHash),
        durationSec,
      };
      rows.push({
        library_id: libraryId,
        rel_path: file.relPath,
        dir,
        file_name: fileName,
        media_type: mediaType,
        mime_type: file.mime ?? (mediaType === 'video' ? 'video/mp4' : 'image/jpeg'),
        size_bytes: stats.size,
        mtime_ms: Math.floor(stats.mtimeMs),
        content_hash: contentHash,
        date_taken: file.dateTaken ?? null,
        date_taken_source: file.dateTaken ? 'video' : null,
        duration_sec: durationSec,
        width: mediaType === 'video' ? 320 : 64,
        height: mediaType === 'video' ? 240 : 48,
      });
    }
    await new ImageExifRepository(t.database.db).upsert(rows);

    await t.createUser('viewer', 'viewer password');
    const token = await t.tokenFor('viewer', 'viewer password');
    const running = transcoder;
    return {
      t,
      url: t.url,
      root,
      token,
      auth: { Authorization: `Bearer ${token}` },
      videos,
      transcoderLogs,
      async stop() {
        await running?.stop();
        await t.stop();
        await fs.rm(base, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await transcoder?.stop();
    await t.stop();
    await fs.rm(base, { recursive: true, force: true });
    throw err;
  }
}

/** Polls `check` until it returns a value; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
