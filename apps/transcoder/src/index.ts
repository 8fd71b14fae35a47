export { FfmpegError, type FfmpegFailure } from './ffmpeg-process.ts';
export { HLS_SEGMENT_SECONDS, hlsFfmpegArgs, planHls } from './hls/hls-plan.ts';
export { type HlsManifest, hlsTimeoutMs } from './hls/make-hls.ts';
export {
  createIngestTrigger,
  enqueueVideoJob,
  VIDEO_OUTPUT_KINDS,
  videoJobDedupId,
} from './ingest-trigger.ts';
export {
  LibraryPathError,
  type LibraryRoots,
  libraryRootsFrom,
  resolveLibraryFile,
} from './library-roots.ts';
export {
  gifPath,
  HLS_FILE_PATTERN,
  HLS_MASTER_PLAYLIST,
  type HlsPaths,
  hlsPaths,
  previewClipPath,
  previewFailurePath,
  type VideoOutputKind,
} from './output-paths.ts';
export {
  type FailureRecord,
  outputExists,
  readFailureRecord,
  readVideoOutputState,
  type VideoOutputDirs,
  type VideoOutputState,
} from './output-state.ts';
export {
  clipWindow,
  GIF_WIDTH,
  PREVIEW_CLIP_SECONDS,
  PREVIEW_CLIP_WIDTH,
  previewFfmpegArgs,
} from './preview/preview-plan.ts';
export { probeSource, type SourceFacts } from './source-facts.ts';
export * from './start.ts';
export { jobSubjectOf, openVideoSource } from './video-jobs.ts';
