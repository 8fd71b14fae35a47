import type { Bus, DeadLetter, JobMessage } from '@lumen/bus';
import { deadLetter, safeParsePayload, type VideoJob } from '@lumen/core';
import { type OpenedLibraryFile, openCheckedPath, openLibraryFile } from '@lumen/media';
import type { Logger } from '@lumen/runtime';
import {
  clearFailureRecord,
  jobSubjectOf,
  outputExists,
  readFailureRecord,
  type VideoOutputDirs,
  type VideoOutputKind,
  writeFailureRecord,
} from '@lumen/video';
import { naming } from './ffmpeg-process.ts';
import { makeHls } from './hls/make-hls.ts';
import type { LibraryRoots } from './library-roots.ts';
import { makePreview } from './preview/make-preview.ts';
import type { SegmentRuns } from './stream/segment-runs.ts';
import { publishVideoStatus } from './video-status.ts';
import type { WorkContext } from './work-context.ts';

export interface VideoJobWorkerDeps {
  bus: Bus;
  logger: Logger;
  dirs: VideoOutputDirs;
  /** Same number the consumers use: on this attempt a failure is final. */
  maxAttempts: number;
  /**
   * How often a running job tells the bus it is still alive (`job.working()`) and repeats its
   * `running` status (the api's heartbeat), ms. A third of the ack wait.
   */
  heartbeatMs: number;
  /** Aborted when the transcoder stops. */
  signal: AbortSignal;
  /** Where HLS segments are made (shared with the viewers' requests). */
  runs: SegmentRuns;
  ffmpegPath?: string;
  ffprobePath?: string;
  stallTimeoutMs?: number;
  /** Library roots by name: a job's source is opened by `{library, relPath}` under its root. */
  roots?: LibraryRoots;
}

