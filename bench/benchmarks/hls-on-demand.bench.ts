import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Bus, createNatsBus, deleteBusPrefix } from '@lumen/bus';
import {
  parseConfig,
  type SegmentReply,
  type SegmentRequest,
  type StreamPlan,
  type StreamPlanRequest,
  type VideoJob,
  type VideoStatusEvent,
  videoRequestSubjects,
} from '@lumen/core';
import { hashFile } from '@lumen/media';
import { createLogger } from '@lumen/runtime';
import { hlsFfmpegArgs, planHls, probeSource, segmentRunArgs, start } from '@lumen/transcoder';
import { enqueueVideoJob } from '@lumen/video';
import { type BenchContext, type Benchmark, type BenchRow, row } from '../benchmark.ts';
import { median } from '../stats.ts';

/** Clip length, seconds (HLS_BENCH_SECONDS to try the bench quickly). */
const SECONDS = Number(process.env.HLS_BENCH_SECONDS ?? 60);
/** Rounds of the first-segment and seek measurements (each a fresh data folder). */
const ROUNDS = Number(process.env.HLS_BENCH_ROUNDS ?? 3);
const TIMEOUT_MS = 30 * 60 * 1000;
const ASK = { timeoutMs: 120_000 };
/** Segments encoded to compare x264 presets on the 1080p rendition. */
const PRESET_SEGMENTS = 3;

function ffmpegArgs(args: string[]): string[] {
  return ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args];
}

