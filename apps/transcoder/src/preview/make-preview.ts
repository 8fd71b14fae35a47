import fs from 'node:fs/promises';
import path from 'node:path';
import {
  claimStaging,
  gifPath,
  previewClipPath,
  publishFile,
  releaseStaging,
  removeStaleStaging,
} from '@lumen/video';
import { runFfmpeg } from '../ffmpeg-process.ts';
import { probeSource } from '../source-facts.ts';
import { realTimeFactor, type WorkContext } from '../work-context.ts';
import { clipWindow, previewFfmpegArgs } from './preview-plan.ts';

export interface MakePreviewResult {
  outcome: 'existing' | 'published';
  clip: string;
  gif: string;
}

/** A 3 s clip takes a few seconds even from a 4K HEVC source; this only stops a hung run. */
const PREVIEW_TIMEOUT_MS = 180_000;

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

async function nonEmpty(file: string, what: string): Promise<void> {
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat || stat.size === 0) throw new Error(`ffmpeg wrote no ${what} (no frames in the chosen window?)`);
}

/**
 * Makes the preview clip and the GIF of one video, each written to a staging file and renamed into
 * place. Both existing means done: nothing runs.
 */
export async function makePreview(
  job: { sourcePath: string; contentHash: string },
  dirs: { previewClipsDir: string; gifsDir: string },
  ctx: WorkContext,
): Promise<MakePreviewResult> {
  const clip = previewClipPath(dirs.previewClipsDir, job.contentHash);
  const gif = gifPath(dirs.gifsDir, job.contentHash);
  if ((await exists(clip)) && (await exists(gif))) return { outcome: 'existing', clip, gif };
  for (const target of [clip, gif]) {
    await fs.mkdir(path.dirname(target), { recursive: true });
    const removed = await removeStaleStaging(target);
    if (removed.length > 0)
      ctx.logger.info({ removed }, 'removed staging files left by a crashed transcoder');
  }

  const probeOptions = { signal: ctx.signal, ...(ctx.ffprobePath ? { ffprobePath: ctx.ffprobePath } : {}) };
  const facts = await probeSource(job.sourcePath, probeOptions);
  const window = clipWindow(facts.durationSec);
  const clipStaging = claimStaging(clip);
  const gifStaging = claimStaging(gif);
  const started = performance.now();
  try {
    await runFfmpeg(previewFfmpegArgs(job.sourcePath, facts, window, clipStaging, gifStaging), {
      timeoutMs: PREVIEW_TIMEOUT_MS,
      signal: ctx.signal,
      lowPriority: true,
      ...(ctx.stallTimeoutMs ? { stallTimeoutMs: ctx.stallTimeoutMs } : {}),
      ...(ctx.ffmpegPath ? { ffmpegPath: ctx.ffmpegPath } : {}),
    });
    await nonEmpty(clipStaging, 'preview clip');
    await nonEmpty(gifStaging, 'GIF');
    await publishFile(gifStaging, gif);
    await publishFile(clipStaging, clip);
    const elapsedMs = Math.round(performance.now() - started);
    ctx.logger.info(
      {
        elapsedMs,
        clipSec: window.lengthSec,
        startSec: window.startSec,
        speedX: realTimeFactor(window.lengthSec, elapsedMs),
      },
      'preview clip and GIF ready',
    );
    return { outcome: 'published', clip, gif };
  } finally {
    await releaseStaging(clipStaging);
    await releaseStaging(gifStaging);
  }
}