export interface VideoJobWorker {
  handle(kind: VideoOutputKind, job: JobMessage<unknown>): Promise<void>;
  /** Distinct outputs being made right now (joined jobs count once). */
  running(): number;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Handles `video.hls` and `video.preview` jobs:
 * - an invalid payload is dead-lettered at once (no retry can fix it);
 * - an output that exists is a no-op (`ready`);
 * - a job for an output this process is already making joins that work (one ffmpeg, both acked);
 * - while ffmpeg runs, the job is kept alive with `working()` and `running` is published again
 *   every `heartbeatMs` (a heartbeat: a job whose worker died reads as queued at the api);
 * - a new run first removes an old failure record (the output is being retried);
 * - success publishes `ready`; a failure throws, so the bus naks
 *   with backoff (`queued` with the error is published) or, on the last attempt, dead-letters it with
 *   the ffmpeg error text (a failure record is written and `failed` published first);
 * - when the transcoder stops mid-job, ffmpeg is killed and the job is handed back at once.
 */
export function createVideoJobWorker(deps: VideoJobWorkerDeps): VideoJobWorker {
  const { bus, dirs, signal } = deps;
  const inFlight = new Map<string, Promise<unknown>>();

  async function work(kind: VideoOutputKind, job: VideoJob, logger: Logger): Promise<unknown> {
    const ctx: WorkContext = {
      signal,
      logger,
      ...(deps.ffmpegPath ? { ffmpegPath: deps.ffmpegPath } : {}),
      ...(deps.ffprobePath ? { ffprobePath: deps.ffprobePath } : {}),
      ...(deps.stallTimeoutMs ? { stallTimeoutMs: deps.stallTimeoutMs } : {}),
    };
    // The source must be the library's file (opened, then checked under its root). ffprobe and
    // ffmpeg read it through its checked descriptor, /proc/<pid>/fd/<fd>: the preview here, the
    // stream plan and every segment run by opening the plan's path the same way (stream/).
    const source = await openVideoSource(job, deps.roots);
    try {
      if (kind === 'hls')
        return await makeHls({ ...job, sourcePath: source.realPath }, dirs.videoDir, ctx, deps.runs);
      return await makePreview({ ...job, sourcePath: source.procPath }, dirs, ctx);
    } catch (err) {
      throw naming(err, source.procPath, source.realPath);
    } finally {
      await source.close();
    }
  }

  async function deadLetterNow(subject: string, job: JobMessage<unknown>, error: string): Promise<void> {
    const letter: DeadLetter = { subject, data: job.data, attempts: job.attempt, error };
    deps.logger.error({ subject, error }, 'invalid video job dead-lettered');
    await bus.publish(deadLetter(subject), letter);
  }

  async function handle(kind: VideoOutputKind, job: JobMessage<unknown>): Promise<void> {
    const subject = jobSubjectOf[kind];
    const parsed = safeParsePayload(subject, job.data);
    if (!parsed.ok) {
      await deadLetterNow(subject, job, parsed.error.message);
      return;
    }
    const data = parsed.data;
    const hash = data.contentHash;
    const logger = deps.logger.child({
      kind,
      contentHash: hash,
      library: data.library,
      relPath: data.relPath,
      attempt: job.attempt,
    });

    if (await outputExists(dirs, kind, hash)) {
      logger.debug('output exists; nothing to do');
      await publishVideoStatus(bus, logger, kind, hash, 'ready');
      return;
    }
    if (signal.aborted) {
      await job.nak();
      return;
    }

    const key = `${kind}:${hash}`;
    let running = inFlight.get(key);
    if (running) {
      logger.info('joining the run already making this output');
    } else {
      // A new run: an old failure record no longer describes this output (retried on request).
      running = clearFailureRecord(dirs, kind, hash)
        .then(() => work(kind, data, logger))
        .finally(() => inFlight.delete(key));
      inFlight.set(key, running);
    }
    const sendRunning = () =>
      publishVideoStatus(bus, logger, kind, hash, 'running', undefined, deps.heartbeatMs);
    await sendRunning();

    const heartbeat = setInterval(() => {
      job.working().catch((err: unknown) => logger.warn({ err }, 'could not extend the job'));
      void sendRunning();
    }, deps.heartbeatMs);
    heartbeat.unref();
    try {
      await running;
    } catch (err) {
      if (signal.aborted) {
        logger.info('transcoder stopping: job handed back');
        await job.nak();
        return;
      }
      const error = errorText(err);
      if (job.attempt >= deps.maxAttempts) {
        logger.error({ error }, 'video job failed for good');
        await writeFailureRecord(dirs, {
          kind,
          contentHash: hash,
          error,
          attempts: job.attempt,
          at: new Date().toISOString(),
        }).catch((writeErr: unknown) => logger.warn({ err: writeErr }, 'could not write the failure record'));
        await publishVideoStatus(bus, logger, kind, hash, 'failed', error);
      } else {
        logger.warn({ error }, 'video job failed; it will be retried');
        const retry = `attempt ${job.attempt} of ${deps.maxAttempts} failed: ${error}`;
        await publishVideoStatus(bus, logger, kind, hash, 'queued', retry);
      }
      throw new Error(error);
    } finally {
      clearInterval(heartbeat);
    }

    await publishVideoStatus(bus, logger, kind, hash, 'ready');
  }

  return { handle, running: () => inFlight.size };
}

/**
 * Open a job's source and check the descriptor: under its library's root by `relPath` when the
 * library is configured here (the file must be inside the real root), else by `sourcePath`, which
 * must then be exactly where the descriptor's file is (no symlink swapped in on the way).
 */
export async function openVideoSource(job: VideoJob, roots?: LibraryRoots): Promise<OpenedLibraryFile> {
  const root = roots?.get(job.library);
  const opened = root ? await openLibraryFile(root, job.relPath) : await openCheckedPath(job.sourcePath);
  if (!opened.stats.isFile()) {
    await opened.close();
    throw new Error(`${job.relPath} is not a regular file`);
  }
  return opened;
}

export interface DeadLetterRecorderDeps {
  bus: Bus;
  logger: Logger;
  dirs: VideoOutputDirs;
}

/**
 * `dlq.video.*` handler. A job that failed in our handler already has its failure record; but the bus
 * also dead-letters a job nobody acked in time on its last delivery (a transcoder that crashed on
 * this very file each time, e.g. killed for memory). This writes the record and publishes `failed`
 * for those too, so the API can show the reason and ingest does not enqueue the crash again.
 */
export function createDeadLetterRecorder(
  deps: DeadLetterRecorderDeps,
): (letter: DeadLetter, subject: string) => Promise<void> {
  return async (letter, subject) => {
    const kind = (Object.keys(jobSubjectOf) as VideoOutputKind[]).find(
      (k) => deadLetter(jobSubjectOf[k]) === subject,
    );
    if (!kind) return;
    const parsed = safeParsePayload(jobSubjectOf[kind], letter.data);
    if (!parsed.ok) return;
    const hash = parsed.data.contentHash;
    if ((await readFailureRecord(deps.dirs, kind, hash)) || (await outputExists(deps.dirs, kind, hash)))
      return;
    const error = typeof letter.error === 'string' ? letter.error : 'dead-lettered';
    const attempts = typeof letter.attempts === 'number' ? letter.attempts : 0;
    deps.logger.error({ kind, contentHash: hash, error, attempts }, 'video job dead-lettered by the bus');
    await writeFailureRecord(deps.dirs, {
      kind,
      contentHash: hash,
      error,
      attempts,
      at: new Date().toISOString(),
    });
    await publishVideoStatus(deps.bus, deps.logger, kind, hash, 'failed', error);
  };
}
