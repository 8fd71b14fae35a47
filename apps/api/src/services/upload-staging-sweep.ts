import fs from 'node:fs/promises';
import path from 'node:path';
import { isUploadLeftover, UPLOAD_LEFTOVER_AGE_MS, UPLOAD_TEMP_NAME } from '@lumen/core';
import type { Logger } from '@lumen/runtime';

/** Where an upload is staged when its body sends the file before `library`/`folder`. */
export function uploadStagingDir(dataDir: string): string {
  return path.join(dataDir, 'upload-staging');
}

/**
 * Remove the upload temporary files in the staging folder that nobody wrote to for an hour
 * (`isUploadLeftover`): uploads that died with their process. The age rule applies at start-up as
 * well: api replicas share DATA_DIR, and a file written a moment ago may be another replica's upload
 * in progress. Returns how many were removed. A missing folder is fine (no upload staged yet).
 */
export async function sweepUploadStaging(dir: string, nowMs: number, logger: Logger): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return 0;
    logger.warn({ err, dir }, 'cannot list the upload staging folder');
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!UPLOAD_TEMP_NAME.test(name)) continue;
    const file = path.join(dir, name);
    try {
      const stats = await fs.lstat(file);
      if (!stats.isFile() || !isUploadLeftover(name, stats.mtimeMs, nowMs)) continue;
      await fs.rm(file);
      removed++;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') {
        logger.warn({ err, file }, 'cannot remove an upload leftover');
      }
    }
  }
  if (removed > 0) logger.info({ dir, removed }, 'removed upload leftovers from the staging folder');
  return removed;
}

export interface UploadStagingSweep {
  stop(): void;
}

/**
 * Sweep the staging folder now (awaited: leftovers are gone when the api starts serving) and then
 * every `intervalMs` (an hour by default, the age of a leftover).
 */
export async function startUploadStagingSweep(opts: {
  dir: string;
  logger: Logger;
  intervalMs?: number;
  now?: () => number;
}): Promise<UploadStagingSweep> {
  const now = opts.now ?? Date.now;
  await sweepUploadStaging(opts.dir, now(), opts.logger);
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void sweepUploadStaging(opts.dir, now(), opts.logger).finally(() => {
      running = false;
    });
  }, opts.intervalMs ?? UPLOAD_LEFTOVER_AGE_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
    },
  };
}
