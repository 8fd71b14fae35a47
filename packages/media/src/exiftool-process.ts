import type { ResultPromise } from 'execa';
import { runTool } from './tool-process.ts';

/**
 * One long-lived `exiftool -stay_open True -@ -` process (about 11 ms per file instead of about
 * 207 ms for a spawn per file, most of it perl start-up).
 *
 * Protocol: each command is written as one argument per line on stdin, followed by
 * `-echo4 {readyN}` (printed to stderr once the command is done) and `-execute<N>` (after which
 * exiftool prints `{readyN}` to stdout). A command is complete when both markers arrived.
 * Commands run one at a time from a queue. A command that exceeds its time limit kills the process
 * (there is no way to cancel one command); the next command starts a fresh process. A crash does
 * the same. When exiftool is not on PATH, every command rejects with ExiftoolUnavailableError and
 * `isAvailable()` resolves false: callers treat exiftool as an optional fallback. It starts through
 * `runTool` (on Linux under `setpriv --pdeathsig KILL`), so it dies with the process that started
 * it even when that one is killed outright.
 */

export class ExiftoolUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExiftoolUnavailableError';
  }
}

export class ExiftoolCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExiftoolCommandError';
  }
}

export interface ExiftoolResult {
  /** Raw stdout of the command (binary when `-b` was used without `-json`). */
  stdout: Buffer;
  /** stderr of the command: `Error: ...` / `Warning: ...` lines and summary lines. */
  stderr: string;
}

export interface ExiftoolProcessOptions {
  /** Executable name or path; default `exiftool`. */
  command?: string;
  /** Default per-command limit in ms; default 20 000. */
  timeoutMs?: number;
}

type ExiftoolChild = ResultPromise<{
  stdin: 'pipe';
  stdout: 'pipe';
  stderr: 'pipe';
  buffer: false;
  reject: false;
  stripFinalNewline: false;
  cleanup: true;
}>;

interface Job {
  id: number;
  args: readonly string[];
  timeoutMs: number;
  resolve: (result: ExiftoolResult) => void;
  reject: (error: Error) => void;
}

interface Running {
  job: Job;
  timer: NodeJS.Timeout;
  stdout: Buffer[];
  stdoutLength: number;
  stderr: string;
  stdoutDone?: Buffer;
  stderrDone?: string;
}

export class ExiftoolProcess {
  readonly #command: string;
  readonly #timeoutMs: number;
  #child: ExiftoolChild | undefined;
  #queue: Job[] = [];
  #running: Running | undefined;
  #nextId = 1;
  #unavailable: string | undefined;
  #closed = false;

  constructor(options: ExiftoolProcessOptions = {}) {
    this.#command = options.command ?? 'exiftool';
    this.#timeoutMs = options.timeoutMs ?? 20_000;
  }

