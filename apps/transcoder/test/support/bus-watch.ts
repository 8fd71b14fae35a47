import type { Bus, DeadLetter, Subscription } from '@lumen/bus';
import type { VideoStatusEvent } from '@lumen/core';

/** Polls `check` until it is true; fails naming `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Everything the transcoder reports on a bus: `video.status` events and dead letters. */
export interface BusWatch {
  statuses: VideoStatusEvent[];
  deadLetters: DeadLetter[];
  /**
   * The states of one output, oldest first. A `running` right after a `running` is left out: a job
   * repeats `running` as its heartbeat (every third of the ack wait), so how many there are depends
   * on the machine's speed; a second job joining a run shows as its second `ready`.
   */
  statesOf(kind: 'hls' | 'preview', contentHash: string): VideoStatusEvent['state'][];
  /** Waits until the output has reached `state` at least `times` times. */
  until(
    kind: 'hls' | 'preview',
    contentHash: string,
    state: VideoStatusEvent['state'],
    timeoutMs?: number,
    times?: number,
  ): Promise<void>;
  close(): Promise<void>;
}

export async function watchBus(bus: Bus): Promise<BusWatch> {
  const statuses: VideoStatusEvent[] = [];
  const deadLetters: DeadLetter[] = [];
  const subscriptions: Subscription[] = [
    await bus.subscribe<VideoStatusEvent>('video.status', (event) => {
      statuses.push(event);
    }),
    await bus.subscribe<DeadLetter>('dlq.video.*', (letter) => {
      deadLetters.push(letter);
    }),
  ];
  const statesOf = (kind: 'hls' | 'preview', contentHash: string) =>
    statuses
      .filter((s) => s.kind === kind && s.contentHash === contentHash)
      .map((s) => s.state)
      .filter((state, i, all) => !(state === 'running' && all[i - 1] === 'running'));
  return {
    statuses,
    deadLetters,
    statesOf,
    until: (kind, contentHash, state, timeoutMs = 60_000, times = 1) =>
      waitFor(
        () => statesOf(kind, contentHash).filter((s) => s === state).length >= times,
        () =>
          `${kind} ${state} for ${contentHash} (saw: ${statesOf(kind, contentHash).join(', ') || 'nothing'})`,
        timeoutMs,
      ),
    async close() {
      await Promise.all(subscriptions.map((s) => s.unsubscribe()));
    },
  };
}
