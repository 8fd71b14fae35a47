import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FfmpegError,
  type FfmpegProgress,
  parseProgressBlock,
  runFfmpeg,
  runFfprobe,
  stderrTail,
} from '../src/ffmpeg-process.ts';

let dir: string;
const testInput = (seconds: number) => [
  '-f',
  'lavfi',
  '-i',
  `testsrc2=size=320x240:rate=25:duration=${seconds}`,
];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-ffmpeg-'));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** The FfmpegError a run fails with (the test fails if it succeeds or throws anything else). */
async function failureOf(run: Promise<unknown>): Promise<FfmpegError> {
  try {
    await run;
  } catch (err) {
    if (err instanceof FfmpegError) return err;
    throw err;
  }
  throw new Error('expected the run to fail');
}

describe('progress and stderr parsing', () => {
  it.each([
    [
      { out_time_us: '5015511', speed: '1.06x' },
      { outTimeSec: 5.015511, speed: 1.06 },
    ],
    [
      { out_time_us: 'N/A', speed: 'N/A' },
      { outTimeSec: 0, speed: null },
    ],
    [
      { out_time_ms: '2000000', speed: ' 120x' },
      { outTimeSec: 2, speed: 120 },
    ],
  ])('%o', (block, expected) => {
    expect(parseProgressBlock(new Map(Object.entries(block)))).toEqual(expected);
  });

  it('keeps the last non-empty stderr lines', () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n\n');
    expect(stderrTail(lines, 3)).toBe('line 17\nline 18\nline 19');
  });

  it('drops memory addresses, so the same failure reads the same every time', () => {
    expect(stderrTail('[mov,mp4,m4a,3gp,3g2,mj2 @ 0x558c63cff180] moov atom not found\n')).toBe(
      '[mov,mp4,m4a,3gp,3g2,mj2] moov atom not found',
    );
  });
});

describe('runFfmpeg', () => {
  it('reports progress and resolves on success', async () => {
    const progress: FfmpegProgress[] = [];
    await runFfmpeg([...testInput(1), '-f', 'null', '-'], {
      timeoutMs: 30_000,
      onProgress: (p) => progress.push(p),
    });
    expect(progress.at(-1)?.outTimeSec).toBeGreaterThan(0.9);
  });

  it('fails with the last lines of ffmpeg stderr', async () => {
    const missing = path.join(dir, 'missing.mp4');
    const err = await failureOf(
      runFfmpeg(['-i', `file:${missing}`, '-f', 'null', '-'], { timeoutMs: 30_000 }),
    );
    expect(err.reason).toBe('failed');
    expect(err.message).toMatch(/^ffmpeg failed \(exit code \d+\):\n/);
    expect(err.message).toContain('No such file or directory');
  });

  it('kills a run that exceeds its time limit', async () => {
    const started = performance.now();
    const err = await failureOf(runFfmpeg(['-re', ...testInput(30), '-f', 'null', '-'], { timeoutMs: 500 }));
    expect(err.reason).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('kills a run that stops making progress', async () => {
    // -re reads the input at its native rate; 1 fps makes progress reports rarer than the stall limit
    const args = ['-re', '-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=1:duration=30', '-f', 'null', '-'];
    const err = await failureOf(runFfmpeg(args, { timeoutMs: 30_000, stallTimeoutMs: 300 }));
    expect(err.reason).toBe('stalled');
  });

  it('kills a run when cancelled (the transcoder stops)', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 200);
    const err = await failureOf(
      runFfmpeg(['-re', ...testInput(30), '-f', 'null', '-'], {
        timeoutMs: 30_000,
        signal: abort.signal,
      }),
    );
    expect(err.reason).toBe('cancelled');
  });
});

describe('runFfmpeg priority', () => {
  /** Niceness of the ffmpeg whose command line contains `marker`, once it runs. */
  async function nicenessOf(marker: string): Promise<number> {
    for (let i = 0; i < 100; i++) {
      try {
        const pid = execFileSync('pgrep', ['-f', '--', `^ffmpeg .*${marker}`], { encoding: 'utf8' }).trim();
        if (pid)
          return Number(execFileSync('ps', ['-o', 'ni=', '-p', pid.split('\n')[0]!], { encoding: 'utf8' }));
      } catch {
        // not started yet
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no ffmpeg with ${marker}`);
  }

  // Relative to the niceness this test runs at (`nice -n 10 pnpm test` gives ffmpeg 10 to start with).
  const own = os.getPriority();
  it.each([
    [true, Math.max(10, own)],
    [false, own],
  ])('lowPriority %s runs ffmpeg at niceness %d', async (lowPriority, niceness) => {
    const marker = `duration=${lowPriority ? '7.123' : '7.321'}`;
    const abort = new AbortController();
    const run = failureOf(
      runFfmpeg(['-re', '-f', 'lavfi', '-i', `testsrc2=size=64x64:rate=5:${marker}`, '-f', 'null', '-'], {
        timeoutMs: 30_000,
        signal: abort.signal,
        lowPriority,
      }),
    );
    try {
      expect(await nicenessOf(marker)).toBe(niceness);
    } finally {
      abort.abort();
      await run;
    }
  });
});

describe('runFfprobe', () => {
  it('returns the JSON of a real file, even with a colon in its name', async () => {
    const file = path.join(dir, 'a:b.mp4');
    await runFfmpeg([...testInput(1), '-c:v', 'libx264', '-preset', 'ultrafast', file], {
      timeoutMs: 30_000,
    });
    const json = (await runFfprobe(file)) as { streams: { codec_name: string }[] };
    expect(json.streams[0]?.codec_name).toBe('h264');
  });

  it('fails with what ffprobe said about a file that is not a video', async () => {
    const file = path.join(dir, 'not-video.mp4');
    await fs.writeFile(file, 'this is text, not a video');
    const err = await failureOf(runFfprobe(file));
    expect(err.message).toContain('Invalid data found when processing input');
  });
});
