import { Worker } from 'node:worker_threads';
import { DEFAULT_SKIPPED_DIR_NAMES, type ListedFile, UPLOAD_TEMP_NAME } from '@lumen/core';

/** One directory as the walk saw it; `dir` is posix, relative to the root, `''` for the root. */
export interface WalkedDirectory {
  type: 'dir';
  dir: string;
  dirMtimeMs: number;
  files: ListedFile[];
  /** Names that were not valid UTF-8 (files and folders): nothing can open them, they are skipped. */
  unreadable: string[];
  /** Upload temporary files (`.upload-<hex>.part`, never in `files`) with their mtimes. */
  uploadTemps: { name: string; mtimeMs: number }[];
}

/** A directory that could not be listed (the walk goes on). */
export interface WalkError {
  type: 'error';
  dir: string;
  code: string;
  message: string;
}

export interface WalkStats {
  dirs: number;
  files: number;
  skippedSymlinks: number;
  errors: number;
}

export type WalkEvent = WalkedDirectory | WalkError;

export interface WalkOptions {
  /** Folder names never descended into (dot-folders are always skipped). */
  skipDirNames?: readonly string[];
  /** Directory messages the worker may have outstanding before it waits. Default 16. */
  maxInFlight?: number;
  /**
   * The walk is declared hung (a dead NFS mount) when the consumer waits and the worker makes no
   * file-system progress for this long. Default 120 000.
   */
  stallTimeoutMs?: number;
  signal?: AbortSignal;
}

export class WalkStalledError extends Error {
  constructor(root: string, ms: number) {
    super(`directory walk of ${root} made no progress for ${ms} ms`);
    this.name = 'WalkStalledError';
  }
}

const IN_FLIGHT = 0;
const CANCEL = 1;
const FS_OPS = 2;
const WORKER_URL = new URL('./directory-walk.worker.mjs', import.meta.url);

type WorkerMessage = WalkEvent | { type: 'done'; stats: WalkStats };

/**
 * Walk `root` in a worker thread, yielding one event per directory. Break out of the loop (or
 * abort the signal) to stop the walk early; the worker is terminated either way. Returns the
 * walk's counts when it completes.
 */
export async function* walkDirectories(
  root: string,
  opts: WalkOptions = {},
): AsyncGenerator<WalkEvent, WalkStats, undefined> {
  const shared = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
  const state = new Int32Array(shared);
  const stallTimeoutMs = opts.stallTimeoutMs ?? 120_000;
  const worker = new Worker(WORKER_URL, {
    workerData: {
      root,
      skipDirNames: [...(opts.skipDirNames ?? DEFAULT_SKIPPED_DIR_NAMES)],
      maxInFlight: opts.maxInFlight ?? 16,
      shared,
      uploadTempPattern: UPLOAD_TEMP_NAME.source,
    },
  });
  worker.unref();

  const queue: WorkerMessage[] = [];
  let failure: Error | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  worker.on('message', (m: WorkerMessage) => {
    queue.push(m);
    notify();
  });
  worker.on('error', (err) => {
    failure = err;
    notify();
  });
  worker.on('exit', (code) => {
    exited = true;
    if (code !== 0 && !failure) failure = new Error(`directory walk worker exited with code ${code}`);
    notify();
  });
  const onAbort = () => notify();
  opts.signal?.addEventListener('abort', onAbort);

  /** Wait for the next message; a worker that stops touching the file system for too long is hung. */
  const next = async (): Promise<WorkerMessage | undefined> => {
    let lastOps = Atomics.load(state, FS_OPS);
    let lastProgress = Date.now();
    while (queue.length === 0) {
      if (failure) throw failure;
      if (opts.signal?.aborted) return undefined;
      if (exited) throw new Error('directory walk worker exited before it finished');
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(notify, Math.min(1000, stallTimeoutMs)).unref();
      });
      const ops = Atomics.load(state, FS_OPS);
      if (ops !== lastOps) {
        lastOps = ops;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress >= stallTimeoutMs && queue.length === 0) {
        throw new WalkStalledError(root, stallTimeoutMs);
      }
    }
    const message = queue.shift()!;
    Atomics.sub(state, IN_FLIGHT, 1);
    Atomics.notify(state, IN_FLIGHT);
    return message;
  };

  try {
    for (;;) {
      const message = await next();
      if (!message) throw opts.signal?.reason ?? new Error('directory walk aborted');
      if (message.type === 'done') return message.stats;
      yield message;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    Atomics.store(state, CANCEL, 1);
    Atomics.notify(state, IN_FLIGHT);
    // A worker stuck in a system call on a dead mount may never exit: do not wait for it.
    if (!exited) void worker.terminate().catch(() => {});
  }
}
