/**
 * In-process transport with the same contract as the NATS one: events fan out
 * to every matching subscriber; each job subject has one queue shared by all
 * its consumers; jobs are acked, nak'ed, redelivered when not acked within
 * `ackWaitMs` (also when their consumer stopped mid-job), dead-lettered to
 * `dlq.<subject>` after `maxAttempts`, and deduplicated by `dedupId`.
 * Payloads go through JSON, so handlers see what they would see over NATS.
 */
import type {
  Bus,
  BusStatus,
  ConsumeOptions,
  Consumer,
  DeadLetter,
  JobHandler,
  JobMessage,
  RequestHandler,
  RequestOptions,
  Subscription,
} from './bus.ts';
import { type BusLogger, consoleBusLogger } from './bus-logger.ts';
import {
  backoffDelay,
  errorMessage,
  type ResolvedConsumeOptions,
  resolveConsumeOptions,
} from './consume-options.ts';
import { decodeJson, encodeJson } from './json-codec.ts';
import { assertBucketName, type KeyValueStore, memoryKeyValueStore } from './key-value.ts';
import { NoResponderError, replyOf, unwrapReply } from './request-reply.ts';
import { assertEventSubject, assertJobSubject, assertSubjectPattern, subjectMatches } from './subjects.ts';
import { sleep, withTimeout } from './timeouts.ts';

export interface MemoryBusOptions {
  logger?: BusLogger;
  /** A repeated `dedupId` within this window is dropped. Default 120 000 (JetStream's default). */
  dedupWindowMs?: number;
}

interface EventSubscriber {
  pattern: string;
  handler: (data: unknown, subject: string) => void | Promise<void>;
  active: boolean;
}

interface QueuedJob {
  subject: string;
  payload: string;
  deliveries: number;
}

interface MemoryConsumer {
  handler: JobHandler<unknown>;
  opts: ResolvedConsumeOptions;
  running: Set<Promise<void>>;
  stopped: boolean;
}

interface JobQueue {
  ready: QueuedJob[];
  consumers: MemoryConsumer[];
  /** Round-robin position among consumers. */
  next: number;
}

/** One hand-out of a job to a consumer; settled by ack, nak, failure or ack-wait expiry. */
interface Delivery {
  job: QueuedJob;
  settled: boolean;
  ackTimer: NodeJS.Timeout | undefined;
}

