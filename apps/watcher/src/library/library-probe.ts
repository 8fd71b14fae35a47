import fs from 'node:fs/promises';
import path from 'node:path';
import { isHiddenEntry } from '@lumen/core';

export type LibraryStatus = 'online' | 'stale';

export interface ProbeResult {
  status: LibraryStatus;
  /** Why the library is Stale; undefined when Online. */
  reason?: string;
}

export interface ProbeOptions {
  /** The database holds present rows for this library (an empty root is then an unmounted mount point). */
  hasRows: boolean;
  /** Every file-system call of the probe together must answer within this. */
  timeoutMs: number;
  /** When set, the root must contain this file (REQUIRE_LIBRARY_MARKER). */
  markerFile?: string;
}

/** The file a library root must hold when REQUIRE_LIBRARY_MARKER is on. */
export const LIBRARY_MARKER_FILE = '.lumen-library';

/**
 * Probes still waiting on the file system, by root. A call stuck on a dead NFS mount holds a libuv
 * thread until the kernel gives up; starting another probe of the same root every tick would
 * take the whole thread pool, so a root whose last probe is still stuck is Stale without a new call.
 */
const pendingProbes = new Map<string, Promise<ProbeResult>>();

/**
 * Decide whether a library is Online (SPEC 1): its root stats as a directory and lists; a root that
 * lists empty while the database holds rows for it is Stale (an unmounted mount point looks
 * empty). "Empty" means no entry but hidden ones (a leading dot): our own marker, `.DS_Store` or
 * `.snapshot` in a mount point do not make it a library. Never throws: every failure is Stale
 * with a reason.
 */
export async function probeLibrary(root: string, opts: ProbeOptions): Promise<ProbeResult> {
  if (pendingProbes.has(root)) {
    return { status: 'stale', reason: 'the previous probe of the root has not answered yet (hung mount?)' };
  }
  const probe = checkRoot(root, opts);
  pendingProbes.set(root, probe);
  void probe.finally(() => pendingProbes.delete(root));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ status: 'stale', reason: `the root did not answer within ${opts.timeoutMs} ms` }),
      opts.timeoutMs,
    );
  });
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function checkRoot(root: string, opts: ProbeOptions): Promise<ProbeResult> {
  try {
    const stat = await fs.stat(root);
    if (!stat.isDirectory()) return { status: 'stale', reason: 'the root is not a directory' };
    // Read only up to the first visible entry: no full listing of a huge root.
    const dir = await fs.opendir(root);
    let visible = false;
    try {
      for (let entry = await dir.read(); entry !== null; entry = await dir.read()) {
        if (!isHiddenEntry(entry.name)) {
          visible = true;
          break;
        }
      }
    } finally {
      await dir.close().catch(() => {});
    }
    if (!visible && opts.hasRows) {
      return {
        status: 'stale',
        reason:
          'the root lists no files (at most hidden ones such as .DS_Store or the marker) but the database holds files for it (not mounted?)',
      };
    }
    // The marker is written by the first completed scan (library-marker.ts), so only a library
    // the database already holds files for can be missing it.
    if (opts.markerFile && opts.hasRows) {
      try {
        await fs.access(path.join(root, opts.markerFile));
      } catch {
        return { status: 'stale', reason: `the marker file ${opts.markerFile} is missing from the root` };
      }
    }
    return { status: 'online' };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { status: 'stale', reason: `${e.code ?? 'error'}: ${e.message ?? String(err)}` };
  }
}
