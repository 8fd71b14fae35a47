import fs from 'node:fs/promises';
import path from 'node:path';
import {
  gifPath,
  hlsPaths,
  previewClipPath,
  previewFailurePath,
  type VideoOutputKind,
} from './output-paths.ts';
import { claimStaging, publishFile, releaseStaging } from './staging.ts';

/** The folders the outputs live in; a `Config` fits as is. */
export interface VideoOutputDirs {
  videoDir: string;
  previewClipsDir: string;
  gifsDir: string;
}

/** Written beside an output when its job failed for good (the dead-letter reason, kept on disk). */
export interface FailureRecord {
  kind: VideoOutputKind;
  contentHash: string;
  /** The ffmpeg/ffprobe error text (its last stderr lines). */
  error: string;
  attempts: number;
  /** ISO-8601. */
  at: string;
}

/**
 * What the files say about one output: `ready` (complete, servable), `failed` (the last job gave up,
 * with its reason), or `missing` (never made, or being made: running/queued only travel as
 * `video.status` events). Cheap: one or two `stat`s, plus a small read for `failed`.
 */
export type VideoOutputState =
  | { state: 'ready' }
  | { state: 'failed'; error: string; attempts: number; at: string }
  | { state: 'missing' };

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** The files a finished output consists of (all must exist). */
export function outputFiles(dirs: VideoOutputDirs, kind: VideoOutputKind, contentHash: string): string[] {
  if (kind === 'hls') {
    // A folder of the layout before segments on demand has a manifest but no plan: not ready.
    const paths = hlsPaths(dirs.videoDir, contentHash);
    return [paths.plan, paths.manifest];
  }
  return [previewClipPath(dirs.previewClipsDir, contentHash), gifPath(dirs.gifsDir, contentHash)];
}

export function failureRecordPath(dirs: VideoOutputDirs, kind: VideoOutputKind, contentHash: string): string {
  return kind === 'hls'
    ? hlsPaths(dirs.videoDir, contentHash).failure
    : previewFailurePath(dirs.previewClipsDir, contentHash);
}

export async function outputExists(
  dirs: VideoOutputDirs,
  kind: VideoOutputKind,
  contentHash: string,
): Promise<boolean> {
  for (const file of outputFiles(dirs, kind, contentHash)) {
    if (!(await exists(file))) return false;
  }
  return true;
}

function asFailureRecord(value: unknown): FailureRecord | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const r = value as Record<string, unknown>;
  const valid =
    (r.kind === 'hls' || r.kind === 'preview') &&
    typeof r.contentHash === 'string' &&
    typeof r.error === 'string' &&
    typeof r.attempts === 'number' &&
    typeof r.at === 'string';
  return valid ? (r as unknown as FailureRecord) : undefined;
}

export async function readFailureRecord(
  dirs: VideoOutputDirs,
  kind: VideoOutputKind,
  contentHash: string,
): Promise<FailureRecord | undefined> {
  try {
    return asFailureRecord(JSON.parse(await fs.readFile(failureRecordPath(dirs, kind, contentHash), 'utf8')));
  } catch {
    return undefined; // absent, or half-readable: treat as no record
  }
}

export async function readVideoOutputState(
  dirs: VideoOutputDirs,
  kind: VideoOutputKind,
  contentHash: string,
): Promise<VideoOutputState> {
  if (await outputExists(dirs, kind, contentHash)) return { state: 'ready' };
  const failure = await readFailureRecord(dirs, kind, contentHash);
  if (failure) return { state: 'failed', error: failure.error, attempts: failure.attempts, at: failure.at };
  return { state: 'missing' };
}

export async function writeFailureRecord(dirs: VideoOutputDirs, record: FailureRecord): Promise<void> {
  const file = failureRecordPath(dirs, record.kind, record.contentHash);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const staging = claimStaging(file);
  try {
    await fs.writeFile(staging, `${JSON.stringify(record, null, 2)}\n`);
    await publishFile(staging, file);
  } finally {
    await releaseStaging(staging);
  }
}

export async function clearFailureRecord(
  dirs: VideoOutputDirs,
  kind: VideoOutputKind,
  contentHash: string,
): Promise<void> {
  await fs.rm(failureRecordPath(dirs, kind, contentHash), { force: true });
}
