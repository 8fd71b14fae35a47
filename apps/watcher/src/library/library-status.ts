import type { Bus } from '@lumen/bus';
import { type LibraryStatusEvent, parsePayload, subjects } from '@lumen/core';
import type { LibrariesRepository, LibraryRow } from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import type { WatcherMetrics } from '../watcher-metrics.ts';
import { LIBRARY_MARKER_FILE, type ProbeResult, probeLibrary } from './library-probe.ts';

export interface LibraryStatusDeps {
  libraries: LibrariesRepository;
  bus: Bus;
  logger: Logger;
  metrics: WatcherMetrics;
  probeTimeoutMs: number;
  requireMarker: boolean;
}

/**
 * Probe one library, store the result, and on a change publish `library.status` and log it.
 * Returns the probe result (the caller scans only Online libraries).
 */
export async function refreshLibraryStatus(
  library: LibraryRow,
  deps: LibraryStatusDeps,
): Promise<ProbeResult> {
  const hasRows = (await deps.libraries.countFiles(library.id)) > 0;
  const result = await probeLibrary(library.root, {
    hasRows,
    timeoutMs: deps.probeTimeoutMs,
    ...(deps.requireMarker ? { markerFile: LIBRARY_MARKER_FILE } : {}),
  });
  const reason = result.reason ?? null;
  const changed = await deps.libraries.setStatus(library.id, result.status, reason);
  deps.metrics.libraryOnline.set({ library: library.name }, result.status === 'online' ? 1 : 0);
  if (!changed) return result;

  const previous = library.status === 'online' || library.status === 'stale' ? library.status : undefined;
  const log = { library: library.name, root: library.root, status: result.status, previous, reason };
  if (result.status === 'stale')
    deps.logger.warn(log, 'library is Stale: it is not scanned until it is back');
  else deps.logger.info(log, 'library is Online');

  const event: LibraryStatusEvent = parsePayload(subjects.libraryStatus, {
    libraryId: library.id,
    library: library.name,
    status: result.status,
    ...(previous ? { previous } : {}),
    ...(result.reason ? { reason: result.reason } : {}),
    at: new Date().toISOString(),
  });
  try {
    await deps.bus.publish(subjects.libraryStatus, event);
  } catch (err) {
    deps.logger.error({ err, library: library.name }, 'publishing library.status failed');
  }
  return result;
}
