import { randomBytes } from 'node:crypto';
import { natsForTest, natsTestUrl } from '@lumen/test-support';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus, createNatsBus, deleteBusPrefix, jobConsumerName, jobsStreamName } from '../src/index.ts';
import { defineBusContract, waitFor } from './bus-contract.ts';
import { quietLogger } from './quiet-logger.ts';

/** The NATS server of this machine; shared and long-lived, so everything here lives under a fresh prefix. */
const servers = natsTestUrl();
const prefix = `test_${randomBytes(4).toString('hex')}`;

const open = () => createNatsBus({ servers, prefix, logger: quietLogger(), connectTimeoutMs: 3_000 });

const nats = natsForTest(servers);
beforeAll(nats.up);

afterAll(async () => {
  await nats.ifUp(() => deleteBusPrefix(servers, prefix));
});

defineBusContract('nats', { open, openPeer: open });

describe('nats bus', () => {
  it('keeps job messages out of event subscriptions', async () => {
    const bus = await open();
    const events: string[] = [];
    await bus.subscribe('>', (_data, subject) => {
      events.push(subject);
    });
    const handled: number[] = [];
    await bus.consume<number>('isolation.job', async (job) => {
      handled.push(job.data);
    });
    await bus.enqueue('isolation.job', 1);
    await bus.publish('isolation.event', 2);
    await waitFor(() => handled.length === 1 && events.length === 1, 'the job and the event');
    expect(events).toEqual(['isolation.event']);
    await bus.close();
  });

  it('uses one work-queue stream per prefix and one durable consumer per job subject', async () => {
    const bus = await open();
    await bus.consume('layout.video-hls', async () => {}, { ackWaitMs: 3_000 });
    const nc = await connect({ servers, timeout: 3_000 });
    try {
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const jsm = await jetstreamManager(nc, { timeout: 3_000 });
      const stream = await jsm.streams.info(jobsStreamName(prefix));
      expect(stream.config.retention).toBe('workqueue');
      expect(stream.config.duplicate_window).toBe(120_000_000_000);
      const consumer = await jsm.consumers.info(jobsStreamName(prefix), `${prefix}_layout_video-hls`);
      expect(consumer.config.ack_wait).toBe(3_000_000_000);
      expect(consumer.config.filter_subject).toBe(`${prefix}_jobs.layout.video-hls`);
    } finally {
      await nc.close();
      await bus.close();
    }
  });

  it("updates the ack wait of a durable consumer made by an earlier version (60 s -> today's)", async () => {
    const subject = 'layout.ack-wait';
    const name = jobConsumerName(prefix, subject);
    const bus = await open(); // makes the stream
    const nc = await connect({ servers, timeout: 3_000 });
    try {
      const { jetstreamManager, AckPolicy } = await import('@nats-io/jetstream');
      const jsm = await jetstreamManager(nc, { timeout: 3_000 });
      await jsm.consumers.add(jobsStreamName(prefix), {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        ack_wait: 60_000_000_000,
        filter_subject: `${prefix}_jobs.${subject}`,
      });
      const consumer = await bus.consume(subject, async () => {}, { ackWaitMs: 15_000 });
      expect((await jsm.consumers.info(jobsStreamName(prefix), name)).config.ack_wait).toBe(15_000_000_000);
      await consumer.stop();
    } finally {
      await nc.close();
      await bus.close();
    }
  });

  it('names consumers so that distinct subjects never share one', () => {
    expect(jobConsumerName('lumen', 'video.hls')).toBe('lumen_video_hls');
    expect(jobConsumerName('lumen', 'a.b_c')).not.toBe(jobConsumerName('lumen', 'a_b.c'));
    expect(jobConsumerName('lumen', 'a.b_c')).toMatch(/^lumen_a_b_c_[0-9a-f]{8}$/);
  });

  it('deleteBusPrefix removes the stream and tolerates a missing one', async () => {
    const other = `test_${randomBytes(4).toString('hex')}`;
    const bus = await createNatsBus({ servers, prefix: other, logger: quietLogger() });
    await bus.enqueue('x.y', 1);
    await bus.close();
    await deleteBusPrefix(servers, other);
    await deleteBusPrefix(servers, other);
    const nc = await connect({ servers, timeout: 3_000 });
    try {
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const jsm = await jetstreamManager(nc, { timeout: 3_000 });
      await expect(jsm.streams.info(jobsStreamName(other))).rejects.toThrow(/stream not found/);
    } finally {
      await nc.close();
    }
  });

  it('fails fast when no server answers', async () => {
    const started = Date.now();
    await expect(
      createNatsBus({ servers: 'nats://127.0.0.1:1', prefix, connectTimeoutMs: 1_000 }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('createBus picks NATS when natsUrl is set and memory otherwise', async () => {
    const nats = await createBus({ natsUrl: servers, busPrefix: prefix }, quietLogger());
    const memory = await createBus({ busPrefix: prefix }, quietLogger());
    expect(nats.status()).toEqual({ transport: 'nats', connected: true });
    expect(memory.status()).toEqual({ transport: 'memory', connected: true });
    await Promise.all([nats.close(), memory.close()]);
  });
});
