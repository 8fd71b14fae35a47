/**
 * Issue 15 item 9: the split deployment as real processes on loopback. One NATS prefix, one fresh
 * PostgreSQL database, two api, two watcher and two transcoder processes (each `src/main.ts` of its
 * app, configured from the environment as compose/Kubernetes would). The test drives both apis
 * (ingest of a library, tags, an upload, video generation) and SIGKILLs one process of each kind in
 * the middle of its work: the watcher holding the lease while it ingests, a transcoder while its
 * ffmpeg runs, an api while requests are in flight. Afterwards:
 * - nothing is lost: every file has its row (photos with their thumbnail), the upload is ingested,
 *   every tag is there, every video's HLS is ready;
 * - nothing is done twice: at most one `media.ingested` per file (exactly one for the upload), one
 *   "HLS ready" and at most one "preview clip and GIF ready" per video over both transcoders' logs;
 * - `/libraries` names the surviving watcher as the one watching.
 * Short WATCHER_LEASE_SECONDS (3) and TRANSCODE_ACK_WAIT_SECONDS (4) keep the takeovers quick.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createNatsBus, currentLeaseHolder, deleteBusPrefix, type NatsBus } from '@lumen/bus';
import { type MediaIngestedEvent, parseConfig, WATCHER_LEASE_KEY } from '@lumen/core';
import { type Database, openDatabase } from '@lumen/db';
import { freshPostgresDatabase, natsTestUrl, requireNats, uniqueJpeg } from '@lumen/test-support';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listProcesses } from './process-tree.ts';
import { type RunningService, repoRoot, spawnService } from './standalone-process.ts';

const NATS_URL = natsTestUrl();
const PHOTOS = Array.from({ length: 10 }, (_, i) => `trip/p${String(i).padStart(2, '0')}.jpg`);
const VIDEOS = ['clips/a.mp4', 'clips/b.mp4', 'clips/c.mp4'];
const TAG = 'split-trip';

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A tiny H.264/AAC (or MPEG-4 Part 2, which must be transcoded) clip from ffmpeg's test sources. */
async function makeClip(file: string, seconds: number, codec: 'libx264' | 'mpeg4'): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const args = [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=192x144:rate=15:duration=${seconds}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${seconds}`,
    '-c:v',
    codec,
    ...(codec === 'libx264' ? ['-preset', 'ultrafast', '-pix_fmt', 'yuv420p'] : []),
    '-c:a',
    'aac',
    '-shortest',
    file,
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg: ${err}`))));
  });
}

/** Kill with SIGKILL and wait until the process is gone. */
async function sigkill(service: RunningService): Promise<void> {
  const { child } = service;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

/** The JSON log records of a process's output with message `msg`. */
const logRecords = (service: { output: () => string }, msg: string): Record<string, unknown>[] =>
  service
    .output()
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}"`))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });

