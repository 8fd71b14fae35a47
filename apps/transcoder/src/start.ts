import fs from 'node:fs/promises';
import os from 'node:os';
import type { Bus, ConsumeOptions, Consumer, DeadLetter, JobMessage, Subscription } from '@lumen/bus';
import {
  type Config,
  deadLetter,
  jobSubjects,
  type SegmentReply,
  segmentRequestSchema,
  streamPlanRequestSchema,
  videoRequestSubjects,
} from '@lumen/core';
import type { Logger } from '@lumen/runtime';
import { jobSubjectOf, readStreamPlan } from '@lumen/video';
import type { Registry } from 'prom-client';
import { createIngestTrigger } from './ingest-trigger.ts';
import { type LibraryRoots, libraryRootsFrom } from './library-roots.ts';
import { ensureStreamPlan } from './stream/plan-stream.ts';
import { SegmentRuns, type SegmentRunsOptions } from './stream/segment-runs.ts';
import { createTranscoderMetrics } from './transcoder-metrics.ts';
import { createDeadLetterRecorder, createVideoJobWorker } from './video-jobs.ts';

/** Knobs beyond the environment; tests and benchmarks use them to run fast. */
export interface TranscoderOptions {
  /**
   * Jobs of each kind (HLS, preview) handled at once. Default `TRANSCODE_CONCURRENCY`, else one per
   * two cores. A preview takes seconds, so a long HLS transcode never starves the video wall.
   */
  concurrency?: number;
  /** Deliveries before a job is dead-lettered. Default `TRANSCODE_MAX_ATTEMPTS` (3). */
  maxAttempts?: number;
  /**
   * A job not acked nor kept alive (`working()`, every third of this) for this long is redelivered
   * to another replica, ms. Default `TRANSCODE_ACK_WAIT_SECONDS` (15 s).
   */
  ackWaitMs?: number;
  /** Delay before each retry, ms (the last entry repeats). Default [15 000, 60 000, 300 000]. */
  backoffMs?: number[];
  /** How long stop() waits for jobs to hand themselves back after ffmpeg is killed, ms. Default 3 000. */
  stopGraceMs?: number;
  /** Kill ffmpeg after this long without progress, ms. Default 120 000. */
  stallTimeoutMs?: number;
  /** Take `video.ingested` jobs (enqueue both output jobs for every ingested video). Default true. */
  enqueueOnIngest?: boolean;
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Segment runs: how far ahead of a viewer, when idle, ... (defaults in SegmentRuns). */
  segmentRuns?: Pick<SegmentRunsOptions, 'aheadSegments' | 'idleMs' | 'abandonMs' | 'pollMs'>;
}

/** The transcoder is DB-free: bus and files only. */
export interface TranscoderDeps {
  config: Config;
  bus: Bus;
  logger: Logger;
  /** Library name -> root, to open the files `media.ingested` names. Default: `config.libraries`. */
  libraryRoots?: LibraryRoots;
  options?: TranscoderOptions;
}

export interface TranscoderHandle {
  stop(): Promise<void>;
  /** The transcoder's metrics (jobs by kind and outcome, job time, jobs running). */
  registry: Registry;
  /** Distinct outputs being made right now. */
  running(): number;
  /** The segment runs alive now (ffmpeg processes making segments). */
  segmentRuns(): ReturnType<SegmentRuns['runs']>;
}

/** One job per two cores: a libx264 transcode already uses both cores of a small machine. */
export function defaultTranscodeConcurrency(cores = os.availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}

/**
 * Start the transcoder: consumes `video.hls` and `video.preview` jobs, writes HLS folders, preview
 * clips and GIFs (content-addressed, atomically), reports `video.status`, and turns every ingested
 * video (`video.ingested` jobs) into both jobs.
 */
