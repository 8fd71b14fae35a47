import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createNatsBus, deleteBusPrefix, type NatsBus } from '@lumen/bus';
import type { VideoStatusEvent } from '@lumen/core';
import { natsForTest, natsTestUrl } from '@lumen/test-support';
import { start as startTranscoder, type TranscoderHandle } from '@lumen/transcoder';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeH264Aac, run, startVideoFixture, type VideoFixture, waitFor } from './video-fixture.ts';

/**
 * Transcoder replicas on one JetStream work queue, seen from the api. A transcoder process
 * (apps/transcoder/src/main.ts, configured from the environment) is SIGKILLed in the middle of an
 * HLS job:
 * - its ffmpeg dies with it (the kernel's parent-death signal, as for exiftool), not orphaned;
 * - the api stops saying `running` once two heartbeats are missed and says `queued` again;
 * - the job is redelivered within the ack wait to the other transcoder, which finishes it.
 * A short ack wait (TRANSCODE_ACK_WAIT_SECONDS, 4 s: heartbeats every 1.33 s) keeps the test fast;
 * the timings asserted are the ones the setting promises (15 s by default).
 */

const servers = natsTestUrl();
const prefix = `test_vcrash_${randomBytes(4).toString('hex')}`;
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const transcoderMain = path.join(repoRoot, 'apps/transcoder/src/main.ts');
const ACK_WAIT_SECONDS = 4;
const HEARTBEAT_MS = Math.floor((ACK_WAIT_SECONDS * 1000) / 3);
/** Event delivery, polling (200 ms) and a busy shared machine. */
const SLACK_MS = 1_500;

const nats = natsForTest(servers);
beforeAll(nats.up);

afterAll(async () => {
  await nats.ifUp(() => deleteBusPrefix(servers, prefix));
});

/** A 30 s 640x360 clip marked as rotated: transcoded (not copied), so the job runs for a while. */
async function makeRotatedClip(file: string): Promise<void> {
  const plain = `${file}.plain.mp4`;
  await makeH264Aac(plain, 30, '640x360');
  const result = await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-i',
    plain,
    '-c',
    'copy',
    '-metadata:s:v:0',
    'rotate=90',
    file,
  ]);
  if (result.exitCode !== 0) throw new Error(`ffmpeg failed: ${result.stderr}`);
  fs.rmSync(plain);
}

/** The ffmpeg processes whose parent is `pid`. */
function ffmpegChildrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((child) => {
      const stat = procStat(child);
      return stat !== undefined && stat.comm === 'ffmpeg' && stat.ppid === pid;
    });
}

