import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const standaloneDir = path.resolve(here, '..');

export interface RunningStandalone {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Send SIGTERM; resolves with the exit code and how long it took. */
  terminate(): Promise<{ code: number | null; ms: number }>;
}

/** Start `tsx src/main.ts` (what `pnpm start` runs) and wait for the URL line. */
export async function spawnStandalone(
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<RunningStandalone> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: standaloneDir,
    env: { ...process.env, LOG_LEVEL: 'warn', BIND_URL: '127.0.0.1:0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += String(d);
  });
  child.stderr?.on('data', (d) => {
    out += String(d);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`standalone did not start in time:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /Lumen is running at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout?.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`standalone exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    terminate: () =>
      new Promise((resolve) => {
        const started = Date.now();
        if (child.exitCode !== null) return resolve({ code: child.exitCode, ms: 0 });
        child.once('exit', (code) => resolve({ code, ms: Date.now() - started }));
        child.kill('SIGTERM');
      }),
  };
}
