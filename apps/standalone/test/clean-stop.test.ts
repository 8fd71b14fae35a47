import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createNatsBus, deleteBusPrefix } from '@lumen/bus';
import { hashFile } from '@lumen/media';
import { natsForTest, natsTestUrl } from '@lumen/test-support';
import { enqueueVideoJob } from '@lumen/video';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  descendantsOf,
  describeProcesses,
  isAlive,
  listProcesses,
  type ProcessInfo,
  processGroup,
} from './process-tree.ts';
import { repoRoot } from './standalone-process.ts';

/**
 * Clean stops: SIGTERM or SIGINT to the process a user starts (`pnpm start`, or
 * `pnpm --filter @lumen/<app> start`, as the README says) stops every service within 5 s, and no
 * child (ffmpeg, ffprobe, exiftool, heif-convert) outlives it.
 *
 * Each case runs the real command in its own process group, waits until a tool runs under it where
 * the case needs one, signals the pnpm process it spawned (pnpm passes the signal to node only
 * because the start scripts `exec` node), and then looks in /proc for anything left of that group
 * or of the process tree recorded just before the signal.
 *
 * A "hung tool" is an ffprobe on PATH that never answers (as one does on a dead network mount); it
 * is named by a token so that it can be found even if it escaped the process group.
 */

const STOP_LIMIT_MS = 5_000;
const NATS_URL = natsTestUrl();
const TOKEN = randomBytes(4).toString('hex');

let tmp: string;
let hungBin: string;
const started: Command[] = [];

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-clean-stop-'));
  hungBin = path.join(tmp, 'bin');
  await fs.mkdir(hungBin);
  await fs.writeFile(
    path.join(hungBin, 'ffprobe'),
    `#!/bin/bash\nexec -a lumen-hung-ffprobe-${TOKEN} sleep 600\n`,
    {
      mode: 0o755,
    },
  );
});

