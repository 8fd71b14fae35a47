import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@lumen/runtime';
import { z } from 'zod';

export interface FaceInferenceChild {
  /** Loopback base URL of the child's HTTP server. */
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const listeningMessage = z.object({ type: z.literal('listening'), url: z.string().url() });

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 4_000;

/**
 * Run the built-in service as a child process on loopback (`pnpm start` with
 * FACE_INFERENCE=builtin): the WASM model computes on the child's main thread,
 * so detection never stalls the api's event loop. Resolves once the child
 * listens (it still loads its model then, answering 503 + Retry-After);
 * the child exits when this process does (IPC disconnect).
 */
export async function spawnFaceInference(opts: {
  logger: Logger;
  env?: Record<string, string | undefined>;
}): Promise<FaceInferenceChild> {
  const logger = opts.logger.child({ component: 'face-inference-child' });
  const child: ChildProcess = fork(path.join(packageDir, 'src', 'main.ts'), [], {
    cwd: packageDir,
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      ...opts.env,
      FACE_INFERENCE_HOST: '127.0.0.1',
      FACE_INFERENCE_PORT: '0',
      INIT_CWD: process.cwd(),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
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
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the face-inference child exited (code ${code}) before it listened`));
    });
  });
  logger.info({ url, pid: child.pid }, 'built-in face inference started');
  void exited.then((code) => {
    if (!stopping) logger.error({ code }, 'the built-in face inference exited; faces wait until a restart');
  });
  let stopping: Promise<void> | undefined;
  return {
    url,
    pid: child.pid ?? -1,
    stop() {
      stopping ??= (async () => {
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
