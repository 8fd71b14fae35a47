import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@lumen/runtime';
import { z } from 'zod';

export interface FaceInferenceChild {
  /** Loopback base URL of the child's HTTP server (the same after a restart). */
  url: string;
  /** The current child's pid (a new one after a restart). */
  readonly pid: number;
  stop(): Promise<void>;
}

const listeningMessage = z.object({ type: z.literal('listening'), url: z.string().url() });

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 4_000;
const RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * Run the built-in service as a child process on loopback (`pnpm start` with
 * FACE_INFERENCE=builtin): the WASM model computes on the child's main thread,
 * so detection never stalls the api's event loop. Resolves once the child
 * listens (it still loads its model then, answering 503 + Retry-After);
 * the child exits when this process does (IPC disconnect). A child that dies
 * (killed, out of memory) is started again on the same port, after 1 s and then
 * up to 30 s between tries: the watcher sees the service down, keeps its
 * backlog, and resumes when it answers again.
 */
export async function spawnFaceInference(opts: {
  logger: Logger;
  env?: Record<string, string | undefined>;
  /** First wait before a restart (tests shorten it). */
  restartDelayMs?: number;
}): Promise<FaceInferenceChild> {
  const logger = opts.logger.child({ component: 'face-inference-child' });
  let current = await startChild(opts.env, '0');
  const port = new URL(current.url).port;
  logger.info({ url: current.url, pid: current.child.pid }, 'built-in face inference started');
  let stopping: Promise<void> | undefined;

  const supervise = (running: RunningChild): void => {
    void running.exited.then(async ({ code, signal }) => {
      if (stopping) return;
      logger.error({ code, signal }, 'the built-in face inference exited; starting it again');
      for (let delay = opts.restartDelayMs ?? RESTART_DELAY_MS; !stopping; ) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (stopping) return;
        try {
          current = await startChild(opts.env, port);
          logger.info({ url: current.url, pid: current.child.pid }, 'built-in face inference started again');
          supervise(current);
          return;
        } catch (err) {
          delay = Math.min(delay * 2, MAX_RESTART_DELAY_MS);
          logger.error({ err, retryInMs: delay }, 'the built-in face inference did not start again');
        }
      }
    });
  };
  supervise(current);

  return {
    url: current.url,
    get pid() {
      return current.child.pid ?? -1;
    },
    stop() {
      stopping ??= (async () => {
        const { child, exited } = current;
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

interface RunningChild {
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Fork the service on `port` ('0': a free one) and wait until it listens. */
async function startChild(
  env: Record<string, string | undefined> | undefined,
  port: string,
): Promise<RunningChild> {
  const child: ChildProcess = fork(path.join(packageDir, 'src', 'main.ts'), [], {
    cwd: packageDir,
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      ...env,
      FACE_INFERENCE_HOST: '127.0.0.1',
      FACE_INFERENCE_PORT: port,
      INIT_CWD: process.cwd(),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the face-inference child did not listen within ${STARTUP_TIMEOUT_MS} ms`));
    }, STARTUP_TIMEOUT_MS);
    child.on('message', (msg) => {
      const parsed = listeningMessage.safeParse(msg);
      if (!parsed.success) return;
      clearTimeout(timer);
      resolve(parsed.data.url);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the face-inference child exited (code ${code}) before it listened`));
    });
  });
  return { url, child, exited };
}