afterEach(() => {
  // Whatever a failed case left behind is killed here, so it cannot disturb the next case.
  for (const command of started.splice(0)) {
    for (const p of [...processGroup(command.pid), ...tokenProcesses()]) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
});

afterAll(async () => {
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

interface Command {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment of a user's shell, minus what would point a service at shared state. */
function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, BIND_URL: '127.0.0.1:0', LOG_LEVEL: 'info', ...extra };
  for (const key of ['NATS_URL', 'BUS_PREFIX', 'DATABASE_URL', 'LIBRARIES', 'BASE_PATH', 'SECRET_KEY']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

/** Runs `pnpm <args>` in the repository, in a process group of its own, until `ready` shows in its output. */
async function startCommand(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Command> {
  const child = spawn('pnpm', args, {
    cwd: repoRoot,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`pnpm ${args.join(' ')} did not start`);
  let out = '';
  const collect = (d: Buffer) => {
    out += String(d);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const command: Command = { child, pid, output: () => out, exited };
  started.push(command);
  await waitUntil(
    `pnpm ${args.join(' ')} to be ready`,
    () => ready.test(out),
    120_000,
    () => {
      if (child.exitCode !== null)
        throw new Error(`pnpm ${args.join(' ')} exited with ${child.exitCode}:\n${out}`);
    },
  );
  return command;
}

async function waitUntil(
  what: string,
  done: () => boolean,
  timeoutMs: number,
  check?: () => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    check?.();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const tokenProcesses = (all = listProcesses()) =>
  all.filter((p) => p.state !== 'Z' && p.cmdline.includes(`lumen-hung-ffprobe-${TOKEN}`));

/** Waits until a process under `command` matches `match` (a tool at work), and returns it. */
async function toolRunningUnder(command: Command, match: (p: ProcessInfo) => boolean): Promise<ProcessInfo> {
  let found: ProcessInfo | undefined;
  await waitUntil(
    'a tool to run under the service',
    () => {
      found = descendantsOf(command.pid).find(match);
      return found !== undefined;
    },
    120_000,
    () => {
      if (command.child.exitCode !== null) throw new Error(`the service exited early:\n${command.output()}`);
    },
  );
  return found!;
}

/**
 * Sends `signal` to the spawned pnpm process and waits for it to exit. Returns how long that took
 * and what is still alive afterwards of its process group, of the process tree it had just before
 * the signal, and of the hung tools.
 */
async function stop(command: Command, signal: NodeJS.Signals) {
  const before = descendantsOf(command.pid);
  const t0 = Date.now();
  command.child.kill(signal);
  const exit = await Promise.race([
    command.exited,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000)),
  ]);
  const ms = Date.now() - t0;
  if (exit === undefined) throw new Error(`no exit within 20 s of ${signal}:\n${command.output()}`);
  // A process killed by its parent's death takes a moment to go; give the kernel up to 1 s.
  const left = () => {
    const all = listProcesses();
    const seen = new Map<number, ProcessInfo>();
    for (const p of [...processGroup(command.pid, all), ...tokenProcesses(all)]) seen.set(p.pid, p);
    for (const p of before) if (isAlive(p.pid)) seen.set(p.pid, p);
    return [...seen.values()];
  };
  const deadline = Date.now() + 1_000;
  while (left().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  return { ...exit, ms, before, left: left() };
}

function expectCleanStop(result: Awaited<ReturnType<typeof stop>>, output: string) {
  expect(result.left, `still running after the stop:\n${describeProcesses(result.left)}`).toEqual([]);
  expect(result.ms, output).toBeLessThan(STOP_LIMIT_MS);
  expect(result.code, output).toBe(0);
}

/** A video the transcoder must really transcode (MPEG-4 Part 2 in AVI is never remuxed). */
async function makeLongVideo(file: string, seconds: number): Promise<void> {
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-v', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=size=960x540:rate=25:duration=${seconds}`],
    ...['-c:v', 'mpeg4', '-q:v', '6', file],
  ]);
}

describe('pnpm start (standalone)', () => {
  const standaloneEnv = (dataDir: string, extra: Record<string, string> = {}) =>
    baseEnv({ DATA_DIR: dataDir, ADMIN_PASSWORD: 'clean-stop-1', ...extra });

  it('SIGTERM while a tool hangs: exits 0 within 5 s, the tool and every other process gone', async () => {
    const dataDir = path.join(tmp, 'standalone-term');
    // The watcher's ffprobe of the sample library's videos never answers.
    const env = standaloneEnv(dataDir, { PATH: `${hungBin}${path.delimiter}${process.env.PATH}` });
    const command = await startCommand(['start'], env, /Lumen is running at http/);
    const tool = await toolRunningUnder(command, (p) => p.cmdline.startsWith(`lumen-hung-ffprobe-${TOKEN}`));
    const result = await stop(command, 'SIGTERM');
    expect(result.before.map((p) => p.pid)).toContain(tool.pid);
    expectCleanStop(result, command.output());
  });

  it('SIGINT (Ctrl-C) with the real tools: exits 0 within 5 s, nothing left', async () => {
    const dataDir = path.join(tmp, 'standalone-int');
    const command = await startCommand(['start'], standaloneEnv(dataDir), /Lumen is running at http/);
    const result = await stop(command, 'SIGINT');
    expectCleanStop(result, command.output());
  });
});

describe('each app alone (pnpm --filter @lumen/<app> start, over NATS)', () => {
  const prefix = `clean_stop_${TOKEN}`;
  const nats = natsForTest(NATS_URL);
  beforeAll(nats.up);
  afterAll(async () => {
    await nats.ifUp(() => deleteBusPrefix(NATS_URL, prefix).catch(() => undefined));
  });

  const appEnv = async (name: string, extra: Record<string, string> = {}) => {
    const dataDir = path.join(tmp, name);
    const library = path.join(dataDir, 'library');
    await fs.mkdir(library, { recursive: true });
    return {
      library,
      env: baseEnv({
        NATS_URL,
        BUS_PREFIX: prefix,
        DATA_DIR: dataDir,
        LIBRARIES: `main=${library}`,
        SECRET_KEY: randomBytes(32).toString('hex'),
        ...extra,
      }),
    };
  };

  it('api: SIGTERM stops it within 5 s with exit code 0, nothing left', async () => {
    const { env } = await appEnv('api');
    const command = await startCommand(['--filter', '@lumen/api', 'start'], env, /"url":"http/);
    expectCleanStop(await stop(command, 'SIGTERM'), command.output());
  });

  it('watcher: SIGTERM while its ffprobe hangs: within 5 s, the tool gone too', async () => {
    const { library, env } = await appEnv('watcher', {
      PATH: `${hungBin}${path.delimiter}${process.env.PATH}`,
    });
    await makeLongVideo(path.join(library, 'clip.avi'), 2);
    const command = await startCommand(['--filter', '@lumen/watcher', 'start'], env, /watcher started/);
    const tool = await toolRunningUnder(command, (p) => p.cmdline.startsWith(`lumen-hung-ffprobe-${TOKEN}`));
    const result = await stop(command, 'SIGTERM');
    expect(result.before.map((p) => p.pid)).toContain(tool.pid);
    expectCleanStop(result, command.output());
  });

  it('transcoder: SIGTERM in the middle of a real ffmpeg transcode: within 5 s, ffmpeg gone too', async () => {
    const { library, env } = await appEnv('transcoder');
    const source = path.join(library, 'long.avi');
    await makeLongVideo(source, 60);
    const command = await startCommand(['--filter', '@lumen/transcoder', 'start'], env, /transcoder started/);
    const bus = await createNatsBus({ servers: NATS_URL, prefix });
    try {
      const contentHash = await hashFile(source);
      await enqueueVideoJob(bus, 'hls', {
        contentHash,
        sourcePath: source,
        library: 'main',
        relPath: 'long.avi',
        requestedAt: new Date().toISOString(),
      });
    } finally {
      await bus.close();
    }
    const ffmpeg = await toolRunningUnder(command, (p) => p.comm === 'ffmpeg');
    const result = await stop(command, 'SIGTERM');
    expect(result.before.map((p) => p.pid)).toContain(ffmpeg.pid);
    expectCleanStop(result, command.output());
  });
});
