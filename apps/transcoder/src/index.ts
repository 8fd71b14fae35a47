export { FfmpegError, type FfmpegFailure } from './ffmpeg-process.ts';
export { HLS_SEGMENT_SECONDS, hlsFfmpegArgs, planHls } from './hls/hls-plan.ts';
export { type HlsManifest, hlsTimeoutMs } from './hls/make-hls.ts';
export { createIngestTrigger } from './ingest-trigger.ts';
export {
  LibraryPathError,
  type LibraryRoots,
  libraryRootsFrom,
  resolveLibraryFile,
} from './library-roots.ts';
export {
  clipWindow,
  GIF_WIDTH,
  PREVIEW_CLIP_SECONDS,
  PREVIEW_CLIP_WIDTH,
  previewFfmpegArgs,
} from './preview/preview-plan.ts';
export { probeSource, type SourceFacts } from './source-facts.ts';
export * from './start.ts';
export { ensureStreamPlan, presetFor, streamPlanOf } from './stream/plan-stream.ts';
export { segmentRunArgs, TS_OFFSET_BASE_SEC } from './stream/segment-args.ts';
export { type RunInfo, SegmentRuns, type SegmentRunsOptions } from './stream/segment-runs.ts';
export { openVideoSource } from './video-jobs.ts';
