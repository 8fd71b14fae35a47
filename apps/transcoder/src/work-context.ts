import type { Logger } from '@lumen/runtime';
import type { FfmpegProgress } from './ffmpeg-process.ts';

/** What a piece of ffmpeg work needs from the transcoder around it. */
export interface WorkContext {
  /** Aborted when the transcoder stops: ffmpeg is killed. */
  signal: AbortSignal;
  logger: Logger;
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Kill ffmpeg after this long without progress, ms. Default 120 000. */
  stallTimeoutMs?: number;
}

/** Logs ffmpeg's progress at most every `everyMs` (long transcodes), with speed as x real time. */
export function progressLogger(
  logger: Logger,
  totalSec: number | null,
  everyMs = 15_000,
): (progress: FfmpegProgress) => void {
  let last = performance.now();
  return (progress) => {
    const now = performance.now();
    if (now - last < everyMs) return;
    last = now;
    const percent = totalSec ? Math.min(100, Math.round((progress.outTimeSec / totalSec) * 100)) : null;
    logger.info(
      { progressSec: Math.round(progress.outTimeSec), durationSec: totalSec, percent, speed: progress.speed },
      'ffmpeg progress',
    );
  };
}

/** Media seconds per wall-clock second ("x real time"), 2 decimals; null when unknown. */
export function realTimeFactor(mediaSec: number | null, elapsedMs: number): number | null {
  if (!mediaSec || elapsedMs <= 0) return null;
  return Math.round((mediaSec / (elapsedMs / 1000)) * 100) / 100;
}