export function createMemoryBus(opts: MemoryBusOptions = {}): Bus {
  const logger = opts.logger ?? consoleBusLogger;
  const dedupWindowMs = opts.dedupWindowMs ?? 120_000;
  const subscribers = new Set<EventSubscriber>();
  const queues = new Map<string, JobQueue>();
  const dedupSeen = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const stores = new Map<string, KeyValueStore>();
  const responders = new Map<string, { handler: RequestHandler<unknown, unknown>; active: boolean }[]>();
  let nextResponder = 0;
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error('bus is closed');
  }

  function later(ms: number, fn: () => void): NodeJS.Timeout | undefined {
    if (closed) return undefined;
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    timers.add(timer);
    return timer;
  }

  function cancel(timer: NodeJS.Timeout | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    timers.delete(timer);
  }

  function queueFor(subject: string): JobQueue {
    let queue = queues.get(subject);
    if (!queue) {
      queue = { ready: [], consumers: [], next: 0 };
      queues.set(subject, queue);
    }
    return queue;
  }

  function publishEvent(subject: string, data: unknown): void {
    const payload = encodeJson(data);
    for (const sub of subscribers) {
      if (!subjectMatches(sub.pattern, subject)) continue;
      void Promise.resolve()
        .then(() => (sub.active && !closed ? sub.handler(decodeJson(payload), subject) : undefined))
        .catch((err: unknown) => logger.error({ err, subject }, 'event handler failed'));
    }
  }

  function deadLetter(job: QueuedJob, attempts: number, error: string): void {
    const letter: DeadLetter = { subject: job.subject, data: decodeJson(job.payload), attempts, error };
    logger.warn({ subject: job.subject, attempts, error }, 'job dead-lettered');
    publishEvent(`dlq.${job.subject}`, letter);
  }

  function requeue(job: QueuedJob, delayMs: number): void {
    if (closed) return;
    if (delayMs > 0) {
      later(delayMs, () => requeue(job, 0));
      return;
    }
    const queue = queueFor(job.subject);
    queue.ready.push(job);
    pump(queue);
  }

  function pickConsumer(queue: JobQueue): MemoryConsumer | undefined {
    const n = queue.consumers.length;
    for (let i = 0; i < n; i++) {
      const consumer = queue.consumers[(queue.next + i) % n];
      if (consumer && !consumer.stopped && consumer.running.size < consumer.opts.concurrency) {
        queue.next = (queue.next + i + 1) % n;
        return consumer;
      }
    }
    return undefined;
  }

  /** Hands ready jobs to consumers with a free slot. */
  function pump(queue: JobQueue): void {
    while (!closed && queue.ready.length > 0) {
      const consumer = pickConsumer(queue);
      if (!consumer) return;
      deliver(queue, consumer, queue.ready.shift()!);
    }
  }

  function deliver(queue: JobQueue, consumer: MemoryConsumer, job: QueuedJob): void {
    const { maxAttempts, ackWaitMs, backoffMs } = consumer.opts;
    job.deliveries += 1;
    if (job.deliveries > maxAttempts) {
      // Only reachable when earlier deliveries timed out (a crash or a hung handler).
      deadLetter(job, maxAttempts, `not acknowledged within ${ackWaitMs} ms in ${maxAttempts} deliveries`);
      return;
    }
    const delivery: Delivery = { job, settled: false, ackTimer: undefined };
    const armAckTimer = () => {
      cancel(delivery.ackTimer);
      delivery.ackTimer = later(ackWaitMs, () => {
        if (settle(delivery)) requeue(job, 0);
      });
    };
    armAckTimer();

    const message: JobMessage<unknown> = {
      subject: job.subject,
      data: decodeJson(job.payload),
      attempt: job.deliveries,
      ack: async () => {
        settle(delivery);
      },
      nak: async (delayMs = 0) => {
        if (settle(delivery)) requeue(job, delayMs);
      },
      working: async () => {
        if (!delivery.settled) armAckTimer();
      },
    };

    const run = (async () => {
      await Promise.resolve(); // never run a handler inside enqueue()
      try {
        await consumer.handler(message);
        settle(delivery);
      } catch (err) {
        if (!settle(delivery)) {
          logger.warn({ err, subject: job.subject }, 'job handler threw after settling its job');
        } else if (job.deliveries >= maxAttempts) {
          deadLetter(job, job.deliveries, errorMessage(err));
        } else {
          logger.warn({ err, subject: job.subject, attempt: job.deliveries }, 'job failed, will retry');
          requeue(job, backoffDelay(backoffMs, job.deliveries));
        }
      }
    })().finally(() => {
      consumer.running.delete(run);
      pump(queue);
    });
    consumer.running.add(run);
  }

  /** Marks a delivery done; false when it already was (the first outcome wins). */
  function settle(delivery: Delivery): boolean {
    if (delivery.settled) return false;
    delivery.settled = true;
    cancel(delivery.ackTimer);
    return true;
  }

  async function stopConsumer(queue: JobQueue, consumer: MemoryConsumer): Promise<void> {
    if (consumer.stopped) return;
    consumer.stopped = true;
    queue.consumers = queue.consumers.filter((c) => c !== consumer);
    queue.next = 0;
    if (consumer.running.size > 0) {
      await Promise.race([Promise.allSettled([...consumer.running]), sleep(consumer.opts.stopGraceMs)]);
    }
  }

  function isDuplicate(dedupId: string): boolean {
    const now = Date.now();
    if (dedupSeen.size > 1000) {
      for (const [id, expiresAt] of dedupSeen) if (expiresAt <= now) dedupSeen.delete(id);
    }
    const expiresAt = dedupSeen.get(dedupId);
    if (expiresAt !== undefined && expiresAt > now) return true;
    dedupSeen.set(dedupId, now + dedupWindowMs);
    return false;
  }

  return {
    async publish<T>(subject: string, data: T): Promise<void> {
      assertOpen();
      assertEventSubject(subject);
      publishEvent(subject, data);
    },

    async subscribe<T>(
      pattern: string,
      handler: (data: T, subject: string) => void | Promise<void>,
    ): Promise<Subscription> {
      assertOpen();
      assertSubjectPattern(pattern);
      const sub: EventSubscriber = {
        pattern,
        handler: handler as EventSubscriber['handler'],
        active: true,
      };
      subscribers.add(sub);
      return {
        async unsubscribe() {
          sub.active = false;
          subscribers.delete(sub);
        },
      };
    },

    async enqueue<T>(subject: string, data: T, enqueueOpts?: { dedupId?: string }): Promise<void> {
      assertOpen();
      assertJobSubject(subject);
      if (enqueueOpts?.dedupId !== undefined && isDuplicate(enqueueOpts.dedupId)) return;
      requeue({ subject, payload: encodeJson(data), deliveries: 0 }, 0);
    },

    async consume<T>(
      subject: string,
      handler: JobHandler<T>,
      consumeOpts?: ConsumeOptions,
    ): Promise<Consumer> {
      assertOpen();
      assertJobSubject(subject);
      const queue = queueFor(subject);
      const consumer: MemoryConsumer = {
        handler: handler as JobHandler<unknown>,
        opts: resolveConsumeOptions(consumeOpts),
        running: new Set(),
        stopped: false,
      };
      queue.consumers.push(consumer);
      pump(queue);
      return { stop: () => stopConsumer(queue, consumer) };
    },

    async keyValue(bucket: string): Promise<KeyValueStore> {
      assertOpen();
      assertBucketName(bucket);
      let store = stores.get(bucket);
      if (!store) {
        store = memoryKeyValueStore();
        stores.set(bucket, store);
      }
      return store;
    },

    async request<T, R>(subject: string, data: T, requestOpts: RequestOptions): Promise<R> {
      assertOpen();
      assertEventSubject(subject);
      const list = responders.get(subject) ?? [];
      if (list.length === 0) throw new NoResponderError(`no responder for ${subject}`);
      const responder = list[nextResponder++ % list.length] as (typeof list)[number];
      // Through JSON both ways, as on the wire.
      const payload = decodeJson<T>(encodeJson(data));
      const envelope = await withTimeout(
        replyOf(() => responder.handler(payload, subject)),
        requestOpts.timeoutMs,
        `request ${subject}`,
      );
      return unwrapReply<R>(subject, decodeJson(encodeJson(envelope)));
    },

    async respond<T, R>(subject: string, handler: RequestHandler<T, R>): Promise<Subscription> {
      assertOpen();
      assertEventSubject(subject);
      const entry = { handler: handler as RequestHandler<unknown, unknown>, active: true };
      const list = responders.get(subject) ?? [];
      list.push(entry);
      responders.set(subject, list);
      return {
        async unsubscribe() {
          const current = responders.get(subject) ?? [];
          responders.set(
            subject,
            current.filter((e) => e !== entry),
          );
        },
      };
    },

    status(): BusStatus {
      return { transport: 'memory', connected: !closed };
    },

    async close(): Promise<void> {
      if (closed) return;
      const stopping = [...queues.values()].flatMap((queue) =>
        queue.consumers.map((consumer) => stopConsumer(queue, consumer)),
      );
      await Promise.all(stopping);
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      queues.clear();
      subscribers.clear();
      responders.clear();
      dedupSeen.clear();
    },
  };
}
