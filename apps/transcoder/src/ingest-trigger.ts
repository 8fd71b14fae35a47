import type { Bus } from '@lumen/bus';
import { safeParsePayload, type VideoIngestedJob, type VideoJob } from '@lumen/core';
import type { Logger } from '@lumen/runtime';
import {
  enqueueVideoJob,
  readVideoOutputState,
  VIDEO_OUTPUT_KINDS,
  type VideoOutputDirs,
  type VideoOutputKind,
} from '@lumen/video';
import { LibraryPathError, type LibraryRoots, resolveLibraryFile } from './library-roots.ts';
import { publishVideoStatus } from './video-status.ts';

export interface IngestTriggerDeps {
  bus: Bus;
  logger: Logger;
  dirs: VideoOutputDirs;
  roots: LibraryRoots;
}

/**
 * `video.ingested` job handler (a work item the watcher enqueues for every ingested video, so a
 * video ingested while no transcoder runs is handled when one starts): the video gets its HLS and
 * preview jobs, unless the output is already there or failed for good before (a failure record;
 * an explicit request can still retry it). A throw hands the job back to the bus for a retry.
 */
export function createIngestTrigger(deps: IngestTriggerDeps): (data: unknown) => Promise<void> {
  return async (data) => {
    const parsed = safeParsePayload('video.ingested', data);
    if (!parsed.ok) {
      deps.logger.warn({ error: parsed.error.message }, 'ignoring an invalid video.ingested job');
      return;
    }
    const event: VideoIngestedJob = parsed.data;
    const logger = deps.logger.child({
      library: event.library,
      relPath: event.relPath,
      contentHash: event.contentHash,
    });

    const wanted: VideoOutputKind[] = [];
    for (const kind of VIDEO_OUTPUT_KINDS) {
      const state = await readVideoOutputState(deps.dirs, kind, event.contentHash);
      if (state.state === 'missing') wanted.push(kind);
    }
    if (wanted.length === 0) return;

    let sourcePath: string;
    try {
      sourcePath = await resolveLibraryFile(deps.roots, event.library, event.relPath);
    } catch (err) {
      if (!(err instanceof LibraryPathError)) throw err;
      logger.warn({ error: err.message }, 'cannot make video outputs for an ingested file');
      return;
    }
    const job: VideoJob = {
      contentHash: event.contentHash,
      sourcePath,
      library: event.library,
      relPath: event.relPath,
      requestedAt: new Date().toISOString(),
    };
    for (const kind of wanted) {
      await enqueueVideoJob(deps.bus, kind, job);
      await publishVideoStatus(deps.bus, logger, kind, event.contentHash, 'queued');
    }
    logger.debug({ kinds: wanted }, 'video jobs enqueued');
  };
}
