import { type FSWatcher, watch } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type StreamPlan, segmentFileName, segmentIndexOf } from '@lumen/core';
import { type OpenedLibraryFile, openCheckedPath } from '@lumen/media';
import type { Logger } from '@lumen/runtime';
import { claimStaging, hlsPaths, releaseStaging, removeStaleStaging } from '@lumen/video';
import { FfmpegError, naming, runFfmpeg } from '../ffmpeg-process.ts';
import { segmentRunArgs } from './segment-args.ts';

/**
 * Segments on demand. A request for a segment that is not on disk starts an ffmpeg run from that
 * segment's start, or joins the run of the same rendition that will write it soon; the run writes
 * the following segments in order, a few ahead of what was asked (then it is paused with SIGSTOP
 * until someone asks further), and stops when nobody asked for a while, when it reaches a segment
 * another run made, or at the end. A request far from every run starts a new run; the runs of that
 * rendition that nobody asked lately stop then. Finished segments are renamed into the
 * content-addressed store (`<hex>/<rendition>/seg<NNNNN>.ts`), so one made is never made again.
 *
 * Waited-for segments come first: while a viewer waits for a segment, every run nobody waits on (a
 * viewer's read-ahead, the background job) is paused with SIGSTOP, so the few cores go to what a
 * player needs now. The read-ahead of the run from 0 would otherwise take half the CPU from the run
 * a seek started and double the time to its first segment.
 */

export interface SegmentRunsOptions {
  videoDir: string;
  logger: Logger;
  /** Aborted when the transcoder stops: every run is killed. */
  signal: AbortSignal;
  /** Segments a viewer's run writes past the furthest one asked for before it pauses. Default 3. */
  aheadSegments?: number;
  /** A viewer's run nobody asked anything for this long stops, ms. Default 20 000. */
  idleMs?: number;
  /** When a new run starts, other runs of the rendition not asked for this long stop, ms. Default 3 000. */
  abandonMs?: number;
  /** How often a run's folder is looked at for finished segments, ms. Default 100. */
  pollMs?: number;
  ffmpegPath?: string;
}

export interface SegmentOrigin {
  /** `disk`: it was there; `run`: a run made it for this request (or one it joined). */
  made: 'disk' | 'run';
}

export interface RunInfo {
  contentHash: string;
  rendition: string;
  from: number;
  next: number;
  paused: boolean;
  background: boolean;
  pid: number | undefined;
}

/** The run was stopped (idle, abandoned, caught up) before it wrote the segment: ask again. */
class RunStopped extends Error {
  override name = 'RunStopped';
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Run {
  id: number;
  key: string;
  plan: StreamPlan;
  rendition: string;
  from: number;
  /** Lowest segment this run has not published yet. */
  next: number;
  /** Furthest segment asked of this run. */
  wanted: number;
  /** Last request to this run (a seek elsewhere abandons runs not asked lately). */
  lastAskedAt: number;
  /** Last request or delivery (a run idle since this long stops). */
  lastReadAt: number;
  background: boolean;
  paused: boolean;
  stopping: string | null;
  ended: boolean;
  pid: number | undefined;
  abort: AbortController;
  staging: string;
  waiters: Map<number, Waiter[]>;
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** Calls `onChange` when something in `dir` changes; undefined where the file system cannot say. */
function watchFolder(dir: string, onChange: () => void): FSWatcher | undefined {
  try {
    const watcher = watch(dir, { persistent: false }, onChange);
    watcher.on('error', () => watcher.close());
    return watcher;
  } catch {
    return undefined;
  }
}

function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, sig);
  } catch {
    // exited already
  }
}

export class SegmentRuns {
  readonly #opts: Required<Omit<SegmentRunsOptions, 'ffmpegPath'>> & { ffmpegPath?: string };
  readonly #runs = new Set<Run>();
  #nextId = 1;
  readonly #idleTimer: NodeJS.Timeout;

