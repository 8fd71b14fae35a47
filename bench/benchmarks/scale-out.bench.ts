/**
 * Scale-out (issue 15 item 10): what a second transcoder process and PostgreSQL buy, and what a
 * crashed transcoder costs.
 *
 * 1. Transcode throughput: LUMEN_BENCH_SCALEOUT_CLIPS (default 12) background HLS jobs for a short
 *    720p clip that must be transcoded (H.264 4:4:4, so not copied) on one NATS queue, consumed by
 *    one transcoder process, then by two (each TRANSCODE_CONCURRENCY=1, each pinned to its own CPU
 *    with taskset so "the cores given" is what it says; LUMEN_BENCH_SCALEOUT_PIN=0 to not pin).
 *    Clips per minute from the enqueue to the last `ready` status. Baseline: the one-process run.
 * 2. `GET /photos` p99 on PostgreSQL against SQLite, LUMEN_BENCH_SCALEOUT_ROWS (default 100,000)
 *    rows of the photos-api data set in each, through the real api in-process over loopback, wrk
 *    as in photos-api (LUMEN_BENCH_API_SECONDS, LUMEN_BENCH_API_ROUNDS). Baseline: SQLite.
 * 3. Crash to redelivery: two transcoder processes on one queue; the one that takes the HLS job is
 *    SIGKILLed as soon as it starts on it; the time until the other one starts the job (its `running`
 *    status on the bus), with TRANSCODE_ACK_WAIT_SECONDS at its default 15
 *    (LUMEN_BENCH_SCALEOUT_ACK_WAIT_SECONDS to try it faster). LUMEN_BENCH_SCALEOUT_CRASH_ROUNDS
 *    (default 3) rounds, median. Baseline: the ack wait itself.
 *
 * Real NATS (NATS_URL, a fresh prefix per run), real PostgreSQL (a fresh database, dropped after),
 * real transcoder processes (apps/transcoder/src/main.ts). LUMEN_BENCH_SCALEOUT_PARTS picks parts
 * (comma-separated: transcode, photos, redelivery; default all).
 *
 *   pnpm bench scale-out
 *   LUMEN_BENCH_SCALEOUT_CLIPS=4 LUMEN_BENCH_SCALEOUT_ROWS=5000 LUMEN_BENCH_API_SECONDS=2 \
 *     LUMEN_BENCH_API_ROUNDS=1 LUMEN_BENCH_SCALEOUT_CRASH_ROUNDS=1 pnpm bench -- --dry scale-out
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createApp } from '@lumen/api';
import { createMemoryBus, createNatsBus, deleteBusPrefix, type NatsBus } from '@lumen/bus';
import { type Config, parseConfig, type VideoJob, type VideoStatusEvent, withTimeout } from '@lumen/core';
import { type Database, openDatabase } from '@lumen/db';
import { freshPostgresDatabase } from '@lumen/test-support';
import { enqueueVideoJob } from '@lumen/video';
import { sql } from 'kysely';
import { type BenchContext, type Benchmark, type BenchRow, positiveInt, row } from '../benchmark.ts';
import {
  benchUserToken,
  closeServer,
  type Load,
  listen,
  measureLoad,
  nodeServerFor,
  requireWrk,
  silentLogger,
} from '../fixtures/http-load.ts';
import { DEFAULT_PHOTO_ROWS, loadRows } from '../fixtures/photo-rows.ts';
import { spawnTranscoder, type TranscoderProcess } from '../fixtures/transcoder-process.ts';
import { median } from '../stats.ts';

const PARTS = new Set(
  (process.env.LUMEN_BENCH_SCALEOUT_PARTS ?? 'transcode,photos,redelivery')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean),
);
for (const part of PARTS) {
  if (!['transcode', 'photos', 'redelivery'].includes(part))
    throw new Error(`LUMEN_BENCH_SCALEOUT_PARTS: unknown part ${part} (transcode, photos, redelivery)`);
}

const CLIPS = positiveInt('LUMEN_BENCH_SCALEOUT_CLIPS', 12);
const CLIP_SECONDS = positiveInt('LUMEN_BENCH_SCALEOUT_CLIP_SECONDS', 8);
const CLIP_SIZE = '1280x720';
const PIN = process.env.LUMEN_BENCH_SCALEOUT_PIN !== '0';
const PROCESSES = 2;

const PHOTO_ROWS = positiveInt('LUMEN_BENCH_SCALEOUT_ROWS', DEFAULT_PHOTO_ROWS.rows);
const PHOTO_SHAPE = {
  rows: PHOTO_ROWS,
  tags: DEFAULT_PHOTO_ROWS.tags,
  tagLinks: Math.round((PHOTO_ROWS * DEFAULT_PHOTO_ROWS.tagLinks) / DEFAULT_PHOTO_ROWS.rows),
};
const LOAD_PLAN = {
  connections: 16,
  warmupSeconds: 2,
  rounds: positiveInt('LUMEN_BENCH_API_ROUNDS', 3),
  seconds: positiveInt('LUMEN_BENCH_API_SECONDS', 5),
};
const QUERIES: [string, string][] = [
  ['date range (2015, one year)', 'date_from=2015-01-01&date_to=2015-12-31'],
  ['GPS radius 10 km (Paris)', 'gps_lat=48.8566&gps_lon=2.3522&gps_radius_km=10'],
  ['camera make (Canon)', 'camera_make=canon'],
  ['tags any of 3', 'tag_ids=3,17,41&tag_mode=any'],
  ['DateTakenDesc, page of 50', 'sort=DateTakenDesc&limit=50'],
  ['Shuffle, page of 10', 'sort=Shuffle&seed=bench&limit=10'],
];
const SECRET = 'bench-secret-key-0123456789abcdef-0123456789';

const CRASH_ROUNDS = positiveInt('LUMEN_BENCH_SCALEOUT_CRASH_ROUNDS', 3);
const ACK_WAIT_SECONDS = positiveInt('LUMEN_BENCH_SCALEOUT_ACK_WAIT_SECONDS', 15);

const FFMPEG_TIMEOUT_MS = 5 * 60_000;
/** One clip's HLS job on one CPU takes seconds; this is far beyond any healthy run. */
const PER_CLIP_TIMEOUT_MS = 120_000;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function ffmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + String(chunk)).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), FFMPEG_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg ${args.join(' ')} failed (${code ?? signal}): ${stderr}`));
    });
  });
}

/**
 * A short 720p30 clip with audio whose video must be transcoded: H.264 in 4:4:4 is not one of the
 * formats HLS copies, so the transcoder encodes it (libx264, one 720p rendition).
 */
async function makeClip(file: string): Promise<void> {
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${CLIP_SIZE}:rate=30:duration=${CLIP_SECONDS}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${CLIP_SECONDS}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv444p',
    '-c:a',
    'aac',
    '-shortest',
    file,
  ]);
}

/** A distinct, valid content hash per (run, clip): outputs are keyed by it, so none is a no-op. */
function hashFor(run: string, i: number): string {
  return `xxh3-128:${createHash('sha256').update(`${run}:${i}`).digest('hex').slice(0, 32)}`;
}

/** The clip's library and where it is, as the transcoders see them. */
interface ClipSource {
  libraryDir: string;
  relPath: string;
}

function jobFor(clip: ClipSource, contentHash: string): VideoJob {
  return {
    contentHash,
    sourcePath: path.join(clip.libraryDir, clip.relPath),
    library: 'bench',
    relPath: clip.relPath,
    requestedAt: new Date().toISOString(),
  };
}

/** A fresh bus prefix, a data folder and transcoder processes on it; everything torn down by `close`. */
async function transcoderFleet(
  ctx: BenchContext,
  label: string,
  work: string,
  clip: ClipSource,
  cpus: (string | undefined)[],
): Promise<{
  prefix: string;
  bus: NatsBus;
  processes: TranscoderProcess[];
  statuses: (VideoStatusEvent & { receivedAt: number })[];
  close(): Promise<void>;
}> {
  const prefix = `bench_so_${randomBytes(4).toString('hex')}`;
  const dataDir = path.join(work, `data-${label}-${prefix}`);
  await fs.mkdir(dataDir, { recursive: true });
  const processes: TranscoderProcess[] = [];
  const statuses: (VideoStatusEvent & { receivedAt: number })[] = [];
  let bus: NatsBus | undefined;
  const close = async () => {
    await Promise.allSettled(processes.map((p) => p.stop()));
    await bus?.close().catch(() => undefined);
    await withTimeout(deleteBusPrefix(ctx.natsUrl, prefix), 15_000, 'deleting the bus prefix').catch(
      (err: unknown) => ctx.log(`could not delete bus prefix ${prefix}: ${String(err)}`),
    );
    await fs.rm(dataDir, { recursive: true, force: true });
  };
  try {
    bus = await createNatsBus({ servers: ctx.natsUrl, prefix, logger: quiet });
    await bus.subscribe<VideoStatusEvent>('video.status', (event) => {
      statuses.push({ ...event, receivedAt: performance.now() });
    });
    const env = {
      INIT_CWD: dataDir,
      DATA_DIR: dataDir,
      LIBRARIES: `bench=${clip.libraryDir}`,
      NATS_URL: ctx.natsUrl,
      BUS_PREFIX: prefix,
      TRANSCODE_CONCURRENCY: '1',
      TRANSCODE_ACK_WAIT_SECONDS: String(ACK_WAIT_SECONDS),
    };
    const spawned = await Promise.allSettled(
      cpus.map((cpu, i) =>
        spawnTranscoder({ label: `${label}-${i + 1}`, env, ...(cpu === undefined ? {} : { cpus: cpu }) }),
      ),
    );
    for (const result of spawned) if (result.status === 'fulfilled') processes.push(result.value);
    const failed = spawned.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return { prefix, bus, processes, statuses, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Enqueues every clip's HLS job at once; ms until all are `ready`, and how many each process made. */
async function throughputRun(
  ctx: BenchContext,
  label: string,
  work: string,
  clip: ClipSource,
  cpus: (string | undefined)[],
): Promise<{ ms: number; perProcess: number[] }> {
  const fleet = await transcoderFleet(ctx, label, work, clip, cpus);
  try {
    const hashes = new Set(Array.from({ length: CLIPS }, (_, i) => hashFor(fleet.prefix, i)));
    const t0 = performance.now();
    for (const hash of hashes) await enqueueVideoJob(fleet.bus, 'hls', jobFor(clip, hash));
    const deadline = t0 + CLIPS * PER_CLIP_TIMEOUT_MS;
    for (;;) {
      const mine = fleet.statuses.filter((s) => hashes.has(s.contentHash));
      // A failed attempt is retried after a 15 s backoff (`queued` with the error): no throughput then.
      const failure = mine.find((s) => s.state === 'failed' || (s.state === 'queued' && s.error));
      if (failure) throw new Error(`${label}: HLS job failed: ${failure.error}`);
      const ready = new Set(mine.filter((s) => s.state === 'ready').map((s) => s.contentHash));
      if (ready.size === hashes.size) {
        const last = Math.max(...mine.filter((s) => s.state === 'ready').map((s) => s.receivedAt));
        const perProcess = fleet.processes.map((p) => p.lines.filter((l) => l.msg === 'HLS ready').length);
        return { ms: last - t0, perProcess };
      }
      if (performance.now() > deadline)
        throw new Error(`${label}: ${ready.size} of ${CLIPS} clips ready in time`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await fleet.close();
  }
}

async function transcodeThroughput(ctx: BenchContext, work: string, clip: ClipSource): Promise<BenchRow[]> {
  if (PIN && os.availableParallelism() < PROCESSES)
    throw new Error(`pinning ${PROCESSES} transcoders to a CPU each needs ${PROCESSES} CPUs`);
  const cpuOf = (i: number) => (PIN ? String(i) : undefined);
  const one = await throughputRun(ctx, '1proc', work, clip, [cpuOf(0)]);
  const perMin = (ms: number) => CLIPS / (ms / 60_000);
  ctx.log(`1 transcoder: ${CLIPS} clips in ${Math.round(one.ms)} ms (${perMin(one.ms).toFixed(1)}/min)`);
  const two = await throughputRun(
    ctx,
    '2proc',
    work,
    clip,
    Array.from({ length: PROCESSES }, (_, i) => cpuOf(i)),
  );
  ctx.log(
    `${PROCESSES} transcoders: ${CLIPS} clips in ${Math.round(two.ms)} ms (${perMin(two.ms).toFixed(1)}/min), ` +
      `made per process: ${two.perProcess.join(' + ')}`,
  );
  const pinning = PIN ? 'each pinned to its own CPU' : 'not pinned';
  return [
    row({
      name: `${CLIPS} background HLS jobs (${CLIP_SECONDS} s ${CLIP_SIZE} H.264 4:4:4 -> libx264), one queue`,
      metric: `throughput, ${PROCESSES} transcoder processes (TRANSCODE_CONCURRENCY=1, ${pinning})`,
      value: perMin(two.ms),
      unit: 'clips/min',
      baseline: `1 transcoder process (TRANSCODE_CONCURRENCY=1${PIN ? ', 1 CPU' : ''})`,
      baselineValue: perMin(one.ms),
      note: `higher is better; expect close to the cores given (${PROCESSES}); jobs per process ${two.perProcess.join(' + ')}`,
    }),
  ];
}

/** One database with the photo rows, the api over loopback and a bearer token. */
interface PhotoServer {
  label: string;
  url: string;
  token: string;
  close(): Promise<void>;
}

async function photoServer(
  ctx: BenchContext,
  label: string,
  base: string,
  env: Record<string, string>,
  analyze: boolean,
): Promise<PhotoServer> {
  const dir = path.join(base, label);
  const root = path.join(dir, 'library');
  await fs.mkdir(root, { recursive: true });
  const config: Config = parseConfig(
    { DATA_DIR: path.join(dir, 'data'), SECRET_KEY: SECRET, LOG_LEVEL: 'silent', ...env },
    dir,
  );
  const bus = createMemoryBus({ logger: quiet });
  let database: Database | undefined;
  let server: http.Server | undefined;
  const close = async () => {
    if (server) await closeServer(server);
    await bus.close();
    await database?.close().catch(() => undefined);
  };
  try {
    database = await openDatabase(config.database);
    const library = await database.db
      .insertInto('libraries')
      .values({ name: 'main', root, created_at: new Date().toISOString() })
      .returning('id')
      .executeTakeFirstOrThrow();
    const started = performance.now();
    await loadRows(
      database,
      Number(library.id),
      { ...ctx, log: (m) => ctx.log(`${label}: ${m}`) },
      PHOTO_SHAPE,
    );
    if (analyze) {
      // What autovacuum does shortly after a bulk load; done now so the run does not depend on when
      // (or whether: the test server runs with autovacuum off). Since PostgreSQL 13 autovacuum also
      // vacuums a table after many inserts, which sets the visibility map: without it every
      // index-only scan reads the table too (the tag filter's COUNT took 2.3x the CPU).
      for (const table of ['image_exif', 'tags', 'tagged_photo'])
        await sql`VACUUM (ANALYZE) ${sql.table(table)}`.execute(database.db);
    }
    ctx.log(`${label}: loaded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const app = createApp({ config, database, bus, logger: silentLogger() });
    server = nodeServerFor(app);
    const url = await listen(server);
    const token = await benchUserToken(database, url);
    return { label, url, token, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function photosPostgresVsSqlite(ctx: BenchContext, work: string): Promise<BenchRow[]> {
  await requireWrk();
  const postgres = await freshPostgresDatabase();
  const servers: PhotoServer[] = [];
  try {
    const sqlite = await photoServer(ctx, 'SQLite', work, {}, false);
    servers.push(sqlite);
    const pg = await photoServer(ctx, 'PostgreSQL', work, { DATABASE_URL: postgres.url }, true);
    servers.push(pg);
    const rows: BenchRow[] = [];
    for (const [label, query] of QUERIES) {
      const answers: string[] = [];
      for (const server of [sqlite, pg]) {
        const res = await fetch(`${server.url}/photos?${query}`, {
          headers: { Authorization: `Bearer ${server.token}` },
          signal: AbortSignal.timeout(60_000),
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`${server.label} /photos?${query}: ${res.status} ${text}`);
        const answer = JSON.parse(text) as { items: unknown[]; total: number };
        answers.push(`${server.label} ${answer.total} matches, ${answer.items.length} items`);
      }
      ctx.log(`${label}: ${answers.join('; ')}`);
      // SQLite first, then PostgreSQL, query by query: a noisy moment hits one query, not one engine.
      const loads = new Map<string, Load>();
      for (const server of [sqlite, pg])
        loads.set(server.label, await measureLoad(`${server.url}/photos?${query}`, server.token, LOAD_PLAN));
      const s = loads.get('SQLite')!;
      const p = loads.get('PostgreSQL')!;
      ctx.log(
        `${label}: p99 PostgreSQL ${p.p99Ms} ms vs SQLite ${s.p99Ms} ms; p50 ${p.p50Ms} vs ${s.p50Ms}; ${p.perSecond} vs ${s.perSecond} req/s`,
      );
      rows.push(
        row({
          name: `/photos ${label}, ${PHOTO_ROWS.toLocaleString('en-US')} rows`,
          metric: `p99 latency on PostgreSQL, ${LOAD_PLAN.connections} connections`,
          value: p.p99Ms,
          unit: 'ms',
          baseline: 'the same on SQLite',
          baselineValue: s.p99Ms,
          note: `lower is better; p50 ${p.p50Ms} vs ${s.p50Ms} ms, ${p.perSecond} vs ${s.perSecond} req/s; worst round p99 ${p.worstP99Ms} vs ${s.worstP99Ms} ms`,
        }),
      );
    }
    return rows;
  } finally {
    for (const server of servers) await server.close();
    await withTimeout(postgres.drop(), 30_000, 'dropping the benchmark database').catch((err: unknown) =>
      ctx.log(`could not drop the PostgreSQL database: ${String(err)}`),
    );
  }
}

/**
 * One crash: two transcoders on one queue, one HLS job; the transcoder that logs `making HLS` for it
 * is SIGKILLed at once; resolves with the ms from the kill to the other one's first `running`
 * status for the job (and from the first delivery's `running` to that, for reference).
 */
async function crashRound(
  ctx: BenchContext,
  round: number,
  work: string,
  clip: ClipSource,
): Promise<{ killToRedeliveryMs: number; deliveryToRedeliveryMs: number; deliveryToKillMs: number }> {
  const fleet = await transcoderFleet(ctx, `crash${round}`, work, clip, [undefined, undefined]);
  try {
    const hash = hashFor(fleet.prefix, 0);
    await enqueueVideoJob(fleet.bus, 'hls', jobFor(clip, hash));
    const started = (l: { msg?: string; contentHash?: unknown }) =>
      l.msg === 'making HLS' && l.contentHash === hash;
    // Whichever takes it: the other one's wait fails once the first has answered.
    const holder = await Promise.any(
      fleet.processes.map((p) => p.waitForLine(started, 'making HLS', 60_000).then(() => p)),
    );
    const survivor = fleet.processes.find((p) => p !== holder)!;
    const killedAt = await holder.crash();
    const firstRunning = fleet.statuses.find((s) => s.contentHash === hash && s.state === 'running');
    const deadline = killedAt + ACK_WAIT_SECONDS * 1000 * 3 + 30_000;
    for (;;) {
      const again = fleet.statuses.find(
        (s) => s.contentHash === hash && s.state === 'running' && s.receivedAt > killedAt,
      );
      if (again) {
        const line = await survivor.waitForLine(
          (l) => started(l) && l.attempt === 2,
          'making HLS, attempt 2',
          30_000,
        );
        ctx.log(
          `crash round ${round}: redelivered ${Math.round(again.receivedAt - killedAt)} ms after the kill ` +
            `(survivor's log: ${Math.round(line.at - killedAt)} ms, attempt ${String(line.attempt)})`,
        );
        return {
          killToRedeliveryMs: again.receivedAt - killedAt,
          deliveryToRedeliveryMs: firstRunning ? again.receivedAt - firstRunning.receivedAt : Number.NaN,
          deliveryToKillMs: firstRunning ? killedAt - firstRunning.receivedAt : Number.NaN,
        };
      }
      if (performance.now() > deadline)
        throw new Error(`crash round ${round}: the job was never redelivered`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await fleet.close();
  }
}

async function crashToRedelivery(ctx: BenchContext, work: string, clip: ClipSource): Promise<BenchRow[]> {
  const rounds = [];
  for (let round = 1; round <= CRASH_ROUNDS; round++) rounds.push(await crashRound(ctx, round, work, clip));
  const ackWaitMs = ACK_WAIT_SECONDS * 1000;
  const ms = (n: number) => Math.round(n);
  return [
    row({
      name: 'transcoder SIGKILLed as it starts an HLS job, 2 transcoders on one queue',
      metric: `kill -> the other transcoder starts the job (its running status), median of ${CRASH_ROUNDS}`,
      value: median(rounds.map((r) => r.killToRedeliveryMs)),
      unit: 'ms',
      baseline: `TRANSCODE_ACK_WAIT_SECONDS (${ACK_WAIT_SECONDS} s)`,
      baselineValue: ackWaitMs,
      note:
        `lower is better; expect ~1: the bus redelivers an unacked job after the ack wait; rounds ${rounds.map((r) => ms(r.killToRedeliveryMs)).join(', ')} ms; ` +
        `killed ${rounds.map((r) => ms(r.deliveryToKillMs)).join(', ')} ms after its running status, before a heartbeat extended the job ` +
        `(a kill later in a job waits 2/3 to all of the ack wait after the last heartbeat)`,
    }),
  ];
}

async function runBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-bench-scale-out-'));
  try {
    const rows: BenchRow[] = [];
    let clip: ClipSource | undefined;
    if (PARTS.has('transcode') || PARTS.has('redelivery')) {
      const libraryDir = path.join(work, 'library');
      await fs.mkdir(libraryDir, { recursive: true });
      clip = { libraryDir, relPath: 'clip-444.mp4' };
      ctx.log(`making a ${CLIP_SECONDS} s ${CLIP_SIZE} H.264 4:4:4 clip`);
      await makeClip(path.join(libraryDir, clip.relPath));
    }
    if (PARTS.has('transcode') && clip) rows.push(...(await transcodeThroughput(ctx, work, clip)));
    if (PARTS.has('photos')) rows.push(...(await photosPostgresVsSqlite(ctx, work)));
    if (PARTS.has('redelivery') && clip) rows.push(...(await crashToRedelivery(ctx, work, clip)));
    return rows;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

const benchmark: Benchmark = {
  title: 'Scale-out: transcoder replicas, PostgreSQL, crash redelivery',
  description:
    `Transcode throughput: ${CLIPS} background HLS jobs for a ${CLIP_SECONDS} s ${CLIP_SIZE} 30 fps H.264 4:4:4 + AAC clip (made with ffmpeg lavfi; transcoded to one 720p libx264 rendition, not copied) enqueued at once on one NATS JetStream queue, consumed by ${PROCESSES} transcoder processes (apps/transcoder/src/main.ts, TRANSCODE_CONCURRENCY=1${PIN ? ', each pinned to its own CPU with taskset, its ffmpeg too' : ''}); clips per minute from the first enqueue to the last \`ready\` status. Baseline in the same run: the same with 1 process${PIN ? ' on 1 CPU' : ''}. ` +
    `Photos: \`GET /photos\` (the 6 queries of photos-api) on ${PHOTO_ROWS.toLocaleString('en-US')} synthetic rows (the photos-api data set, ${PHOTO_SHAPE.tagLinks.toLocaleString('en-US')} tag links) in PostgreSQL (fresh database, VACUUM ANALYZE after the load, as autovacuum soon does) against the same rows in SQLite (no ANALYZE), each behind the real api in the bench process over loopback; wrk with ${LOAD_PLAN.connections} connections, ${LOAD_PLAN.rounds} rounds of ${LOAD_PLAN.seconds} s after ${LOAD_PLAN.warmupSeconds} s of warm-up, medians over the rounds, engines alternating query by query. ` +
    `Crash: 2 transcoder processes on one queue (TRANSCODE_ACK_WAIT_SECONDS=${ACK_WAIT_SECONDS}), one HLS job; the one that takes it is SIGKILLed as soon as it logs \`making HLS\`; time from the kill to the other's \`running\` status for the job, ${CRASH_ROUNDS} rounds, median; baseline: the ack wait.`,
  run: runBenchmark,
};

export default benchmark;
