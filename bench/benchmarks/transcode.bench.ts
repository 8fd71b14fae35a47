/**
 * Transcoder: request -> playable HLS playlist, and request -> every output (HLS, preview clip, GIF),
 * for a 1080p H.264 clip (remux path) and a 1080p HEVC clip (transcode path), against the bare ffmpeg
 * commands doing the same work in the same run.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Bus, createMemoryBus, createNatsBus, deleteBusPrefix } from '@lumen/bus';
import { parseConfig, type VideoJob, type VideoStatusEvent } from '@lumen/core';
import { hashFile } from '@lumen/media';
import { createLogger } from '@lumen/runtime';
import {
  clipWindow,
  hlsFfmpegArgs,
  planHls,
  previewFfmpegArgs,
  probeSource,
  type SourceFacts,
  start,
} from '@lumen/transcoder';
import { enqueueVideoJob } from '@lumen/video';
import { type BenchContext, type Benchmark, type BenchRow, row } from '../benchmark.ts';
import { median } from '../stats.ts';

/** Clip length, seconds (TRANSCODE_BENCH_SECONDS to try the bench quickly). */
const SECONDS = Number(process.env.TRANSCODE_BENCH_SECONDS ?? 60);
/** Remuxing takes well under a second: many rounds. */
const REMUX_ROUNDS = 5;
/** A 1080p transcode takes minutes here: one round unless TRANSCODE_BENCH_ROUNDS says otherwise. */
const TRANSCODE_ROUNDS = Number(process.env.TRANSCODE_BENCH_ROUNDS ?? 1);
const FFMPEG_TIMEOUT_MS = 30 * 60 * 1000;

/** One round of one path: both scenarios, ms. */
interface Timing {
  /** HLS job alone (a viewer asks for a stream): request -> master playlist playable. */
  playableMs: number;
  /** Both jobs at once (a new video was ingested): enqueue -> HLS playable ... */
  ingestPlayableMs: number;
  /** ... and -> HLS folder, preview clip and GIF all there. */
  ingestTotalMs: number;
}

/** Runs a command to completion (stderr kept for the error); rejects on a non-zero exit or a timeout. */
function run(command: string, args: string[], cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + String(chunk)).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), FFMPEG_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}): ${stderr}`));
    });
  });
}

function ffmpeg(args: string[], cwd?: string): Promise<void> {
  return run('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], cwd);
}

async function makeClips(dir: string): Promise<{ h264: string; hevc: string }> {
  const h264 = path.join(dir, 'clip-h264.mp4');
  const hevc = path.join(dir, 'clip-hevc.mp4');
  const source = [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=1920x1080:rate=30:duration=${SECONDS}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${SECONDS}`,
  ];
  await ffmpeg([
    ...source,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-crf',
    '23',
    '-g',
    '60',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    h264,
  ]);
  await ffmpeg([
    ...source,
    '-c:v',
    'libx265',
    '-preset',
    'ultrafast',
    '-x265-params',
    'log-level=error',
    '-pix_fmt',
    'yuv420p',
    '-tag:v',
    'hvc1',
    '-c:a',
    'aac',
    '-shortest',
    hevc,
  ]);
  return { h264, hevc };
}

/**
 * The baseline: the same ffmpeg commands the transcoder runs (same arguments), first the HLS one
 * alone, then HLS and preview started together, as ingest starts both jobs.
 */
async function bareFfmpeg(source: string, facts: SourceFacts, dir: string): Promise<Timing> {
  const hlsArgs = hlsFfmpegArgs(source, facts, planHls(facts));
  const previewArgs = (out: string) =>
    previewFfmpegArgs(
      source,
      facts,
      clipWindow(facts.durationSec),
      path.join(out, 'clip.mp4'),
      path.join(out, 'thumb.gif'),
    );
  const alone = path.join(dir, 'alone');
  const together = path.join(dir, 'together');
  await fs.mkdir(alone, { recursive: true });
  await fs.mkdir(together, { recursive: true });

  let t0 = performance.now();
  await ffmpeg(hlsArgs, alone);
  const playableMs = performance.now() - t0;

  t0 = performance.now();
  let ingestPlayableMs = 0;
  const hls = ffmpeg(hlsArgs, together).then(() => {
    ingestPlayableMs = performance.now() - t0;
  });
  await Promise.all([hls, ffmpeg(previewArgs(together))]);
  return { playableMs, ingestPlayableMs, ingestTotalMs: performance.now() - t0 };
}