  constructor(opts: SegmentRunsOptions) {
    this.#opts = {
      aheadSegments: 3,
      idleMs: 20_000,
      abandonMs: 3_000,
      pollMs: 100,
      ...opts,
    };
    this.#idleTimer = setInterval(() => this.#stopIdle(), Math.min(1_000, this.#opts.idleMs / 2));
    this.#idleTimer.unref();
    opts.signal.addEventListener('abort', () => this.stopAll(), { once: true });
  }

  /** The runs alive now (for tests, metrics and logs). */
  runs(): RunInfo[] {
    return [...this.#runs].map((r) => ({
      contentHash: r.plan.contentHash,
      rendition: r.rendition,
      from: r.from,
      next: r.next,
      paused: r.paused,
      background: r.background,
      pid: r.pid,
    }));
  }

  /**
   * Resolves when segment `index` of `rendition` is on disk. `background`: asked by the
   * whole-stream job (its runs are niced, never paused, never idle).
   */
  async segment(
    plan: StreamPlan,
    rendition: string,
    index: number,
    opts: { background?: boolean } = {},
  ): Promise<SegmentOrigin> {
    if (!plan.renditions.some((r) => r.name === rendition)) {
      throw new RangeError(`the stream has no rendition ${rendition}`);
    }
    if (!Number.isInteger(index) || index < 0 || index >= plan.segments.length) {
      throw new RangeError(`the stream has no segment ${index} (it has ${plan.segments.length})`);
    }
    const target = hlsPaths(this.#opts.videoDir, plan.contentHash).segment(rendition, index);
    const background = opts.background ?? false;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await exists(target)) return { made: 'disk' };
      if (this.#opts.signal.aborted) throw new FfmpegError('the transcoder is stopping', 'cancelled', '');
      const key = `${plan.contentHash}:${rendition}`;
      const run = this.#joinable(key, index) ?? this.#start(plan, rendition, index, background);
      try {
        await this.#wait(run, index, background);
        return { made: 'run' };
      } catch (err) {
        if (!(err instanceof RunStopped)) throw err;
      }
    }
    throw new Error(`segment ${index} of ${rendition} could not be made: its runs kept stopping`);
  }

  /** Kills every run (the transcoder stops). */
  stopAll(): void {
    clearInterval(this.#idleTimer);
    for (const run of this.#runs) this.#stop(run, 'transcoder stopping');
  }

  /** A live run of `key` that will write `index` soon: from its next segment to a few beyond. */
  #joinable(key: string, index: number): Run | undefined {
    let best: Run | undefined;
    for (const run of this.#runs) {
      if (run.key !== key || run.stopping || run.ended) continue;
      if (index < run.next || index > run.next + this.#opts.aheadSegments + 2) continue;
      if (!best || run.next > best.next) best = run;
    }
    return best;
  }

  #wait(run: Run, index: number, background: boolean): Promise<void> {
    run.wanted = Math.max(run.wanted, index);
    if (!background) {
      run.lastAskedAt = Date.now();
      run.lastReadAt = run.lastAskedAt;
      run.background = false;
    }
    const waited = new Promise<void>((resolve, reject) => {
      const list = run.waiters.get(index) ?? [];
      list.push({ resolve, reject });
      run.waiters.set(index, list);
    });
    this.#schedule();
    return waited;
  }

  #start(plan: StreamPlan, rendition: string, from: number, background: boolean): Run {
    const key = `${plan.contentHash}:${rendition}`;
    const now = Date.now();
    // A seek: the runs of this rendition that nobody reads any more stop.
    for (const other of this.#runs) {
      if (
        other.key === key &&
        !other.background &&
        other.waiters.size === 0 &&
        now - other.lastAskedAt > this.#opts.abandonMs
      ) {
        this.#stop(other, 'abandoned for a run elsewhere');
      }
    }
    const renditionDir = path.dirname(hlsPaths(this.#opts.videoDir, plan.contentHash).segment(rendition, 0));
    const run: Run = {
      id: this.#nextId++,
      key,
      plan,
      rendition,
      from,
      next: from,
      wanted: from,
      lastAskedAt: now,
      lastReadAt: now,
      background,
      paused: false,
      stopping: null,
      ended: false,
      pid: undefined,
      abort: new AbortController(),
      staging: claimStaging(path.join(renditionDir, 'run')),
      waiters: new Map(),
    };
    this.#runs.add(run);
    this.#opts.logger.info(
      { contentHash: plan.contentHash, rendition, from, background, run: run.id },
      'segment run starting',
    );
    void this.#execute(run, renditionDir);
    return run;
  }

  async #execute(run: Run, renditionDir: string): Promise<void> {
    const started = performance.now();
    let poller: NodeJS.Timeout | undefined;
    let watcher: FSWatcher | undefined;
    let harvesting: Promise<void> = Promise.resolve();
    // One look queued at most: the folder watcher fires on every write ffmpeg makes.
    let queued = false;
    const harvest = (final: boolean) => {
      if (queued && !final) return harvesting;
      queued = true;
      harvesting = harvesting
        .then(() => {
          queued = false;
          return this.#harvest(run, renditionDir, final);
        })
        .catch((err: unknown) => {
          this.#opts.logger.warn({ err, run: run.id }, 'could not publish a segment');
        });
      return harvesting;
    };
    let failure: Error | undefined;
    let source: OpenedLibraryFile | undefined;
    try {
      await fs.mkdir(renditionDir, { recursive: true });
      const removed = await removeStaleStaging(path.join(renditionDir, 'run'));
      if (removed.length > 0) {
        this.#opts.logger.info({ removed }, 'removed staging folders left by a crashed transcoder');
      }
      await fs.mkdir(run.staging);
      poller = setInterval(() => void harvest(false), this.#opts.pollMs);
      // ffmpeg opening the next file is when a segment is finished: look at once (the poll stays,
      // for file systems without notifications).
      watcher = watchFolder(run.staging, () => void harvest(false));
      const remaining = run.plan.durationSec - (run.plan.segments[run.from]?.startSec ?? 0);
      // ffmpeg reads the source through its opened, checked descriptor (/proc/<pid>/fd/<fd>): a
      // folder swapped for a symlink since the plan was made cannot hand it another file.
      source = await openCheckedPath(run.plan.sourcePath);
      await runFfmpeg(segmentRunArgs(run.plan, run.rendition, run.from, source.procPath), {
        cwd: run.staging,
        timeoutMs: 300_000 + remaining * 20_000,
        stallTimeoutMs: 60_000,
        signal: AbortSignal.any([run.abort.signal, this.#opts.signal]),
        lowPriority: run.background,
        onSpawn: (pid) => {
          run.pid = pid;
          // Paused before ffmpeg existed (it yields to a waited-for segment): it starts stopped.
          if (run.paused) signal(pid, 'SIGSTOP');
        },
        isPaused: () => run.paused,
        ...(this.#opts.ffmpegPath ? { ffmpegPath: this.#opts.ffmpegPath } : {}),
      });
      clearInterval(poller);
      watcher?.close();
      await harvest(true);
    } catch (err) {
      clearInterval(poller);
      watcher?.close();
      await harvest(false);
      const named = source ? naming(err, source.procPath, run.plan.sourcePath) : err;
      failure = run.stopping ? new RunStopped(run.stopping) : (named as Error);
    } finally {
      await source?.close();
      run.ended = true;
      await releaseStaging(run.staging).catch(() => undefined);
      this.#runs.delete(run);
    }
    const leftOver = failure ?? new RunStopped('the run ended before this segment');
    for (const list of run.waiters.values()) for (const w of list) w.reject(leftOver);
    run.waiters.clear();
    this.#schedule();
    this.#opts.logger.info(
      {
        contentHash: run.plan.contentHash,
        rendition: run.rendition,
        run: run.id,
        from: run.from,
        to: run.next - 1,
        elapsedMs: Math.round(performance.now() - started),
        ...(run.stopping ? { stopped: run.stopping } : {}),
        ...(failure && !run.stopping ? { error: failure.message } : {}),
      },
      'segment run ended',
    );
  }

  /** Moves the finished segments of a run into the store and answers who waited for them. */
  async #harvest(run: Run, renditionDir: string, final: boolean): Promise<void> {
    let names: string[];
    try {
      names = await fs.readdir(run.staging);
    } catch {
      return;
    }
    const indexes = names
      .map((name) => segmentIndexOf(name))
      .filter((i): i is number => i !== undefined && i >= run.next)
      .sort((a, b) => a - b);
    // The highest file is still being written unless ffmpeg finished.
    const finished = final ? indexes : indexes.slice(0, -1);
    for (const index of finished) {
      const name = segmentFileName(index);
      const from = path.join(run.staging, name);
      const to = path.join(renditionDir, name);
      if (await exists(to)) await fs.rm(from, { force: true });
      else await fs.rename(from, to);
      run.next = index + 1;
      // A reader got it just now: the idle time counts from here.
      if (run.waiters.has(index) && !run.background) run.lastReadAt = Date.now();
      for (const w of run.waiters.get(index) ?? []) w.resolve();
      run.waiters.delete(index);
    }
    if (run.stopping || final || finished.length === 0) return;
    // Another run already made what comes next: this one has nothing left to add here.
    if (
      run.next < run.plan.segments.length &&
      (await exists(path.join(renditionDir, segmentFileName(run.next))))
    ) {
      this.#stop(run, 'reached segments made by another run');
      return;
    }
    this.#schedule();
  }

  /** A viewer waits on this run now. */
  #urgent(run: Run): boolean {
    return !run.background && run.waiters.size > 0 && !run.stopping && !run.ended;
  }

  /**
   * Pauses or resumes every run: a viewer's run pauses once it is `aheadSegments` past the furthest
   * segment asked of it, and every run nobody waits on pauses while a viewer waits on another.
   */
  #schedule(): void {
    const someoneWaits = [...this.#runs].some((run) => this.#urgent(run));
    for (const run of this.#runs) {
      if (run.stopping || run.ended) continue;
      const aheadEnough = !run.background && run.next > run.wanted + this.#opts.aheadSegments;
      const yields = someoneWaits && !this.#urgent(run);
      const pause = aheadEnough || yields;
      if (pause === run.paused) continue;
      run.paused = pause;
      signal(run.pid, pause ? 'SIGSTOP' : 'SIGCONT');
    }
  }

  #stop(run: Run, why: string): void {
    if (run.stopping || run.ended) return;
    run.stopping = why;
    run.abort.abort();
    if (run.paused) signal(run.pid, 'SIGCONT');
  }

  #stopIdle(): void {
    const now = Date.now();
    for (const run of this.#runs) {
      // Someone still waits for a segment of it: not idle, however slow it is.
      if (run.waiters.size > 0) continue;
      if (!run.background && now - run.lastReadAt > this.#opts.idleMs) this.#stop(run, 'idle');
    }
  }
}
