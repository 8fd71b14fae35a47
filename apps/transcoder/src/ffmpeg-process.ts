import os from 'node:os';
import { createInterface } from 'node:readline';
import { ffprobeJsonArgs, runTool } from '@lumen/media';

/**
 * Every ffmpeg and ffprobe run of the transcoder goes through here: a time limit, a stall limit
 * (no progress for too long), cancellation (the transcoder's stop), and an error that carries the
 * last lines ffmpeg wrote to stderr (what a dead letter and the failure record show).
 *
 * ffmpeg reports progress on stdout (`-progress pipe:1`). That pipe also ties its life to ours: if
 * the transcoder process dies (even by SIGKILL), ffmpeg's next progress write fails with SIGPIPE and
 * it exits instead of running on as an orphan. On Linux, `runTool` also has the kernel kill it at
 * once when its parent dies (`setpriv --pdeathsig KILL`), and ffprobe the same way.
 */

export type FfmpegFailure = 'failed' | 'timeout' | 'stalled' | 'cancelled';

export class FfmpegError extends Error {
  override name = 'FfmpegError';
  constructor(
    message: string,
    readonly reason: FfmpegFailure,
    readonly stderrTail: string,
  ) {
    super(message);
  }
}

/**
 * `err` with the descriptor path ffmpeg or ffprobe was given (`/proc/<pid>/fd/<fd>`, which means
 * nothing to a reader and changes every run) replaced by the file's own `name`; other errors as
 * they are. Failure records and `video.status` errors then name the file, and stay the same from
 * one attempt to the next.
 */
export function naming(err: unknown, procPath: string, name: string): unknown {
  if (!(err instanceof FfmpegError)) return err;
  const rename = (text: string) => text.split(procPath).join(name);
  return new FfmpegError(rename(err.message), err.reason, rename(err.stderrTail));
}

export interface FfmpegProgress {
  /** Media seconds written so far. */
  outTimeSec: number;
  /** ffmpeg's own speed estimate (x real time), when it gives one. */
  speed: number | null;
}

export interface RunFfmpegOptions {
  /** Kill after this long, ms. */
  timeoutMs: number;
  /** Kill when no progress report came for this long, ms. Default 120 000. */
  stallTimeoutMs?: number;
  /** Abort = kill (the transcoder stops). */
  signal?: AbortSignal;
  onProgress?: (progress: FfmpegProgress) => void;
  /** Working directory (relative output paths are resolved against it). */
  cwd?: string;
  /**
   * Run at a lower CPU priority (nice 10): background work such as preview clips then yields to the
   * HLS run a viewer is waiting for, and only slows down while the two compete.
   */
  lowPriority?: boolean;
  ffmpegPath?: string;
  /** Told the pid once ffmpeg started (to pause it with SIGSTOP, say). */
  onSpawn?: (pid: number) => void;
  /** While this says true (ffmpeg paused on purpose) no progress is no stall. */
  isPaused?: () => boolean;
}

const STDERR_KEEP_CHARS = 16 * 1024;
/** Niceness of low-priority runs (0 is normal, 19 the lowest). */
const LOW_PRIORITY = 10;
const ERROR_LINES = 12;

/**
 * The last non-empty lines of ffmpeg's stderr, for error messages; the memory addresses in its
 * context tags (`[mov,mp4 @ 0x55d0c0ffee00]`) are dropped, so one failure always reads the same.
 */
export function stderrTail(stderr: string, lines = ERROR_LINES): string {
  return stderr
    .split(/\r?\n/)
    .map((line) => line.replace(/ @ 0x[0-9a-f]+\]/g, ']').trim())
    .filter((line) => line.length > 0)
    .slice(-lines)
    .join('\n');
}

