import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '@lumen/core';
import type { Logger } from 'pino';

/**
 * Lumen's own state is for the account that runs it (issue 11): DATA_DIR and the folders Lumen
 * makes in it are 0700, the SQLite database (see @lumen/db) and secret.key 0600. Explicit modes,
 * not a process umask: uploads written into library folders and files other tools read keep the
 * modes they have always had.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

export interface PrivateDirReport {
  /** Folders that did not exist and were made 0700. */
  created: string[];
  /** Folders that existed with group or other permissions and were narrowed. */
  tightened: string[];
  /** Folders that could not be narrowed (owned by another account, read-only mount): path and reason. */
  failed: { path: string; reason: string }[];
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Make `dir` (and missing parents) 0700. An existing folder with group or other permissions is
 * narrowed to its owner's when `tighten` is set. Returns what it did.
 */
export async function ensurePrivateDir(
  dir: string,
  opts: { tighten: boolean },
  report: PrivateDirReport = { created: [], tightened: [], failed: [] },
): Promise<PrivateDirReport> {
  const stats = await fs.stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!stats) {
    await fs.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    // mkdir's mode passes through the umask, which can only take bits away; set it exactly.
    await fs.chmod(dir, PRIVATE_DIR_MODE);
    report.created.push(dir);
    return report;
  }
  if (opts.tighten && (stats.mode & 0o077) !== 0) {
    try {
      await fs.chmod(dir, stats.mode & 0o700);
      report.tightened.push(dir);
    } catch (err) {
      report.failed.push({ path: dir, reason: (err as NodeJS.ErrnoException).code ?? String(err) });
    }
  }
  return report;
}

/**
 * At the start of every service: DATA_DIR and the folders under it (thumbnails, video, gifs,
 * preview clips, upload staging) exist and are 0700, existing ones narrowed if they were wider.
 * Those folders configured outside DATA_DIR (THUMBNAILS=/srv/...) are made 0700 when missing but
 * left as they are when they exist: the operator chose them. Logs what changed.
 */
export async function securePrivateDirs(config: Config, logger?: Logger): Promise<PrivateDirReport> {
  const report: PrivateDirReport = { created: [], tightened: [], failed: [] };
  await ensurePrivateDir(config.dataDir, { tighten: true }, report);
  const own = [
    config.thumbnailsDir,
    config.videoDir,
    config.gifsDir,
    config.previewClipsDir,
    path.join(config.dataDir, 'upload-staging'),
  ];
  for (const dir of own) {
    await ensurePrivateDir(dir, { tighten: isInside(config.dataDir, dir) }, report);
  }
  if (report.tightened.length > 0) {
    logger?.warn({ folders: report.tightened }, 'narrowed folders that others could read to 0700');
  }
  for (const failure of report.failed) {
    logger?.warn(failure, 'could not narrow a data folder to 0700');
  }
  return report;
}