/** Enqueues `kinds` for `contentHash` at once and resolves the ms until each one's `ready` event. */
async function timeJobs(bus: Bus, job: VideoJob, kinds: ('hls' | 'preview')[]): Promise<Map<string, number>> {
  const ready = new Map<string, number>();
  let failure: string | undefined;
  const sub = await bus.subscribe<VideoStatusEvent>('video.status', (event) => {
    if (event.contentHash !== job.contentHash) return;
    if (event.state === 'ready') ready.set(event.kind, performance.now());
    if (event.state === 'failed') failure = event.error;
  });
  try {
    const t0 = performance.now();
    await Promise.all(kinds.map((kind) => enqueueVideoJob(bus, kind, job)));
    while (ready.size < kinds.length) {
      if (failure) throw new Error(`transcoder failed: ${failure}`);
      if (performance.now() - t0 > FFMPEG_TIMEOUT_MS) throw new Error('transcoder timed out');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return new Map([...ready].map(([kind, at]) => [kind, at - t0]));
  } finally {
    await sub.unsubscribe();
  }
}

/** The transcoder, timed from the enqueue to its `ready` events: the HLS job alone, then both jobs. */
async function transcoder(
  bus: Bus,
  source: string,
  hashes: [string, string],
  dataDir: string,
): Promise<Timing> {
  const config = parseConfig({ DATA_DIR: dataDir, LIBRARIES: `bench=${path.dirname(source)}` }, dataDir);
  const handle = await start({
    config,
    bus,
    logger: createLogger({ level: 'silent', name: 'bench' }),
    options: { concurrency: 1, enqueueOnIngest: false },
  });
  const jobFor = (contentHash: string): VideoJob => ({
    contentHash,
    sourcePath: source,
    library: 'bench',
    relPath: path.basename(source),
    requestedAt: new Date().toISOString(),
  });
  try {
    const alone = await timeJobs(bus, jobFor(hashes[0]), ['hls']);
    const together = await timeJobs(bus, jobFor(hashes[1]), ['hls', 'preview']);
    return {
      playableMs: alone.get('hls') ?? Number.NaN,
      ingestPlayableMs: together.get('hls') ?? Number.NaN,
      ingestTotalMs: Math.max(...together.values()),
    };
  } finally {
    await handle.stop();
  }
}

/** Content hashes must differ per round so nothing is a no-op (the file itself is the same). */
function roundHash(base: string, round: number, label: string): string {
  const hex = base.slice(base.indexOf(':') + 1);
  const salt = `${label}-${round}`.split('').reduce((n, c) => (n * 31 + c.charCodeAt(0)) >>> 0, 7);
  return `xxh3-128:${salt.toString(16).padStart(8, '0')}${hex.slice(8)}`;
}

interface PathResult {
  ours: Timing[];
  bare: Timing[];
}

async function measurePath(
  ctx: BenchContext,
  label: string,
  source: string,
  buses: [string, Bus][],
  rounds: number,
  work: string,
): Promise<Map<string, PathResult>> {
  const facts = await probeSource(source);
  const plan = planHls(facts);
  ctx.log(
    `${label}: ${plan.mode}, renditions ${plan.renditions.map((r) => `${r.width}x${r.height}`).join(' + ')}`,
  );
  const hash = await hashFile(source);
  const results = new Map<string, PathResult>(buses.map(([name]) => [name, { ours: [], bare: [] }]));
  for (let round = 1; round <= rounds; round++) {
    for (const [name, bus] of buses) {
      const result = results.get(name)!;
      // Interleaved, so a noisy moment on the shared machine hits both sides alike.
      const bareDir = path.join(work, `bare-${label}-${name}-${round}`);
      const bare = await bareFfmpeg(source, facts, bareDir);
      await fs.rm(bareDir, { recursive: true, force: true });
      const dataDir = path.join(work, `ours-${label}-${name}-${round}`);
      const hashes: [string, string] = [
        roundHash(hash, round, `${label}-${name}-alone`),
        roundHash(hash, round, `${label}-${name}-together`),
      ];
      const ours = await transcoder(bus, source, hashes, dataDir);
      await fs.rm(dataDir, { recursive: true, force: true });
      result.bare.push(bare);
      result.ours.push(ours);
      const ms = (n: number) => Math.round(n);
      ctx.log(
        `round ${round} ${label} over ${name}: playable ${ms(ours.playableMs)} ms (bare ${ms(bare.playableMs)}); ` +
          `with preview: playable ${ms(ours.ingestPlayableMs)} (bare ${ms(bare.ingestPlayableMs)}), ` +
          `all ${ms(ours.ingestTotalMs)} (bare ${ms(bare.ingestTotalMs)})`,
      );
    }
  }
  return results;
}

function rowsFor(pathLabel: string, busLabel: string, result: PathResult, target: string): BenchRow[] {
  const med = (timings: Timing[], key: keyof Timing) => median(timings.map((t) => t[key]));
  const speed = (ms: number) => SECONDS / (ms / 1000);
  const name = `${pathLabel} (${busLabel})`;
  const baseline = 'bare ffmpeg, same commands';
  const ours = (key: keyof Timing) => med(result.ours, key);
  const bare = (key: keyof Timing) => med(result.bare, key);
  const overhead = Math.round(ours('playableMs') - bare('playableMs'));
  return [
    row({
      name,
      metric: 'request -> playable playlist (HLS job alone)',
      value: ours('playableMs'),
      unit: 'ms',
      baseline,
      baselineValue: bare('playableMs'),
      note: `lower is better; ${overhead} ms over bare ffmpeg; ${target}`,
    }),
    row({
      name,
      metric: 'request -> playable playlist, x real time',
      value: speed(ours('playableMs')),
      unit: 'x',
      baseline,
      baselineValue: speed(bare('playableMs')),
      note: 'higher is better',
    }),
    row({
      name,
      metric: 'ingest (HLS + preview jobs at once) -> playable playlist',
      value: ours('ingestPlayableMs'),
      unit: 'ms',
      baseline,
      baselineValue: bare('ingestPlayableMs'),
      note: 'lower is better; the preview runs at lower CPU priority (nice 10), bare ffmpeg does not',
    }),
    row({
      name,
      metric: 'ingest -> HLS + preview clip + GIF, x real time',
      value: speed(ours('ingestTotalMs')),
      unit: 'x',
      baseline,
      baselineValue: speed(bare('ingestTotalMs')),
      note: `higher is better; ${Math.round(ours('ingestTotalMs'))} ms vs ${Math.round(bare('ingestTotalMs'))} ms`,
    }),
  ];
}

async function runBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-bench-transcode-'));
  const prefix = `bench_tc_${randomBytes(4).toString('hex')}`;
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  let natsBus: Bus | undefined;
  let memoryBus: Bus | undefined;
  try {
    ctx.log(`making ${SECONDS} s 1080p H.264 and HEVC clips`);
    const clips = await makeClips(work);
    natsBus = await createNatsBus({ servers: ctx.natsUrl, prefix, logger: quiet });
    memoryBus = createMemoryBus({ logger: quiet });
    const remux = await measurePath(
      ctx,
      'remux',
      clips.h264,
      [
        ['JetStream', natsBus],
        ['in-process bus', memoryBus],
      ],
      REMUX_ROUNDS,
      work,
    );
    const transcode = await measurePath(
      ctx,
      'transcode',
      clips.hevc,
      [['JetStream', natsBus]],
      TRANSCODE_ROUNDS,
      work,
    );
    const remuxTarget = 'target: within bare ffmpeg + 300 ms';
    return [
      ...rowsFor('1080p H.264 remux', 'JetStream', remux.get('JetStream')!, remuxTarget),
      ...rowsFor('1080p H.264 remux', 'in-process bus', remux.get('in-process bus')!, remuxTarget),
      ...rowsFor(
        '1080p HEVC transcode',
        'JetStream',
        transcode.get('JetStream')!,
        'target: speed >= 0.9 of bare ffmpeg',
      ),
    ];
  } finally {
    await Promise.allSettled([natsBus?.close(), memoryBus?.close()]);
    await deleteBusPrefix(ctx.natsUrl, prefix).catch(() => undefined);
    await fs.rm(work, { recursive: true, force: true });
  }
}

const benchmark: Benchmark = {
  title: 'Transcoder: time to a playable HLS stream',
  description:
    `A ${SECONDS} s 1080p30 H.264+AAC clip (remux path: video and audio copied into 4 s MPEG-TS segments) and ` +
    `a ${SECONDS} s 1080p30 HEVC+AAC clip (transcode path: libx264 veryfast, 1080p and 720p renditions), both ` +
    'made with ffmpeg in a temp folder. Timed from the enqueue to the `ready` events: the HLS job alone ' +
    '(a viewer asks for the stream; the folder is published atomically, so playable means complete), then ' +
    'the HLS and preview (3 s 480 px clip + 320 px GIF) jobs enqueued together, as an ingested video gets them. ' +
    'Baseline: the same ffmpeg commands (same arguments) run the same way, in the same run, interleaved ' +
    `with ours. Remux: ${REMUX_ROUNDS} rounds per bus; transcode: ${TRANSCODE_ROUNDS} round(s) over JetStream; ` +
    'medians. Speeds are media seconds per wall-clock second (x real time).',
  run: runBenchmark,
};

export default benchmark;