  /** True when a command can run: starts the process if needed and runs `-ver`. */
  async isAvailable(): Promise<boolean> {
    if (this.#unavailable !== undefined || this.#closed) return false;
    try {
      await this.execute(['-ver'], { timeoutMs: 15_000 });
      return true;
    } catch {
      return false;
    }
  }

  /** Runs one exiftool command (its arguments, without `-execute`). Arguments may not contain newlines. */
  execute(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<ExiftoolResult> {
    if (this.#closed) return Promise.reject(new ExiftoolUnavailableError('exiftool process is closed'));
    if (this.#unavailable !== undefined)
      return Promise.reject(new ExiftoolUnavailableError(this.#unavailable));
    const bad = args.find((arg) => /[\r\n]/.test(arg));
    if (bad !== undefined) {
      return Promise.reject(
        new ExiftoolCommandError(`exiftool argument contains a line break: ${JSON.stringify(bad)}`),
      );
    }
    return new Promise<ExiftoolResult>((resolve, reject) => {
      this.#queue.push({
        id: this.#nextId++,
        args,
        timeoutMs: options.timeoutMs ?? this.#timeoutMs,
        resolve,
        reject,
      });
      this.#pump();
    });
  }

  /** Asks exiftool to exit, kills it if it does not within 2 s, and rejects queued commands. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0))
      job.reject(new ExiftoolUnavailableError('exiftool process is closed'));
    if (this.#running) this.#finish(new ExiftoolUnavailableError('exiftool process is closed'));
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    try {
      child.stdin.end('-stay_open\nFalse\n');
    } catch {
      // stdin already closed: the process is gone or going
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await child;
    clearTimeout(timer);
  }

  /** The process id of the running exiftool, if one runs (for diagnostics and tests). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  #start(): ExiftoolChild {
    const args = ['-stay_open', 'True', '-@', '-'];
    // exiftool does not exit when its stdin closes (it polls for more), so one left behind by a
    // killed watcher would run forever; runTool makes the kernel kill it with its parent.
    const child = runTool(this.#command, args, {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      stripFinalNewline: false,
      cleanup: true,
    });
    child.stdout.on('data', (chunk: Buffer) => this.#onStdout(child, chunk));
    child.stderr.on('data', (chunk: Buffer) => this.#onStderr(child, chunk));
    child.stdin.on('error', () => {}); // EPIPE when the process died: handled through its exit
    void child.then((result) => {
      if (this.#child !== child) return; // replaced after a timeout, or closed
      this.#child = undefined;
      const code = (result as { code?: string }).code;
      if (code === 'ENOENT' || code === 'EACCES') {
        this.#unavailable = `exiftool is not available (${this.#command}: ${code})`;
        if (this.#running) this.#finish(new ExiftoolUnavailableError(this.#unavailable));
        for (const job of this.#queue.splice(0)) job.reject(new ExiftoolUnavailableError(this.#unavailable));
        return;
      }
      if (this.#running) {
        const detail =
          result.exitCode !== undefined ? `exit code ${result.exitCode}` : (result.signal ?? 'unknown');
        this.#finish(new ExiftoolCommandError(`exiftool exited during a command (${detail})`));
      }
      this.#pump();
    });
    return child;
  }

  #pump(): void {
    if (this.#running || this.#closed || this.#unavailable !== undefined) return;
    const job = this.#queue.shift();
    if (!job) {
      this.#setRef(false);
      return;
    }
    if (!this.#child) this.#child = this.#start();
    const child = this.#child;
    this.#setRef(true);
    const timer = setTimeout(() => this.#onTimeout(child), job.timeoutMs);
    this.#running = { job, timer, stdout: [], stdoutLength: 0, stderr: '' };
    const lines = [...job.args, '-echo4', `{ready${job.id}}`, `-execute${job.id}`];
    child.stdin.write(`${lines.join('\n')}\n`);
  }

  #onStdout(child: ExiftoolChild, chunk: Buffer): void {
    const running = this.#running;
    if (child !== this.#child || !running || running.stdoutDone) return;
    running.stdout.push(chunk);
    running.stdoutLength += chunk.length;
    // exiftool writes nothing after the marker until it gets the next command: it ends the output.
    const marker = Buffer.from(`{ready${running.job.id}}\n`);
    if (running.stdoutLength < marker.length) return;
    const tail =
      chunk.length >= marker.length
        ? chunk.subarray(chunk.length - marker.length)
        : Buffer.concat(running.stdout, running.stdoutLength).subarray(running.stdoutLength - marker.length);
    if (!tail.equals(marker)) return;
    running.stdoutDone = Buffer.concat(running.stdout, running.stdoutLength).subarray(
      0,
      running.stdoutLength - marker.length,
    );
    this.#maybeDone();
  }

  #onStderr(child: ExiftoolChild, chunk: Buffer): void {
    const running = this.#running;
    if (child !== this.#child || !running || running.stderrDone !== undefined) return;
    running.stderr += chunk.toString('utf8');
    const marker = `{ready${running.job.id}}\n`;
    if (!running.stderr.endsWith(marker)) return;
    running.stderrDone = running.stderr.slice(0, running.stderr.length - marker.length);
    this.#maybeDone();
  }

  #maybeDone(): void {
    const running = this.#running;
    if (!running || running.stdoutDone === undefined || running.stderrDone === undefined) return;
    this.#finish(undefined, { stdout: running.stdoutDone, stderr: running.stderrDone });
    this.#pump();
  }

  #onTimeout(child: ExiftoolChild): void {
    const running = this.#running;
    if (!running) return;
    this.#finish(new ExiftoolCommandError(`exiftool command timed out after ${running.job.timeoutMs} ms`));
    if (this.#child === child) this.#child = undefined;
    child.kill('SIGKILL');
    this.#pump();
  }

  #finish(error: Error | undefined, result?: ExiftoolResult): void {
    const running = this.#running;
    if (!running) return;
    this.#running = undefined;
    clearTimeout(running.timer);
    if (error) running.job.reject(error);
    else if (result) running.job.resolve(result);
  }

  /** An idle process must not keep Node alive: unref it between commands. */
  #setRef(busy: boolean): void {
    const child = this.#child;
    if (!child) return;
    const method = busy ? 'ref' : 'unref';
    child[method]();
    for (const stream of [child.stdin, child.stdout, child.stderr] as unknown as Array<{
      ref?: () => void;
      unref?: () => void;
    }>) {
      stream[method]?.();
    }
  }
}

let shared: ExiftoolProcess | undefined;

/** The process-wide exiftool instance used by default by readPhotoMetadata and extractRawPreview. */
export function sharedExiftool(): ExiftoolProcess {
  shared ??= new ExiftoolProcess();
  return shared;
}

/** Closes the shared instance (call on shutdown); a later sharedExiftool() starts a new one. */
export async function closeSharedExiftool(): Promise<void> {
  const instance = shared;
  shared = undefined;
  await instance?.close();
}
