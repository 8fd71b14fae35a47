import type { Bus } from '@lumen/bus';
import { jobSubjects, parsePayload, type VideoJob } from '@lumen/core';
import type { VideoOutputKind } from './output-paths.ts';

/** The outputs a video gets, each made by its own job. */
export const VIDEO_OUTPUT_KINDS: readonly VideoOutputKind[] = ['hls', 'preview'];

/** The job subject that makes each output. */
export const jobSubjectOf: Record<
  VideoOutputKind,
  typeof jobSubjects.videoHls | typeof jobSubjects.videoPreview
> = {
  hls: jobSubjects.videoHls,
  preview: jobSubjects.videoPreview,
};

/** The dedup id of a video job: one job per output in the bus's dedup window, however often asked. */
export function videoJobDedupId(kind: VideoOutputKind, contentHash: string): string {
  return `${kind}:${contentHash}`;
}

/** Validates and enqueues one video job (with its dedup id). For the transcoder and the API alike. */
export async function enqueueVideoJob(bus: Bus, kind: VideoOutputKind, job: VideoJob): Promise<void> {
  const subject = jobSubjectOf[kind];
  await bus.enqueue(subject, parsePayload(subject, job), { dedupId: videoJobDedupId(kind, job.contentHash) });
}