const prefix = `splitdep_${randomBytes(4).toString('hex')}`;
let dataDir: string;
let library: string;
let pgDb: { url: string; drop(): Promise<void> } | undefined;
let database: Database | undefined;
let observer: NatsBus | undefined;
const services: RunningService[] = [];
const orphans: ChildProcess[] = [];
const started = Date.now();
/** When each phase ended (s since the start), printed at the end: where the time goes. */
const phases: string[] = [];
const mark = (what: string) => phases.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)}`);

beforeAll(async () => {
  await requireNats(NATS_URL);
  pgDb = await freshPostgresDatabase();
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-splitdep-'));
  library = path.join(dataDir, 'library');
  for (const rel of PHOTOS) {
    await fs.mkdir(path.dirname(path.join(library, rel)), { recursive: true });
    await fs.writeFile(path.join(library, rel), await uniqueJpeg(`split ${rel}`));
  }
  await Promise.all([
    makeClip(path.join(library, VIDEOS[0]!), 2, 'libx264'),
    makeClip(path.join(library, VIDEOS[1]!), 3, 'mpeg4'),
    makeClip(path.join(library, VIDEOS[2]!), 4, 'mpeg4'),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all(services.map((s) => sigkill(s).catch(() => undefined)));
  for (const child of orphans)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await observer?.close().catch(() => undefined);
  await database?.close().catch(() => undefined);
  await deleteBusPrefix(NATS_URL, prefix).catch(() => undefined);
  await pgDb?.drop().catch(() => undefined);
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
}, 30_000);

it('two of each service over NATS and PostgreSQL: one of each SIGKILLed mid-work, nothing lost, nothing done twice', async () => {
  const env = {
    NATS_URL,
    BUS_PREFIX: prefix,
    DATABASE_URL: pgDb!.url,
    DATA_DIR: dataDir,
    LIBRARIES: `main=${library}`,
    SECRET_KEY: randomBytes(32).toString('hex'),
    WATCH_QUICK_INTERVAL_SECONDS: '0.5',
    WATCHER_LEASE_SECONDS: '3',
    TRANSCODE_ACK_WAIT_SECONDS: '4',
    FACES_ENABLED: 'false',
    LOG_LEVEL: 'info',
  };
  // The CLI creates the user (and migrates the database) before any service starts.
  const cli = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'user', 'add', 'ops', '--admin'],
    {
      cwd: path.join(repoRoot, 'apps/api'),
      env: { ...process.env, ...env, LUMEN_PASSWORD: 'split-secret-1' },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect(cli.status, cli.stderr).toBe(0);

  database = await openDatabase(parseConfig({ DATABASE_URL: pgDb!.url }, dataDir).database);
  observer = await createNatsBus({ servers: NATS_URL, prefix, logger: pino({ level: 'silent' }) });
  const ingested = new Map<string, number>();
  await observer.subscribe<MediaIngestedEvent>('media.ingested', (e) => {
    ingested.set(e.relPath, (ingested.get(e.relPath) ?? 0) + 1);
  });

  // All six at once (their start-up is most of the test's time); the video jobs are durable
  // work items, so it does not matter which starts first. The kills are watched for from the
  // moment the processes exist: a watcher starts ingesting before it logs "watcher started".
  const spawned: { app: string; replica?: string; child: ChildProcess; output: () => string }[] = [];
  const spawnOne = (app: 'api' | 'watcher' | 'transcoder', extra: Record<string, string> = {}) =>
    spawnService({
      app,
      env: { ...env, ...extra },
      ready: app === 'api' ? /"url":"(http:\/\/[^"]+)".*api listening/ : new RegExp(`"${app} started"`),
      timeoutMs: 60_000,
      onSpawn: (child, output) => {
        spawned.push({ app, ...(extra.REPLICA_ID ? { replica: extra.REPLICA_ID } : {}), child, output });
        // Killed by the test before it is ready: no `RunningService` to clean up, so kill it here.
        orphans.push(child);
      },
    }).then((s) => {
      services.push(s);
      return s;
    });

  /**
   * Polled every 20 ms (ffmpeg runs of tiny clips are short): a transcoder is killed while its
   * ffmpeg runs; the watcher holding the lease is killed while it extracts a video frame with
   * ffmpeg (in the middle of the library's ingest), or, should that be missed, at the first
   * `media.ingested` (the ingest goes on in the background).
   */
  const killWhile = async (
    what: string,
    candidates: () => Promise<ChildProcess[]>,
    orAfter: () => boolean = () => false,
  ): Promise<{ victim: ChildProcess; duringFfmpeg: boolean }> => {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const among = await candidates();
      const all = among.length > 0 ? listProcesses() : [];
      const busy = (c: ChildProcess) =>
        all.some((p) => p.ppid === c.pid && p.comm === 'ffmpeg' && p.state !== 'Z');
      const victim = among.find(busy) ?? (orAfter() ? among[0] : undefined);
      if (victim) {
        const duringFfmpeg = busy(victim);
        const gone = new Promise<void>((resolve) => victim.once('exit', () => resolve()));
        victim.kill('SIGKILL');
        await gone;
        mark(
          `${what} killed ${duringFfmpeg ? 'during ffmpeg' : 'after the first ingest'} (${ingested.size} media.ingested seen)`,
        );
        return { victim, duringFfmpeg };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no ${what} to kill mid-work`);
  };
  let holder = '';
  const watcherKill = killWhile(
    'watcher',
    async () => {
      holder = (await currentLeaseHolder(observer!, WATCHER_LEASE_KEY).catch(() => undefined)) ?? '';
      const child = spawned.find((s) => s.replica === holder)?.child;
      return child ? [child] : [];
    },
    () => ingested.size > 0,
  );
  const transcoderKill = killWhile('transcoder', async () =>
    spawned.filter((s) => s.app === 'transcoder').map((s) => s.child),
  );
  watcherKill.catch(() => {}); // awaited below
  transcoderKill.catch(() => {});

  const settled = async (p: Promise<RunningService>) => p.catch(() => undefined);
  const [, , a1, a2] = await Promise.all(
    [
      spawnOne('transcoder'),
      spawnOne('transcoder'),
      spawnOne('api'),
      spawnOne('api'),
      spawnOne('watcher', { REPLICA_ID: 'w1' }),
      spawnOne('watcher', { REPLICA_ID: 'w2' }),
    ].map(settled),
  );
  const apis = [a1!, a2!];
  expect(apis.every(Boolean), 'both apis start').toBe(true);
  mark('all six up (or killed first)');
  const watcherKilled = await watcherKill;
  const transcoders = spawned.filter((s) => s.app === 'transcoder');
  const watcherOf = (id: string) => spawned.find((s) => s.replica === id)!;
  const survivorId = holder === 'w1' ? 'w2' : 'w1';

  const login = async (url: string) => {
    const res = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'ops', password: 'split-secret-1' }),
    });
    return { authorization: `Bearer ${((await res.json()) as { token: string }).token}` };
  };
  const [urlA, urlB] = [apis[0]!.ready, apis[1]!.ready];
  const [authA, authB] = [await login(urlA), await login(urlB)];

  // Every library file is in the database once, photos with their thumbnail.
  const rows = async () =>
    database!.db.selectFrom('image_exif').select(['rel_path', 'thumb_status', 'content_hash']).execute();
  await until(
    'every library file ingested',
    async () => {
      const all = await rows();
      const ready = all.filter((r) => r.thumb_status === 'ready' && r.content_hash).map((r) => r.rel_path);
      return [...PHOTOS, ...VIDEOS].every((p) => ready.includes(p)) ? true : undefined;
    },
    45_000,
  );
  // The survivor took over (the killed holder's lease ran out).
  expect(await currentLeaseHolder(observer, WATCHER_LEASE_KEY)).toBe(survivorId);
  mark('library ingested');

  // An upload through api A; video generation asked through api B.
  const form = new FormData();
  form.append('library', 'main');
  form.append('folder', 'uploads');
  form.append('file', new Blob([new Uint8Array(await uniqueJpeg('split upload'))]), 'up.jpg');
  const up = await fetch(`${urlA}/image`, { method: 'POST', headers: authA, body: form });
  expect(up.status, await up.clone().text()).toBe(201);
  const uploadPath = ((await up.json()) as { path: string }).path;
  const generate = async (url: string, auth: Record<string, string>, rel: string) => {
    const res = await fetch(`${url}/video/generate`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ path: rel, library: 'main' }),
    });
    if (res.status >= 300) throw new Error(`generate ${rel}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { state: string }).state;
  };
  for (const rel of VIDEOS)
    expect(['queued', 'running', 'ready']).toContain(await generate(urlB, authB, rel));
  await until('the upload ingested', async () =>
    (await rows()).some((r) => r.rel_path === uploadPath && r.thumb_status === 'ready') ? true : undefined,
  );

  // Tags through both apis, several in flight; api A is killed in the middle of them. A request
  // that failed on A is sent again through B (as a client behind a load balancer would).
  const toTag = [...PHOTOS, uploadPath];
  const tag = async (url: string, auth: Record<string, string>, rel: string) => {
    const res = await fetch(`${url}/image/tags`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ path: rel, library: 'main', tag_name: TAG }),
    });
    if (res.status >= 300) throw new Error(`tag ${rel}: ${res.status} ${await res.text()}`);
  };
  // A answers its first tag request; it is killed while the others are in flight.
  let answeredByA: () => void = () => {};
  const apiKill = new Promise<void>((resolve) => {
    answeredByA = resolve;
  }).then(() => sigkill(apis[0]!));
  const tagResults = await Promise.all(
    toTag.map(async (rel, i) => {
      if (i > 0) await new Promise((r) => setTimeout(r, i * 15));
      const viaA = i % 2 === 0;
      try {
        await (viaA ? tag(urlA, authA, rel) : tag(urlB, authB, rel));
        if (viaA) answeredByA();
        return viaA ? 'A' : 'B';
      } catch (err) {
        if (!viaA) throw err;
        await tag(urlB, authB, rel);
        return 'A failed, then B';
      }
    }),
  );
  await apiKill;
  mark('tagged, api A killed');
  expect(apis[0]!.child.signalCode).toBe('SIGKILL');

  // Every video's HLS ready, asked through the surviving api.
  const { victim: transcoderVictim } = await transcoderKill;
  for (const rel of VIDEOS) {
    await until(
      `HLS of ${rel}`,
      async () => ((await generate(urlB, authB, rel)) === 'ready' ? true : undefined),
      60_000,
    );
  }

  mark('HLS ready');

  // Nothing lost.
  for (const rel of toTag) {
    const res = await fetch(`${urlB}/image/tags?path=${encodeURIComponent(rel)}&library=main`, {
      headers: authB,
    });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json()), rel).toContain(TAG);
  }
  const finalRows = await rows();
  for (const rel of [...PHOTOS, ...VIDEOS, uploadPath]) {
    expect(
      finalRows.filter((r) => r.rel_path === rel),
      rel,
    ).toHaveLength(1);
  }
  const stream = await fetch(`${urlB}/video/stream?path=${encodeURIComponent(VIDEOS[2]!)}&library=main`, {
    headers: authB,
  });
  expect(stream.status).toBe(200);
  await stream.body?.cancel();

  // Nothing done twice: ingests (media.ingested) and outputs made (both transcoders' logs).
  const twice = [...ingested].filter(([, n]) => n > 1);
  expect(twice, JSON.stringify([...ingested])).toEqual([]);
  expect(ingested.get(uploadPath)).toBe(1);
  const hashes = new Map(finalRows.map((r) => [r.rel_path, r.content_hash!]));
  for (const rel of VIDEOS) {
    const hash = hashes.get(rel)!;
    const hlsMade = transcoders
      .flatMap((t) => logRecords(t, 'HLS ready'))
      .filter((r) => r.contentHash === hash);
    const previews = transcoders
      .flatMap((t) => logRecords(t, 'preview clip and GIF ready'))
      .filter((r) => r.contentHash === hash);
    expect(hlsMade, `HLS of ${rel}`).toHaveLength(1);
    expect(previews.length, `preview of ${rel}`).toBeLessThanOrEqual(1);
  }

  // /libraries names the surviving watcher.
  const libs = await fetch(`${urlB}/libraries`, { headers: authB });
  expect(libs.status).toBe(200);
  const body = JSON.stringify(await libs.json());
  expect(body).toContain(`"watched_by":"${survivorId}"`);

  // Each kind had one process killed, and the others are still running.
  expect(watcherOf(holder).child.signalCode).toBe('SIGKILL');
  expect(watcherKilled.victim).toBe(watcherOf(holder).child);
  expect(transcoderVictim.signalCode).toBe('SIGKILL');
  for (const s of [
    watcherOf(survivorId),
    apis[1]!,
    ...transcoders.filter((t) => t.child !== transcoderVictim),
  ]) {
    expect(s.child.exitCode).toBeNull();
    expect(s.child.signalCode).toBeNull();
  }
  const redelivered = transcoders
    .filter((t) => t.child !== transcoderVictim)
    .flatMap((t) => t.output().split('\n'))
    .filter((line) => /"attempt":[2-9]/.test(line))
    .map((line) => line.slice(0, 300));
  // The job whose ffmpeg died with its transcoder came back (attempt 2) to the other one.
  expect(redelivered.length, 'a job redelivered to the surviving transcoder').toBeGreaterThan(0);
  // Not asserted (it depends on timing), printed: what the surviving watcher ingested after the kill.
  const survivorIngested = logRecords(watcherOf(survivorId), 'scan done').reduce(
    (sum, r) => sum + Number(r.ingested ?? 0),
    0,
  );
  mark(`(the surviving watcher's scans ingested ${survivorIngested})`);
  console.log(
    `split-deployment: ${phases.join('; ')}; tags ${JSON.stringify(tagResults)}; ingests ${JSON.stringify([...ingested])}`,
  );
}, 150_000);
