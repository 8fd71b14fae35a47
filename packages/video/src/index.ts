/**
 * What the apps that make video outputs (transcoder) and serve them (api) share: where each output
 * lives (content-addressed), what the files say about its state, how outputs are staged and
 * published atomically, and how a video job is enqueued.
 */
export {
  gifPath,
  HLS_FILE_PATTERN,
  HLS_MASTER_PLAYLIST,
  type HlsPaths,
  hlsPaths,
  previewClipPath,
  previewFailurePath,
  STREAM_PLAN_FILE,
  type VideoOutputKind,
} from './output-paths.ts';
export {
  clearFailureRecord,
  type FailureRecord,
  failureRecordPath,
  outputExists,
  outputFiles,
  readFailureRecord,
  readVideoOutputState,
  type VideoOutputDirs,
  type VideoOutputState,
  writeFailureRecord,
} from './output-state.ts';
export {
  claimStaging,
  FOREIGN_STAGING_STALE_MS,
  parseStagingName,
  publishFile,
  publishFolder,
  releaseStaging,
  removeStaleStaging,
  type StagingOwner,
} from './staging.ts';
export { readStreamPlan, writeStreamPlan } from './stream-plan-file.ts';
export {
  enqueueVideoJob,
  jobSubjectOf,
  VIDEO_OUTPUT_KINDS,
  videoJobDedupId,
} from './video-jobs-contract.ts';
