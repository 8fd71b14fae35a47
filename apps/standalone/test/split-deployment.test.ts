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
import { spawn, spawnSync } from 'node:child_process';
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

/** The pids of the ffmpeg processes whose parent is `pid`. */
const ffmpegUnder = (pid: number): number[] =>
  listProcesses()
    .filter((p) => p.ppid === pid && p.comm === 'ffmpeg' && p.state !== 'Z')
    .map((p) => p.pid);

/** Kill with SIGKILL and wait until the process is gone. */
async function sigkill(service: RunningService): Promise<void> {
  const { child } = service;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

/** The JSON log records of a process's output with message `msg`. */
const logRecords = (service: RunningService, msg: string): Record<string, unknown>[] =>
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
const started = Date.now();

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
  let firstIngest: () => void = () => {};
  const firstIngested = new Promise<void>((resolve) => {
    firstIngest = resolve;
  });
  await observer.subscribe<MediaIngestedEvent>('media.ingested', (e) => {
    ingested.set(e.relPath, (ingested.get(e.relPath) ?? 0) + 1);
    firstIngest();
  });

  // Both transcoders first, so that they are there when the first video job comes.
  const spawnOne = (app: 'api' | 'watcher' | 'transcoder', extra: Record<string, string> = {}) =>
    spawnService({
      app,
      env: { ...env, ...extra },
      ready: app === 'api' ? /"url":"(http:\/\/[^"]+)".*api listening/ : new RegExp(`"${app} started"`),
      timeoutMs: 60_000,
    }).then((s) => {
      services.push(s);
      return s;
    });
  const transcoders = await Promise.all([spawnOne('transcoder'), spawnOne('transcoder')]);
  const apis = await Promise.all([spawnOne('api'), spawnOne('api')]);
  const watchers = new Map<string, RunningService>();
  const transcoderKill = (async () => {
    // A transcoder is killed while its ffmpeg runs.
    // Polled faster than `until` does: ffmpeg runs of tiny clips are short.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const victim = transcoders.find((t) => ffmpegUnder(t.child.pid!).length > 0);
      if (victim) {
        await sigkill(victim);
        return victim;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no ffmpeg ever ran under a transcoder');
  })();
  transcoderKill.catch(() => {}); // awaited below
  const [w1, w2] = await Promise.all([
    spawnOne('watcher', { REPLICA_ID: 'w1' }),
    spawnOne('watcher', { REPLICA_ID: 'w2' }),
  ]);
  watchers.set('w1', w1);
  watchers.set('w2', w2);

  // The lease holder is killed once it has ingested its first file (the rest is still to do).
  await firstIngested;
  const holder = await until('a lease holder', () => currentLeaseHolder(observer!, WATCHER_LEASE_KEY));
  const survivorId = holder === 'w1' ? 'w2' : 'w1';
  await sigkill(watchers.get(holder)!);
  const killedWatcherAt = Date.now();

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
  expect(Date.now() - killedWatcherAt).toBeGreaterThan(0);

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
  for (const rel of VIDEOS) expect(['queued', 'running', 'ready']).toContain(await generate(urlB, authB, rel));
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
  const apiKill = new Promise<void>((resolve) => setTimeout(resolve, 30)).then(() => sigkill(apis[0]!));
  const tagResults = await Promise.all(
    toTag.map(async (rel, i) => {
      await new Promise((r) => setTimeout(r, i * 10));
      const viaA = i % 2 === 0;
      try {
        await (viaA ? tag(urlA, authA, rel) : tag(urlB, authB, rel));
        return viaA ? 'A' : 'B';
      } catch (err) {
        if (!viaA) throw err;
        await tag(urlB, authB, rel);
        return 'A failed, then B';
      }
    }),
  );
  await apiKill;
  expect(apis[0]!.child.signalCode).toBe('SIGKILL');

  // Every video's HLS ready, asked through the surviving api.
  const transcoderVictim = await transcoderKill;
  for (const rel of VIDEOS) {
    await until(`HLS of ${rel}`, async () => ((await generate(urlB, authB, rel)) === 'ready' ? true : undefined), 60_000);
  }

  // Nothing lost.
  for (const rel of toTag) {
    const res = await fetch(`${urlB}/image/tags?path=${encodeURIComponent(rel)}&library=main`, { headers: authB });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json()), rel).toContain(TAG);
  }
  const finalRows = await rows();
  for (const rel of [...PHOTOS, ...VIDEOS, uploadPath]) {
    expect(finalRows.filter((r) => r.rel_path === rel), rel).toHaveLength(1);
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
    const hlsMade = transcoders.flatMap((t) => logRecords(t, 'HLS ready')).filter((r) => r.contentHash === hash);
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
  expect(watchers.get(holder)!.child.signalCode).toBe('SIGKILL');
  expect(transcoderVictim.child.signalCode).toBe('SIGKILL');
  for (const s of [watchers.get(survivorId)!, apis[1]!, ...transcoders.filter((t) => t !== transcoderVictim)]) {
    expect(s.child.exitCode).toBeNull();
    expect(s.child.signalCode).toBeNull();
  }
  console.log(
    `split-deployment: ${Math.round((Date.now() - started) / 1000)} s; tags ${JSON.stringify(tagResults)}; ingests ${JSON.stringify([...ingested])}`,
  );
}, 150_000);
