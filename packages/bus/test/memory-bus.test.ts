import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../src/index.ts';
import { defineBusContract, waitFor } from './bus-contract.ts';
import { quietLogger } from './quiet-logger.ts';

defineBusContract('memory', { open: async () => createMemoryBus({ logger: quietLogger() }) });

describe('memory bus', () => {
  it('forgets a dedupId after the dedup window', async () => {
    const bus = createMemoryBus({ logger: quietLogger(), dedupWindowMs: 100 });
    const got: string[] = [];
    await bus.consume<string>('job.dedup', async (job) => {
      got.push(job.data);
    });
    await bus.enqueue('job.dedup', 'first', { dedupId: 'same' });
    await bus.enqueue('job.dedup', 'dropped', { dedupId: 'same' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await bus.enqueue('job.dedup', 'after the window', { dedupId: 'same' });
    await waitFor(() => got.length === 2, 'two jobs');
    expect(got).toEqual(['first', 'after the window']);
    await bus.close();
  });

  it('hands handlers a copy of the payload, as over the wire', async () => {
    const bus = createMemoryBus({ logger: quietLogger() });
    const sent = { when: new Date('2024-05-01T10:00:00Z'), list: [1] };
    let received: unknown;
    await bus.subscribe('ev.copy', (data) => {
      received = data;
    });
    await bus.publish('ev.copy', sent);
    sent.list.push(2);
    await waitFor(() => received !== undefined, 'the event');
    expect(received).toEqual({ when: '2024-05-01T10:00:00.000Z', list: [1] });
    await bus.close();
  });

  it('drops queued jobs and pending redeliveries on close()', async () => {
    const bus = createMemoryBus({ logger: quietLogger() });
    let calls = 0;
    await bus.consume(
      'job.close',
      async () => {
        calls++;
        throw new Error('retry me');
      },
      { backoffMs: [50] },
    );
    await bus.enqueue('job.close', 1);
    await waitFor(() => calls === 1, 'the first attempt');
    await bus.close();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(calls).toBe(1);
  });
});
