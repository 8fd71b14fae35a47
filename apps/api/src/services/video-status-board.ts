import type { Bus, DeadLetter, Subscription } from '@lumen/bus';
import { deadLetter, jobSubjects, safeParsePayload, type VideoStatusEvent } from '@lumen/core';
import type { Logger } from '@lumen/runtime';
import type { VideoOutputKind } from '@lumen/video';

/**
 * What the api has heard about video jobs that the files cannot tell: `queued` and `running` only
 * travel as `video.status` events, and a dead letter may arrive before (or, for a job the bus gave
 * up on, without) the failure record the transcoder writes beside the output. The files stay the
 * truth for `ready` and `failed`: this board only fills the gap (see VideoService.stateOf).
 *
 * `running` lives on heartbeats: a transcoder repeats it every `heartbeatMs` while the job runs, and
 * one not repeated for MISSED_HEARTBEATS intervals reads as `queued` again (its transcoder died; the
 * bus hands the job to another within the ack wait, which then says `running`). The age is measured
 * on this process's clock from when the event arrived, so clocks of other hosts do not matter.
 *
 * Kept in memory, per api process: after a restart a video the board never heard of reads as
 * missing and the next request enqueues it again, which the bus deduplicates and the transcoder
 * turns into a no-op when the output exists.
 */

export type TrackedState =
  | { state: 'queued' | 'running'; error?: string; at: number; heartbeatMs?: number }
  | { state: 'failed'; error: string; at: number };

/** A `running` output not heard of for this many heartbeat intervals reads as `queued`. */
export const MISSED_HEARTBEATS = 2;

/** Entries beyond this are dropped oldest first (a bound on memory, far above any real backlog). */
export const MAX_TRACKED_OUTPUTS = 50_000;

const KIND_OF_DEAD_LETTER: Record<string, VideoOutputKind> = {
  [deadLetter(jobSubjects.videoHls)]: 'hls',
  [deadLetter(jobSubjects.videoPreview)]: 'preview',
};

function keyOf(kind: VideoOutputKind, hex: string): string {
  return `${kind}:${hex}`;
}

function hexOf(contentHash: string): string {
  return contentHash.slice(contentHash.indexOf(':') + 1);
}

export class VideoStatusBoard {
  readonly #entries = new Map<string, TrackedState>();
  #subscriptions: Subscription[] = [];

  constructor(private readonly clock: () => number = Date.now) {}

  /** What the board last heard about the output of `hex` (content hash without its prefix). */
  get(kind: VideoOutputKind, hex: string): TrackedState | undefined {
    const entry = this.#entries.get(keyOf(kind, hex));
    if (entry?.state !== 'running' || entry.heartbeatMs === undefined) return entry;
    if (this.clock() - entry.at <= MISSED_HEARTBEATS * entry.heartbeatMs) return entry;
    return { state: 'queued', at: entry.at }; // its worker is gone: the job waits for redelivery
  }

  /** Mark an output queued by this api, unless something newer is known (running, say). */
  markQueued(kind: VideoOutputKind, hex: string): void {
    const current = this.get(kind, hex);
    if (current && current.state !== 'failed') return;
    this.#set(kind, hex, { state: 'queued', at: this.clock() });
  }

  /** Forget an output (its files now tell the truth, or a stale failure is being retried). */
  forget(kind: VideoOutputKind, hex: string): void {
    this.#entries.delete(keyOf(kind, hex));
  }

  /** A `video.status` event, in arrival order: `ready` clears the entry (the files say it). */
  record(event: VideoStatusEvent): void {
    const hex = hexOf(event.contentHash);
    const at = this.clock();
    if (event.state === 'ready') this.forget(event.kind, hex);
    else if (event.state === 'failed') {
      this.#set(event.kind, hex, { state: 'failed', error: event.error ?? 'failed', at });
    } else {
      this.#set(event.kind, hex, {
        state: event.state,
        ...(event.error !== undefined ? { error: event.error } : {}),
        ...(event.state === 'running' && event.heartbeatMs !== undefined
          ? { heartbeatMs: event.heartbeatMs }
          : {}),
        at,
      });
    }
  }

  /** A dead letter of `video.hls` or `video.preview`: the job failed for good, with its error. */
  recordDeadLetter(subject: string, letter: DeadLetter): void {
    const kind = KIND_OF_DEAD_LETTER[subject];
    if (!kind) return;
    const hash = (letter.data as { contentHash?: unknown } | null)?.contentHash;
    if (typeof hash !== 'string' || !hash.includes(':')) return;
    const error = typeof letter.error === 'string' && letter.error !== '' ? letter.error : 'dead-lettered';
    this.#set(kind, hexOf(hash), { state: 'failed', error, at: this.clock() });
  }

  /** Listen to `video.status` and the video dead letters until stop(). */
  async subscribe(bus: Bus, logger: Logger): Promise<void> {
    const subscriptions: Subscription[] = [];
    try {
      subscriptions.push(
        await bus.subscribe('video.status', (data) => {
          const parsed = safeParsePayload('video.status', data);
          if (parsed.ok) this.record(parsed.data);
          else logger.warn({ error: parsed.error.message }, 'ignoring an invalid video.status event');
        }),
      );
      for (const subject of Object.keys(KIND_OF_DEAD_LETTER)) {
        subscriptions.push(
          await bus.subscribe<DeadLetter>(subject, (letter, actual) => this.recordDeadLetter(actual, letter)),
        );
      }
    } catch (err) {
      await Promise.allSettled(subscriptions.map((s) => s.unsubscribe()));
      throw err;
    }
    this.#subscriptions.push(...subscriptions);
  }

  async stop(): Promise<void> {
    const subscriptions = this.#subscriptions;
    this.#subscriptions = [];
    await Promise.allSettled(subscriptions.map((s) => s.unsubscribe()));
  }

  #set(kind: VideoOutputKind, hex: string, state: TrackedState): void {
    const key = keyOf(kind, hex);
    this.#entries.delete(key); // re-insert: Map order is the age order used for the bound
    this.#entries.set(key, state);
    if (this.#entries.size > MAX_TRACKED_OUTPUTS) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }
}