/** `1.06x` -> 1.06; `N/A` -> null. */
function parseSpeed(value: string | undefined): number | null {
  const n = Number.parseFloat(value ?? '');
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** One `-progress` block (the key=value lines ending in `progress=...`). */
export function parseProgressBlock(block: ReadonlyMap<string, string>): FfmpegProgress {
  const us = Number(block.get('out_time_us') ?? block.get('out_time_ms'));
  return { outTimeSec: Number.isFinite(us) && us > 0 ? us / 1e6 : 0, speed: parseSpeed(block.get('speed')) };
}

function describe(what: string, reason: FfmpegFailure, detail: string, tail: string): string {
  const head =
    reason === 'timeout'
      ? `${what} timed out (${detail})`
      : reason === 'stalled'
        ? `${what} stalled (${detail})`
        : reason === 'cancelled'
          ? `${what} was cancelled (the transcoder is stopping)`
          : `${what} failed (${detail})`;
  return tail ? `${head}:\n${tail}` : head;
}

/** Runs ffmpeg with `args` (after the common flags). Resolves when it exited 0; throws FfmpegError. */
export async function runFfmpeg(args: readonly string[], opts: RunFfmpegOptions): Promise<void> {
  const stallTimeoutMs = opts.stallTimeoutMs ?? 120_000;
  const child = runTool(
    opts.ffmpegPath ?? 'ffmpeg',
    ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1', ...args],
    {
      cwd: opts.cwd,
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
      cancelSignal: opts.signal,
      stdin: 'ignore',
      buffer: false,
      reject: false,
    },
  );

  if (child.pid !== undefined) opts.onSpawn?.(child.pid);
  if (opts.lowPriority && child.pid !== undefined) {
    try {
      os.setPriority(child.pid, LOW_PRIORITY);
    } catch {
      // exited already, or not allowed here: it simply runs at normal priority
    }
  }

  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP_CHARS);
  });

  let stalled = false;
  let stallTimer: NodeJS.Timeout | undefined;
  const armStallTimer = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => {
      if (opts.isPaused?.()) {
        armStallTimer();
        return;
      }
      stalled = true;
      child.kill('SIGKILL');
    }, stallTimeoutMs);
    stallTimer.unref();
  };
  armStallTimer();

  if (child.stdout) {
    const block = new Map<string, string>();
    createInterface({ input: child.stdout }).on('line', (line) => {
      const eq = line.indexOf('=');
      if (eq <= 0) return;
      const key = line.slice(0, eq).trim();
      block.set(key, line.slice(eq + 1).trim());
      if (key !== 'progress') return;
      armStallTimer();
      opts.onProgress?.(parseProgressBlock(block));
      block.clear();
    });
  }

  const result = await child;
  clearTimeout(stallTimer);
  if (!result.failed) return;
  const tail = stderrTail(stderr);
  if (result.isCanceled) throw new FfmpegError(describe('ffmpeg', 'cancelled', '', tail), 'cancelled', tail);
  if (result.timedOut) {
    throw new FfmpegError(describe('ffmpeg', 'timeout', `after ${opts.timeoutMs} ms`, tail), 'timeout', tail);
  }
  if (stalled) {
    const detail = `no progress for ${stallTimeoutMs} ms`;
    throw new FfmpegError(describe('ffmpeg', 'stalled', detail, tail), 'stalled', tail);
  }
  const detail = result.exitCode !== undefined ? `exit code ${result.exitCode}` : `signal ${result.signal}`;
  throw new FfmpegError(describe('ffmpeg', 'failed', detail, tail), 'failed', tail);
}

export interface RunFfprobeOptions {
  /** ms; default 30 000. */
  timeoutMs?: number;
  signal?: AbortSignal;
  ffprobePath?: string;
}

/** Runs ffprobe with `args` (time limit, cancellation) and returns its stdout; throws FfmpegError. */
export async function runFfprobeArgs(
  args: string[],
  opts: RunFfprobeOptions = {},
  maxBuffer = 256 * 1024 * 1024,
): Promise<string> {
  return (await ffprobeOutput(args, opts, maxBuffer)).stdout;
}

async function ffprobeOutput(
  args: string[],
  opts: RunFfprobeOptions,
  maxBuffer: number,
): Promise<{ stdout: string; tail: string }> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const result = await runTool(opts.ffprobePath ?? 'ffprobe', args, {
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    cancelSignal: opts.signal,
    stdin: 'ignore',
    reject: false,
    maxBuffer,
  });
  const tail = stderrTail(String(result.stderr ?? ''));
  if (result.isCanceled) throw new FfmpegError(describe('ffprobe', 'cancelled', '', tail), 'cancelled', tail);
  if (result.timedOut) {
    throw new FfmpegError(describe('ffprobe', 'timeout', `after ${timeoutMs} ms`, tail), 'timeout', tail);
  }
  if (result.failed) {
    const detail = result.exitCode !== undefined ? `exit code ${result.exitCode}` : `signal ${result.signal}`;
    throw new FfmpegError(describe('ffprobe', 'failed', detail, tail), 'failed', tail);
  }
  return { stdout: String(result.stdout), tail };
}

/**
 * ffprobe's `-show_format -show_streams` JSON for a file. `file:` keeps a colon in the name from
 * being read as a protocol.
 */
export async function runFfprobe(absPath: string, opts: RunFfprobeOptions = {}): Promise<unknown> {
  const { stdout, tail } = await ffprobeOutput(ffprobeJsonArgs(absPath), opts, 16 * 1024 * 1024);
  try {
    return JSON.parse(stdout);
  } catch {
    throw new FfmpegError('ffprobe printed no readable JSON', 'failed', tail);
  }
}
