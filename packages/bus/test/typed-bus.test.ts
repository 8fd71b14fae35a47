import { BusPayloadError, type PayloadIn } from '@lumen/core';
import { describe, expect, it } from 'vitest';
import { createMemoryBus, type DeadLetter, typedBus } from '../src/index.ts';
import { waitFor } from './bus-contract.ts';
import { quietLogger } from './quiet-logger.ts';

const job: PayloadIn<'video.hls'> = {
  contentHash: `xxh3-128:${'0a'.repeat(16)}`,
  sourcePath: '/library/2024/clip.mov',
  library: 'main',
  relPath: '2024/clip.mov',
  requestedAt: '2024-05-01T10:00:00.000Z',
};

describe('typedBus', () => {
  it('passes valid jobs and events through, typed', async () => {
    const bus = typedBus(createMemoryBus({ logger: quietLogger() }), quietLogger());
    const jobs: string[] = [];
    const events: string[] = [];
    await bus.consume('video.hls', async (msg) => {
      jobs.push(msg.data.relPath);
    });
    await bus.subscribe('library.status', (event) => {
      events.push(`${event.library}:${event.status}`);
    });
    await bus.enqueue('video.hls', job);
    await bus.publish('library.status', {
      libraryId: 1,
      library: 'main',
      status: 'stale',
      at: '2024-05-01T10:00:00.000Z',
    });
    await waitFor(() => jobs.length === 1 && events.length === 1, 'the job and the event');
    expect(jobs).toEqual(['2024/clip.mov']);
    expect(events).toEqual(['main:stale']);
    await bus.bus.close();
  });

  it('stamps the contract version on the way out, and drops a payload of a version it does not know', async () => {
    const raw = createMemoryBus({ logger: quietLogger() });
    const bus = typedBus(raw, quietLogger());
    const seenRaw: unknown[] = [];
    const seenTyped: number[] = [];
    await raw.subscribe('library.status', (data) => {
      seenRaw.push(data);
    });
    await bus.subscribe('library.status', (event) => {
      seenTyped.push(event.v);
    });
    const event = {
      libraryId: 1,
      library: 'main',
      status: 'online' as const,
      at: '2024-05-01T10:00:00.000Z',
    };
    await bus.publish('library.status', event);
    await raw.publish('library.status', { ...event, v: 2 }); // a future, incompatible producer
    await raw.publish('library.status', event); // an older producer: no version, read as 1
    await waitFor(() => seenRaw.length === 3 && seenTyped.length === 2, 'three raw and two typed events');
    expect(seenRaw[0]).toMatchObject({ v: 1 });
    expect(seenTyped).toEqual([1, 1]);
    await raw.close();
  });

  it('refuses to send a payload that breaks the contract', async () => {
    const bus = typedBus(createMemoryBus({ logger: quietLogger() }), quietLogger());
    const bad = { ...job, relPath: '../escape.mov' };
    await expect(bus.enqueue('video.hls', bad)).rejects.toBeInstanceOf(BusPayloadError);
    await expect(bus.enqueue('video.hls', bad)).rejects.toThrow(/relPath/);
    await bus.bus.close();
  });

  it('dead-letters a received job that breaks the contract at once, without calling the handler', async () => {
    const raw = createMemoryBus({ logger: quietLogger() });
    const bus = typedBus(raw, quietLogger());
    const letters: DeadLetter[] = [];
    await raw.subscribe<DeadLetter>('dlq.video.hls', (letter) => {
      letters.push(letter);
    });
    let calls = 0;
    await bus.consume('video.hls', async () => {
      calls++;
    });
    await raw.enqueue('video.hls', { ...job, contentHash: 'not a hash' });
    await waitFor(() => letters.length === 1, 'the dead letter');
    expect(calls).toBe(0);
    expect(letters[0]).toMatchObject({ subject: 'video.hls', attempts: 1 });
    expect(letters[0]?.error).toMatch(/contentHash/);
    await raw.close();
  });

  it('drops a received event that breaks the contract', async () => {
    const raw = createMemoryBus({ logger: quietLogger() });
    const logger = quietLogger();
    const bus = typedBus(raw, logger);
    const got: unknown[] = [];
    await bus.subscribe('media.ingested', (event) => {
      got.push(event);
    });
    await raw.publish('media.ingested', { relPath: 'x.jpg' });
    await waitFor(() => logger.lines.length === 1, 'the warning');
    expect(got).toEqual([]);
    expect(logger.lines[0]?.level).toBe('warn');
    await raw.close();
  });
});
