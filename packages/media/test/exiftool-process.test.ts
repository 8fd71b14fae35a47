import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ExiftoolProcess, ExiftoolUnavailableError } from '../src/index.ts';
import { corpusPath, expectedFor } from './corpus.ts';

const dir = mkdtempSync(join(tmpdir(), 'lumen-media-exiftool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ExiftoolProcess (one long-lived exiftool -stay_open process)', () => {
  it('runs queued commands in order on one process, with binary output intact', async () => {
    const exiftool = new ExiftoolProcess();
    try {
      const files = ['photo/exiftool__GE.jpg', 'photo/exiftool__GoPro.jpg', 'photo/exiftool__Sigma.jpg'];
      const results = await Promise.all(
        files.map((file) => exiftool.execute(['-json', '-Make', corpusPath(file)])),
      );
      const makes = results.map((result) => JSON.parse(result.stdout.toString('utf8'))[0].Make);
      expect(makes).toEqual(['General Imaging Co.', 'GoPro', 'SIGMA']);

      const binary = await exiftool.execute([
        '-b',
        '-PreviewImage',
        corpusPath('raw/evanoberholster-imagemeta__CR2.cr2'),
      ]);
      expect(binary.stdout.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
      expect(binary.stdout.length).toBe(expectedFor('raw/evanoberholster-imagemeta__CR2.cr2').preview.bytes);
    } finally {
      await exiftool.close();
    }
  });

  it('is faster than a spawn per file (the reason it exists)', async () => {
    const exiftool = new ExiftoolProcess();
    try {
      await exiftool.execute(['-ver']);
      const started = performance.now();
      for (let i = 0; i < 10; i++)
        await exiftool.execute(['-json', '-Make', corpusPath('photo/exiftool__GE.jpg')]);
      const perFile = (performance.now() - started) / 10;
      expect(perFile).toBeLessThan(100); // about 11 ms here; a spawned exiftool costs about 200 ms
    } finally {
      await exiftool.close();
    }
  });

  it('returns errors on stderr without breaking the stream of commands', async () => {
    const exiftool = new ExiftoolProcess();
    try {
      const missing = await exiftool.execute(['-json', '-Make', '/nonexistent/lumen.jpg']);
      expect(missing.stderr).toMatch(/File not found/);
      const next = await exiftool.execute(['-json', '-Make', corpusPath('photo/exiftool__GE.jpg')]);
      expect(JSON.parse(next.stdout.toString('utf8'))[0].Make).toBe('General Imaging Co.');
      await expect(exiftool.execute(['-json', 'line\nbreak'])).rejects.toThrow(/line break/);
    } finally {
      await exiftool.close();
    }
  });

  it('times out a stuck command, kills the process, and serves the next command from a new one', async () => {
    // A stand-in "exiftool" that answers like the real one but hangs on a file named "hang".
    const fake = join(dir, 'fake-exiftool.sh');
    writeFileSync(
      fake,
      `#!/bin/sh
args=""
while IFS= read -r line; do
  case "$line" in
    -execute*) n="\${line#-execute}"
      case "$args" in *hang*) sleep 30 ;; esac
      printf 'ok:%s\\n{ready%s}\\n' "$args" "$n"; printf '{ready%s}\\n' "$n" >&2; args="" ;;
    -echo4|"{ready"*) ;;
    -stay_open) read -r _; exit 0 ;;
    *) args="$args$line" ;;
  esac
done
`,
    );
    chmodSync(fake, 0o755);
    const exiftool = new ExiftoolProcess({ command: fake, timeoutMs: 10_000 });
    try {
      expect((await exiftool.execute(['a'])).stdout.toString()).toBe('ok:a\n');
      const hanging = exiftool.execute(['hang'], { timeoutMs: 300 });
      const after = exiftool.execute(['b']);
      await expect(hanging).rejects.toThrow(/timed out after 300 ms/);
      expect((await after).stdout.toString()).toBe('ok:b\n');
    } finally {
      await exiftool.close();
    }
  });

  it('restarts after the process dies', async () => {
    const exiftool = new ExiftoolProcess();
    try {
      await exiftool.execute(['-ver']);
      // Ask exiftool itself to leave: the next command must start a new process.
      await expect(exiftool.execute(['-stay_open', 'False'])).rejects.toThrow(/exited during a command/);
      const result = await exiftool.execute(['-ver']);
      expect(result.stdout.toString().trim()).toMatch(/^\d+\.\d+/);
    } finally {
      await exiftool.close();
    }
  });

  it('degrades gracefully when exiftool is not on PATH', async () => {
    const exiftool = new ExiftoolProcess({ command: 'exiftool-not-installed-lumen' });
    expect(await exiftool.isAvailable()).toBe(false);
    await expect(exiftool.execute(['-ver'])).rejects.toBeInstanceOf(ExiftoolUnavailableError);
    await exiftool.close();
  });

  it('does not outlive a process that is killed outright (SIGKILL)', async () => {
    const script = fileURLToPath(new URL('./exiftool-parent.ts', import.meta.url));
    const parent = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 30_000,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (data) => resolve(Number(String(data).trim())));
      parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)));
    });
    expect(isRunning(pid)).toBe(true);
    parent.kill('SIGKILL');
    const deadline = Date.now() + 5_000;
    while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(isRunning(pid), `exiftool ${pid} still runs after its parent was killed`).toBe(false);
  });

  it('rejects commands after close()', async () => {
    const exiftool = new ExiftoolProcess();
    expect(await exiftool.isAvailable()).toBe(true);
    await exiftool.close();
    await expect(exiftool.execute(['-ver'])).rejects.toBeInstanceOf(ExiftoolUnavailableError);
  });
});

/** Alive and not a zombie (an orphan killed under an init that does not reap stays a zombie). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
