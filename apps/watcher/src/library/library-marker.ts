import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@lumen/runtime';

/**
 * Should a completed scan write the marker? Only when the scan saw at least one media file, or the
 * database holds no file of the library at all (its first scan, e.g. of a new empty library).
 * Never into a root that listed no media while the database has rows for it: that is an
 * unmounted mount point, and a marker written there would make it look like the library.
 */
export function shouldWriteMarker(opts: { mediaSeen: number; rowsInDatabase: number }): boolean {
  return opts.mediaSeen > 0 || opts.rowsInDatabase === 0;
}

/**
 * Write the library's marker file (`.lumen-library`) unless it is there (the caller asks
 * `shouldWriteMarker` first). With REQUIRE_LIBRARY_MARKER=true, a library that has files in the
 * database but no marker is Stale: an empty folder mounted in the library's place (or a different
 * disk) never looks like a library whose files were all deleted. Best effort: a read-only library
 * only loses that extra check, which the log says once.
 */
export async function ensureLibraryMarker(root: string, markerFile: string, logger: Logger): Promise<void> {
  const file = path.join(root, markerFile);
  try {
    await fs.writeFile(file, `This folder is a Lumen library. Keep this file: see docs/operations.md.\n`, {
      flag: 'wx',
    });
    logger.info({ file }, 'wrote the library marker');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    logger.warn({ file, code }, 'could not write the library marker (read-only library?)');
  }
}