/** A process's name, state and parent from /proc/<pid>/stat (undefined once it is gone). */
function procStat(pid: number): { comm: string; state: string; ppid: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const [state, ppid] = text.slice(close + 2).split(' ');
    return { comm: text.slice(text.indexOf('(') + 1, close), state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Alive: exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

it('a SIGKILLed transcoder: its ffmpeg dies, the api says queued again, another transcoder finishes the job', async () => {
  const apiBus: NatsBus = await createNatsBus({ servers, prefix });
  const env = { TRANSCODE_ACK_WAIT_SECONDS: String(ACK_WAIT_SECONDS) };
  let fixture: VideoFixture | undefined;
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> | undefined;
  let survivor: TranscoderHandle | undefined;
  let survivorBus: NatsBus | undefined;
  let ffmpegOfA: number[] = [];
  try {
    fixture = await startVideoFixture([{ relPath: 'phone.mp4', make: makeRotatedClip }], env, {
      bus: apiBus,
      transcoder: false,
    });
    const { t, videos, root } = fixture;
    const video = videos['phone.mp4']!;
    const statuses: { event: VideoStatusEvent; at: number }[] = [];
    await apiBus.subscribe<VideoStatusEvent>('video.status', (event) => {
      if (event.contentHash === video.contentHash && event.kind === 'hls')
        statuses.push({ event, at: Date.now() });
    });
    const generate = async (): Promise<string> => {
      const res = await fetch(`${fixture!.url}/video/generate`, {
        method: 'POST',
        headers: { ...fixture!.auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ path: 'phone.mp4', library: 'main' }),
      });
      return ((await res.json()) as { state: string }).state;
    };
    const stateBecomes = (wanted: string, timeoutMs: number) =>
      waitFor(
        async () => ((await generate()) === wanted ? Date.now() : undefined),
        `the api to say ${wanted}`,
        timeoutMs,
      );

    // Transcoder A: its own process, as `pnpm --filter @lumen/transcoder start` runs it.
    child = spawn(process.execPath, ['--import', 'tsx', transcoderMain], {
      cwd: repoRoot,
      env: {
        ...process.env,
        INIT_CWD: t.dir,
        DATA_DIR: t.dir,
        VIDEO_PATH: t.config.videoDir,
        PREVIEW_CLIPS_DIRECTORY: t.config.previewClipsDir,
        GIFS_DIRECTORY: t.config.gifsDir,
        LIBRARIES: `main=${root}`,
        NATS_URL: servers,
        BUS_PREFIX: prefix,
        TRANSCODE_CONCURRENCY: '1',
        TRANSCODE_ACK_WAIT_SECONDS: String(ACK_WAIT_SECONDS),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = once(child, 'exit');
    let childOut = '';
    child.stdout?.on('data', (chunk) => {
      childOut += String(chunk);
    });
    child.stderr?.on('data', (chunk) => {
      childOut += String(chunk);
    });
    const pid = child.pid!;
    await waitFor(
      async () => (childOut.includes('"transcoder started"') ? true : undefined),
      'transcoder A to start',
      30_000,
    );

    expect(await generate()).toBe('queued');
    await stateBecomes('running', 20_000);
    await waitFor(
      async () => (ffmpegChildrenOf(pid).length > 0 ? true : undefined),
      'ffmpeg under A',
      10_000,
    );
    const heartbeats = statuses.filter((s) => s.event.state === 'running');
    expect(heartbeats[0]?.event.heartbeatMs).toBe(HEARTBEAT_MS);

    // Transcoder B: idle on the same queue; it gets nothing while A holds the job.
    const logs: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
        done();
      },
    });
    survivorBus = await createNatsBus({ servers, prefix });
    survivor = await startTranscoder({
      config: t.config,
      bus: survivorBus,
      logger: pino({ level: 'info' }, sink),
      options: { concurrency: 1, enqueueOnIngest: false },
    });
    expect(survivor.running()).toBe(0);

    ffmpegOfA = ffmpegChildrenOf(pid);
    expect(ffmpegOfA.length).toBeGreaterThan(0);
    // Paused first (segment runs pause ffmpeg with SIGSTOP): a stopped ffmpeg never writes to its
    // closed progress pipe, so only the parent-death signal can end it.
    for (const ffmpeg of ffmpegOfA) process.kill(ffmpeg, 'SIGSTOP');
    child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await exited).toEqual([null, 'SIGKILL']);

    // No ffmpeg of A survives it (the parent-death signal is immediate).
    await waitFor(async () => (ffmpegOfA.some(alive) ? undefined : true), 'the ffmpeg of A to die', 2_000);

    // The api: running until two heartbeats are missed, then queued.
    const queuedAt = await stateBecomes('queued', 2 * HEARTBEAT_MS + SLACK_MS);
    expect(queuedAt - killedAt).toBeLessThanOrEqual(2 * HEARTBEAT_MS + SLACK_MS);

    // Redelivered to B within the ack wait; B finishes it.
    const runningAgainAt = await stateBecomes('running', ACK_WAIT_SECONDS * 1000 + SLACK_MS);
    expect(runningAgainAt - killedAt).toBeLessThanOrEqual(ACK_WAIT_SECONDS * 1000 + SLACK_MS);
    expect(survivor.running()).toBe(1);

    // While B works, its heartbeats keep the api on running (never queued) until ready.
    const seen: string[] = [];
    const readyAt = await waitFor(
      async () => {
        const state = await generate();
        seen.push(state);
        return state === 'ready' ? Date.now() : undefined;
      },
      'the api to say ready',
      60_000,
    );
    expect(readyAt - runningAgainAt).toBeGreaterThan(2 * HEARTBEAT_MS); // long enough to mean something
    expect(new Set(seen)).toEqual(new Set(['running', 'ready']));
    expect(logs.find((r) => r.msg === 'making HLS')?.attempt).toBe(2);
    await waitFor(
      async () => (statuses.some((s) => s.event.state === 'ready') ? true : undefined),
      'the ready event',
      5_000,
    );
    expect(statuses.filter((s) => s.event.state === 'failed')).toHaveLength(0);
  } finally {
    for (const ffmpeg of ffmpegOfA.filter(alive)) process.kill(ffmpeg, 'SIGKILL'); // an orphan: do not leak it
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await survivor?.stop();
    await survivorBus?.close();
    await fixture?.stop(); // closes apiBus
    if (!fixture) await apiBus.close();
  }
}, 60_000);
