import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PDEATHSIG_WRAPPER, runTool, toolInvocation } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'lumen-media-tool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const script = join(dir, 'tool.sh');
writeFileSync(script, '#!/bin/sh\necho "$@"\n');
chmodSync(script, 0o755);
const notExecutable = join(dir, 'not-executable.sh');
writeFileSync(notExecutable, '#!/bin/sh\n');

describe('toolInvocation', () => {
  it('finds setpriv on this (Linux) machine', () => {
    expect(PDEATHSIG_WRAPPER).toMatch(/\/setpriv$/);
  });

  it.each([
    ['a command on PATH', 'ffmpeg', process.env.PATH, true],
    ['an executable path', script, '', true],
    ['a command found on the given PATH only', 'tool.sh', dir, true],
    ['a command not on PATH', 'lumen-no-such-tool', process.env.PATH, false],
    ['a path that does not exist', join(dir, 'missing'), process.env.PATH, false],
    ['a file that is not executable', notExecutable, process.env.PATH, false],
    ['a folder', dir, process.env.PATH, false],
  ])('%s: wrapped=%s', (_what, command, pathEnv, wrapped) => {
    const [file, args] = toolInvocation(command, ['-x', 'y z'], pathEnv);
    if (wrapped)
      expect([file, args]).toEqual([PDEATHSIG_WRAPPER, ['--pdeathsig', 'KILL', '--', command, '-x', 'y z']]);
    else expect([file, args]).toEqual([command, ['-x', 'y z']]);
  });
});

describe('runTool', () => {
  it('runs the tool with its arguments unchanged', async () => {
    const result = await runTool(script, ['one', 'two three']);
    expect(result.stdout).toBe('one two three');
  });

  it('reports a missing tool as ENOENT, as a plain spawn does', async () => {
    const result = await runTool('lumen-no-such-tool', ['-version'], { reject: false });
    expect((result as { code?: string }).code).toBe('ENOENT');
  });

  it('gives the tool its own pid (setpriv execs it in place)', async () => {
    const child = runTool('sh', ['-c', 'echo $$']);
    const { stdout } = await child;
    expect(Number(stdout)).toBe(child.pid);
  });

  it('kills the tool when the process that started it is killed outright (SIGKILL)', async () => {
    const { parent, pid } = await startParent('runTool');
    expect(isRunning(pid)).toBe(true);
    parent.kill('SIGKILL');
    expect(await stillRunningAfter(pid, 5_000), `ffmpeg ${pid} still runs after its parent was killed`).toBe(
      false,
    );
  });

  it('(the case it exists for) a plain spawn of the same ffmpeg outlives its killed parent', async () => {
    const { parent, pid } = await startParent('plain');
    try {
      parent.kill('SIGKILL');
      expect(await stillRunningAfter(pid, 1_000)).toBe(true);
    } finally {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
});

async function startParent(mode: 'runTool' | 'plain') {
  const file = fileURLToPath(new URL('./tool-parent.ts', import.meta.url));
  const parent = spawn(process.execPath, ['--import', 'tsx', file, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 30_000,
  });
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout.once('data', (data) => resolve(Number(String(data).trim())));
    parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)));
  });
  return { parent, pid };
}

async function stillRunningAfter(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return isRunning(pid);
}

/** Alive and not a zombie (an orphan killed under an init that does not reap stays a zombie). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