/** Runs ffmpeg to completion; rejects on failure. */
function ffmpeg(args: string[], cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ffmpegArgs(args), { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + String(chunk)).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg ${args.join(' ')} failed (${code ?? signal}): ${stderr}`));
    });
  });
}

/**
 * Bare ffmpeg with the arguments of a segment run, timed from its start until `count` segments are
 * complete (the muxer opened the next file, or ffmpeg exited); then it is killed.
 */
async function bareSegments(args: string[], dir: string, from: number, count: number): Promise<number> {
  await fs.mkdir(dir, { recursive: true });
  const done = `seg${String(from + count).padStart(5, '0')}.ts`;
  const t0 = performance.now();
  const child = spawn('ffmpeg', ffmpegArgs(args), { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
  let exited = false;
  child.on('close', () => {
    exited = true;
  });
  while (!exited) {
    if ((await fs.readdir(dir)).includes(done)) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const ms = performance.now() - t0;
  child.kill('SIGKILL');
  await fs.rm(dir, { recursive: true, force: true });
  return ms;
}

async function makeHevcClip(file: string): Promise<void> {
  await ffmpeg([
    ...['-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30:duration=${SECONDS}`],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${SECONDS}`],
    ...['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error'],
    ...['-pix_fmt', 'yuv420p', '-tag:v', 'hvc1', '-c:a', 'aac', '-shortest', file],
  ]);
}

function roundHash(base: string, label: string): string {
  const hex = base.slice(base.indexOf(':') + 1);
  const salt = label.split('').reduce((n, c) => (n * 31 + c.charCodeAt(0)) >>> 0, 7);
  return `xxh3-128:${salt.toString(16).padStart(8, '0')}${hex.slice(8)}`;
}

async function withTranscoder<T>(
  bus: Bus,
  source: string,
  dataDir: string,
  fn: () => Promise<T>,
): Promise<T> {
  const config = parseConfig({ DATA_DIR: dataDir, LIBRARIES: `bench=${path.dirname(source)}` }, dataDir);
  const handle = await start({
    config,
    bus,
    logger: createLogger({ level: 'silent', name: 'bench' }),
    options: { concurrency: 1, enqueueOnIngest: false },
  });
  try {
    return await fn();
  } finally {
    await handle.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

interface Round {
  firstMs: number;
  bareFirstMs: number;
  seekMs: number;
  bareSeekMs: number;
}

async function runBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-bench-hls-'));
  const prefix = `bench_hls_${randomBytes(4).toString('hex')}`;
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  let bus: Bus | undefined;
  try {
    ctx.log(`making a ${SECONDS} s 1080p30 HEVC+AAC clip`);
    const source = path.join(work, 'clip-hevc.mp4');
    await makeHevcClip(source);
    const hash = await hashFile(source);
    bus = await createNatsBus({ servers: ctx.natsUrl, prefix, logger: quiet });
    const busRef = bus;
    const jobFor = (contentHash: string): VideoJob => ({
      contentHash,
      sourcePath: source,
      library: 'bench',
      relPath: 'clip-hevc.mp4',
      requestedAt: new Date().toISOString(),
    });
    const segment = (contentHash: string, index: number) =>
      busRef.request<SegmentRequest, SegmentReply>(
        videoRequestSubjects.segment,
        { contentHash, rendition: 'v0', index },
        ASK,
      );

    const rounds: Round[] = [];
    let plan: StreamPlan | undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      const contentHash = roundHash(hash, `round-${round}`);
      const ours = await withTranscoder(bus, source, path.join(work, `ours-${round}`), async () => {
        // A viewer opens the video: the playlist (plan) and then the first segment.
        let t0 = performance.now();
        plan = await busRef.request<StreamPlanRequest, StreamPlan>(
          videoRequestSubjects.streamPlan,
          jobFor(contentHash),
          ASK,
        );
        await segment(contentHash, 0);
        const firstMs = performance.now() - t0;
        // Then seeks to 80%.
        const seekTo = Math.floor(plan.segments.length * 0.8);
        t0 = performance.now();
        await segment(contentHash, seekTo);
        return { firstMs, seekMs: performance.now() - t0, seekTo };
      });
      const p = plan as StreamPlan;
      const bareFirstMs = await bareSegments(segmentRunArgs(p, 'v0', 0), path.join(work, 'bare-first'), 0, 1);
      const bareSeekMs = await bareSegments(
        segmentRunArgs(p, 'v0', ours.seekTo),
        path.join(work, 'bare-seek'),
        ours.seekTo,
        1,
      );
      rounds.push({ firstMs: ours.firstMs, bareFirstMs, seekMs: ours.seekMs, bareSeekMs });
      ctx.log(
        `round ${round}: first segment ${Math.round(ours.firstMs)} ms (bare ${Math.round(bareFirstMs)}), ` +
          `seek to segment ${ours.seekTo}: ${Math.round(ours.seekMs)} ms (bare ${Math.round(bareSeekMs)})`,
      );
    }
    const p = plan as StreamPlan;

    // x264 preset of the 1080p rendition: the chosen one against veryfast (the first one), bare ffmpeg.
    const top = p.renditions[0];
    const presetSpeed = async (preset: string) => {
      const withPreset: StreamPlan = {
        ...p,
        renditions: p.renditions.map((r, i) => (i === 0 ? { ...r, preset } : r)),
      };
      const ms = await bareSegments(
        segmentRunArgs(withPreset, 'v0', 0),
        path.join(work, `preset-${preset}`),
        0,
        PRESET_SEGMENTS,
      );
      const seconds = p.segments.slice(0, PRESET_SEGMENTS).reduce((sum, s) => sum + s.durationSec, 0);
      return seconds / (ms / 1000);
    };
    const chosenSpeed = await presetSpeed(top?.preset ?? 'veryfast');
    const veryfastSpeed = await presetSpeed('veryfast');
    ctx.log(
      `1080p rendition: ${top?.preset} ${chosenSpeed.toFixed(2)}x, veryfast ${veryfastSpeed.toFixed(2)}x real time`,
    );

    // The whole stream as the background job makes it, against today's full job (one ffmpeg, all renditions).
    const wholeHash = roundHash(hash, 'whole');
    const wholeMs = await withTranscoder(bus, source, path.join(work, 'ours-whole'), async () => {
      let ready = 0;
      let failure: string | undefined;
      const sub = await busRef.subscribe<VideoStatusEvent>('video.status', (event) => {
        if (event.contentHash !== wholeHash || event.kind !== 'hls') return;
        if (event.state === 'ready') ready = performance.now();
        if (event.state === 'failed') failure = event.error;
      });
      try {
        const t0 = performance.now();
        await enqueueVideoJob(busRef, 'hls', jobFor(wholeHash));
        while (!ready) {
          if (failure) throw new Error(failure);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        return ready - t0;
      } finally {
        await sub.unsubscribe();
      }
    });
    const facts = await probeSource(source);
    const oldDir = path.join(work, 'old-full-job');
    await fs.mkdir(oldDir, { recursive: true });
    let t0 = performance.now();
    await ffmpeg(hlsFfmpegArgs(source, facts, planHls(facts)), oldDir);
    const oldMs = performance.now() - t0;
    t0 = 0;
    ctx.log(`whole stream: ${Math.round(wholeMs)} ms (today's full job, bare: ${Math.round(oldMs)} ms)`);

    const med = (key: keyof Round) => median(rounds.map((r) => r[key]));
    const name = `${SECONDS} s 1080p HEVC, ${p.renditions.map((r) => `${r.height}p`).join(' + ')}`;
    const sameArgs = 'bare ffmpeg, same arguments, same position';
    return [
      row({
        name,
        metric: 'request -> first segment on disk (plan + segment 0, over NATS)',
        value: med('firstMs'),
        unit: 'ms',
        baseline: sameArgs,
        baselineValue: med('bareFirstMs'),
        note: `lower is better; ${Math.round(med('firstMs') - med('bareFirstMs'))} ms over bare; target <= bare + 300 ms and < 2000 ms`,
      }),
      row({
        name,
        metric: 'seek to 80% -> first segment there',
        value: med('seekMs'),
        unit: 'ms',
        baseline: sameArgs,
        baselineValue: med('bareSeekMs'),
        note: `lower is better; ${Math.round(med('seekMs') - med('bareSeekMs'))} ms over bare; target <= bare + 300 ms and < 2000 ms`,
      }),
      row({
        name,
        metric: `1080p rendition, x264 ${top?.preset ?? '?'}, x real time (${PRESET_SEGMENTS} segments)`,
        value: chosenSpeed,
        unit: 'x',
        baseline: 'the same with x264 veryfast (the first preset)',
        baselineValue: veryfastSpeed,
        note: 'higher is better; target > 1 (faster than real time)',
      }),
      row({
        name,
        metric: 'whole stream (background job, every rendition), x real time',
        value: SECONDS / (wholeMs / 1000),
        unit: 'x',
        baseline: "today's full job: one bare ffmpeg writing every rendition",
        baselineValue: SECONDS / (oldMs / 1000),
        note: `higher is better; ${Math.round(wholeMs)} ms vs ${Math.round(oldMs)} ms`,
      }),
    ];
  } finally {
    await bus?.close().catch(() => undefined);
    await deleteBusPrefix(ctx.natsUrl, prefix).catch(() => undefined);
    await fs.rm(work, { recursive: true, force: true });
  }
}

const benchmark: Benchmark = {
  title: 'Instant video: HLS segments on demand',
  description:
    `A ${SECONDS} s 1080p30 HEVC+AAC clip made with ffmpeg. Over NATS request/reply, as the api asks: the time ` +
    'from the request to the first segment on disk (stream plan, i.e. ffprobe, plus segment 0), and from a ' +
    'seek to 80% to that segment; each in a fresh data folder, ' +
    `${ROUNDS} rounds, medians. Baseline: bare ffmpeg with the very arguments of the segment run, from the ` +
    'same position, timed until its first segment is complete. Then the x264 preset of the 1080p rendition ' +
    'against veryfast (bare ffmpeg, 3 segments), and the whole stream as the background job makes it ' +
    "(one run per rendition) against today's full job (one bare ffmpeg for every rendition).",
  run: runBenchmark,
};

export default benchmark;
