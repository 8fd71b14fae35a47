import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');

export interface RunningService {
  child: ChildProcess;
  /** The first capture group of `ready` (e.g. the URL), or the whole match. */
  ready: string;
  output: () => string;
  /** Send SIGTERM; resolves with the exit code and how long it took. */
  terminate(): Promise<{ code: number | null; ms: number }>;
}

/**
 * Start one of the apps' `main.ts` the way `pnpm start` / `pnpm --filter <app> start`
 * does (node + tsx, in the app's folder) and wait until its output matches `ready`.
 */
export async function spawnService(opts: {
  app: 'standalone' | 'api' | 'watcher' | 'transcoder';
  env: Record<string, string>;
  ready: RegExp;
  timeoutMs?: number;
  /** Called with the child as soon as it is spawned (before it is ready). */
  onSpawn?: (child: ChildProcess, output: () => string) => void;
}): Promise<RunningService> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: path.join(repoRoot, 'apps', opts.app),
    env: { ...process.env, LOG_LEVEL: 'warn', BIND_URL: '127.0.0.1:0', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  opts.onSpawn?.(child, () => out);
  const collect = (d: Buffer) => {
    out += String(d);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${opts.app} was not ready in time:\n${out}`)),
      opts.timeoutMs ?? 120_000,
    );
    const check = () => {
      const m = opts.ready.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        resolve(m[1] ?? m[0]);
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${opts.app} exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    ready,
    output: () => out,
    terminate: () =>
      new Promise((resolve) => {
        const started = Date.now();
        if (child.exitCode !== null || child.signalCode !== null)
          return resolve({ code: child.exitCode, ms: 0 });
        child.once('exit', (code) => resolve({ code, ms: Date.now() - started }));
        child.kill('SIGTERM');
      }),
  };
}

export interface RunningStandalone extends RunningService {
  url: string;
}

/** Start `pnpm start`'s entry point and wait for the URL line. */
export async function spawnStandalone(
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<RunningStandalone> {
  const service = await spawnService({
    app: 'standalone',
    env,
    ready: /Lumen is running at (http:\/\/\S+)/,
    timeoutMs,
  });
  return { ...service, url: service.ready };
}
