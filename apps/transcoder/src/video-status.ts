import type { Bus } from '@lumen/bus';
import { eventSubjects, parsePayload, type VideoStatusEvent } from '@lumen/core';
import type { Logger } from '@lumen/runtime';
import type { VideoOutputKind } from '@lumen/video';

/**
 * Publishes `video.status` (queued / running / ready / failed, with the error text) so the API can
 * show where a video stands. A bus hiccup here never fails the job: the files are the truth.
 * `running` carries `heartbeatMs`: it is sent again that often while the job runs (a heartbeat).
 */
export async function publishVideoStatus(
  bus: Bus,
  logger: Logger,
  kind: VideoOutputKind,
  contentHash: string,
  state: VideoStatusEvent['state'],
  error?: string,
  heartbeatMs?: number,
): Promise<void> {
  const event = parsePayload(eventSubjects.videoStatus, {
    kind,
    contentHash,
    state,
    ...(error !== undefined ? { error } : {}),
    ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
    at: new Date().toISOString(),
  });
  try {
    await bus.publish(eventSubjects.videoStatus, event);
  } catch (err) {
    logger.warn({ err, kind, contentHash, state }, 'could not publish video.status');
  }
}
