import { createMemoryBus } from '@lumen/bus';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { VideoStatusBoard } from '../src/services/video-status-board.ts';

const HASH = 'xxh3-128:0123456789abcdef0123456789abcdef';
const HEX = '0123456789abcdef0123456789abcdef';
const at = '2024-05-01T10:00:00.000Z';

describe('VideoStatusBoard', () => {
  it('follows video.status in arrival order; ready clears the entry', () => {
    const board = new VideoStatusBoard(() => 1000);
    board.record({ kind: 'hls', contentHash: HASH, state: 'running', at });
    expect(board.get('hls', HEX)).toEqual({ state: 'running', at: 1000 });
    expect(board.get('preview', HEX)).toBeUndefined();
    board.record({ kind: 'hls', contentHash: HASH, state: 'queued', error: 'attempt 1 of 3 failed: x', at });
    expect(board.get('hls', HEX)).toEqual({ state: 'queued', error: 'attempt 1 of 3 failed: x', at: 1000 });
    board.record({ kind: 'hls', contentHash: HASH, state: 'ready', at });
    expect(board.get('hls', HEX)).toBeUndefined();
  });

  it('reads running as queued once two heartbeat intervals pass without one (its transcoder died)', () => {
    let now = 10_000;
    const board = new VideoStatusBoard(() => now);
    const running = { kind: 'hls', contentHash: HASH, state: 'running', heartbeatMs: 1000, at } as const;
    board.record(running);
    expect(board.get('hls', HEX)).toEqual({ state: 'running', heartbeatMs: 1000, at: 10_000 });
    now += 2000; // exactly two intervals: still running
    expect(board.get('hls', HEX)?.state).toBe('running');
    board.record(running); // a heartbeat
    now += 1999;
    expect(board.get('hls', HEX)?.state).toBe('running');
    now += 2; // past two intervals since the last heartbeat
    expect(board.get('hls', HEX)).toEqual({ state: 'queued', at: 12_000 });
    board.markQueued('hls', HEX); // nothing newer to say: the job is still in the queue
    expect(board.get('hls', HEX)).toEqual({ state: 'queued', at: 12_000 });
    board.record(running); // another transcoder took it over
    expect(board.get('hls', HEX)?.state).toBe('running');
    // A transcoder that sends no heartbeatMs (older): running until the next event.
    board.record({ kind: 'preview', contentHash: HASH, state: 'running', at });
    now += 3_600_000;
    expect(board.get('preview', HEX)?.state).toBe('running');
    // heartbeatMs means nothing on other states.
    board.record({ kind: 'preview', contentHash: HASH, state: 'queued', heartbeatMs: 1, at });
    expect(board.get('preview', HEX)).toEqual({ state: 'queued', at: now });
  });

  it('marks queued only when nothing newer is known', () => {
    const board = new VideoStatusBoard(() => 5);
    board.markQueued('hls', HEX);
    expect(board.get('hls', HEX)?.state).toBe('queued');
    board.record({ kind: 'hls', contentHash: HASH, state: 'running', at });
    board.markQueued('hls', HEX);
    expect(board.get('hls', HEX)?.state).toBe('running');
    board.record({ kind: 'hls', contentHash: HASH, state: 'failed', error: 'boom', at });
    board.markQueued('hls', HEX);
    expect(board.get('hls', HEX)?.state).toBe('queued');
  });

  it('takes dead letters of both video jobs, with their error, and ignores others', () => {
    const board = new VideoStatusBoard(() => 7);
    const letter = {
      subject: 'video.preview',
      data: { contentHash: HASH },
      attempts: 3,
      error: 'moov atom not found',
    };
    board.recordDeadLetter('dlq.video.preview', letter);
    expect(board.get('preview', HEX)).toEqual({ state: 'failed', error: 'moov atom not found', at: 7 });
    board.recordDeadLetter('dlq.media.something', letter);
    board.recordDeadLetter('dlq.video.hls', { ...letter, data: 'not a job' });
    expect(board.get('hls', HEX)).toBeUndefined();
  });

  it('listens on the bus until stopped', async () => {
    const bus = createMemoryBus();
    const board = new VideoStatusBoard();
    await board.subscribe(bus, pino({ level: 'silent' }));
    await bus.publish('video.status', { kind: 'hls', contentHash: HASH, state: 'running', at });
    await bus.publish('video.status', { kind: 'hls', contentHash: 'not a hash', state: 'failed', at });
    await bus.publish('dlq.video.preview', {
      subject: 'video.preview',
      data: { contentHash: HASH },
      attempts: 2,
      error: 'e',
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(board.get('hls', HEX)?.state).toBe('running');
    expect(board.get('preview', HEX)).toMatchObject({ state: 'failed', error: 'e' });

    await board.stop();
    await bus.publish('video.status', { kind: 'hls', contentHash: HASH, state: 'ready', at });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(board.get('hls', HEX)?.state).toBe('running');
    await bus.close();
  });
});