export async function start(deps: TranscoderDeps): Promise<TranscoderHandle> {
  const { config, bus } = deps;
  const opts = deps.options ?? {};
  const logger = deps.logger.child({ component: 'transcoder' });
  const concurrency = opts.concurrency ?? config.env.TRANSCODE_CONCURRENCY ?? defaultTranscodeConcurrency();
  const maxAttempts = opts.maxAttempts ?? config.env.TRANSCODE_MAX_ATTEMPTS;
  const ackWaitMs = opts.ackWaitMs ?? config.env.TRANSCODE_ACK_WAIT_SECONDS * 1000;
  const dirs = {
    videoDir: config.videoDir,
    previewClipsDir: config.previewClipsDir,
    gifsDir: config.gifsDir,
  };
  for (const dir of Object.values(dirs)) await fs.mkdir(dir, { recursive: true });

  const abort = new AbortController();
  const roots = deps.libraryRoots ?? libraryRootsFrom(config.libraries);
  const runs = new SegmentRuns({
    videoDir: config.videoDir,
    logger: logger.child({ part: 'segments' }),
    signal: abort.signal,
    ...(opts.ffmpegPath ? { ffmpegPath: opts.ffmpegPath } : {}),
    ...opts.segmentRuns,
  });
  const requestContext = {
    signal: abort.signal,
    logger,
    ...(opts.ffprobePath ? { ffprobePath: opts.ffprobePath } : {}),
  };
  const worker = createVideoJobWorker({
    runs,
    bus,
    logger,
    dirs,
    roots,
    maxAttempts,
    heartbeatMs: Math.max(100, Math.floor(ackWaitMs / 3)),
    signal: abort.signal,
    ...(opts.ffmpegPath ? { ffmpegPath: opts.ffmpegPath } : {}),
    ...(opts.ffprobePath ? { ffprobePath: opts.ffprobePath } : {}),
    ...(opts.stallTimeoutMs ? { stallTimeoutMs: opts.stallTimeoutMs } : {}),
  });
  const metrics = createTranscoderMetrics(() => worker.running());
  const handle = async (kind: 'hls' | 'preview', job: JobMessage<unknown>) => {
    const end = metrics.jobSeconds.startTimer({ kind });
    try {
      await worker.handle(kind, job);
      metrics.jobs.inc({ kind, outcome: 'done' });
    } catch (err) {
      metrics.jobs.inc({ kind, outcome: 'failed' });
      throw err;
    } finally {
      end();
    }
  };
  const consumeOptions: ConsumeOptions = {
    concurrency,
    maxAttempts,
    ackWaitMs,
    backoffMs: opts.backoffMs ?? [15_000, 60_000, 300_000],
    stopGraceMs: opts.stopGraceMs ?? 3_000,
  };

  const consumers: Consumer[] = [];
  const subscriptions: Subscription[] = [];
  try {
    const recordDeadLetter = createDeadLetterRecorder({ bus, logger, dirs });
    for (const subject of Object.values(jobSubjectOf)) {
      subscriptions.push(await bus.subscribe<DeadLetter>(deadLetter(subject), recordDeadLetter));
    }
    // What a viewer waits for: answered now by any one transcoder (request/reply, not the queue).
    subscriptions.push(
      await bus.respond(videoRequestSubjects.streamPlan, async (data) =>
        ensureStreamPlan(streamPlanRequestSchema.parse(data), config.videoDir, requestContext),
      ),
    );
    subscriptions.push(
      await bus.respond(videoRequestSubjects.segment, async (data): Promise<SegmentReply> => {
        const request = segmentRequestSchema.parse(data);
        const plan = await readStreamPlan(config.videoDir, request.contentHash);
        if (!plan) throw new Error(`no stream plan for ${request.contentHash}`);
        return runs.segment(plan, request.rendition, request.index);
      }),
    );
    consumers.push(await bus.consume(jobSubjectOf.hls, (job) => handle('hls', job), consumeOptions));
    consumers.push(await bus.consume(jobSubjectOf.preview, (job) => handle('preview', job), consumeOptions));
    if (opts.enqueueOnIngest ?? true) {
      // A work item, not the media.ingested event: what was ingested while no transcoder ran waits
      // in the queue. Cheap (file checks and two enqueues), so several at once.
      const trigger = createIngestTrigger({ bus, logger, dirs, roots });
      consumers.push(
        await bus.consume(jobSubjects.videoIngested, (job) => trigger(job.data), {
          concurrency: 4,
          maxAttempts,
          backoffMs: [1_000, 5_000, 30_000],
          stopGraceMs: consumeOptions.stopGraceMs ?? 3_000,
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled([
      ...consumers.map((c) => c.stop()),
      ...subscriptions.map((s) => s.unsubscribe()),
    ]);
    throw err;
  }
  logger.info(
    { ...dirs, concurrency, maxAttempts, ackWaitMs, bus: bus.status().transport },
    'transcoder started',
  );

  let stopped = false;
  return {
    registry: metrics.registry,
    running: () => worker.running(),
    segmentRuns: () => runs.runs(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(subscriptions.map((s) => s.unsubscribe()));
      // Take no new jobs, then kill ffmpeg: running jobs hand themselves back for another replica.
      const stopping = consumers.map((c) => c.stop());
      abort.abort();
      await Promise.all(stopping);
      logger.info({ running: worker.running() }, 'transcoder stopped');
    },
  };
}
