/**
 * The one bus interface every app talks to. Two transports implement it:
 * NATS JetStream (`nats-bus.ts`) and in-process (`memory-bus.ts`).
 *
 * Events are fire-and-forget broadcasts (plain subjects: every subscriber
 * gets every message). Jobs are work items on a work queue: exactly one
 * consumer handles each one, it must `ack()` it, an un-acked job is delivered
 * again (to any consumer) after `ackWaitMs`, and after `maxAttempts`
 * deliveries it is published to the dead-letter subject `dlq.<subject>` with
 * the last error.
 */
import type { KeyValueOptions, KeyValueStore } from './key-value.ts';

export interface Subscription {
  unsubscribe(): Promise<void>;
}

export interface JobMessage<T = unknown> {
  /** Job subject, e.g. `video.hls`. */
  readonly subject: string;
  readonly data: T;
  /** 1 on first delivery, 2 on the first redelivery, ... */
  readonly attempt: number;
  /** Mark done. */
  ack(): Promise<void>;
  /** Give it back; redelivered after `delayMs` (default: at once). */
  nak(delayMs?: number): Promise<void>;
  /** Extend the ack deadline of a long job. */
  working(): Promise<void>;
}

export interface ConsumeOptions {
  /** How many jobs this consumer handles at once. Default 1. */
  concurrency?: number;
  /** Deliveries before a job is dead-lettered. Default 5. */
  maxAttempts?: number;
  /** An un-acked job is redelivered after this long. Default 30 000. */
  ackWaitMs?: number;
  /**
   * Delay before redelivery when the handler throws, per attempt
   * (attempt 1 uses index 0; the last entry repeats). Default [1000, 5000, 30000].
   */
  backoffMs?: number[];
  /**
   * How long `stop()` (and `close()`) waits for handlers still running before
   * returning. A job whose handler has not settled by then stays un-acked and
   * is delivered again (to any consumer) once its `ackWaitMs` runs out.
   * Default 10 000.
   */
  stopGraceMs?: number;
}

/** What a dead-lettered job looks like on `dlq.<subject>`. */
export interface DeadLetter<T = unknown> {
  subject: string;
  data: T;
  attempts: number;
  error: string;
}

export interface Consumer {
  /**
   * Take no new jobs; wait up to `stopGraceMs` for the handlers in flight.
   * Jobs left un-acked are redelivered after their ack wait.
   */
  stop(): Promise<void>;
}

export type JobHandler<T> = (job: JobMessage<T>) => Promise<void>;

/** A request handler: its result is the reply; what it throws reaches the asker as a RequestError. */
export type RequestHandler<T, R> = (data: T, subject: string) => Promise<R>;

export interface RequestOptions {
  /** Give up (TimeoutError) after this long, ms. */
  timeoutMs: number;
}

export interface BusStatus {
  transport: 'nats' | 'memory';
  connected: boolean;
}

export interface Bus {
  /** Broadcast an event on a plain subject. */
  publish<T>(subject: string, data: T): Promise<void>;
  /** Receive events; `subject` may use NATS wildcards (`*`, `>`). */
  subscribe<T>(
    subject: string,
    handler: (data: T, subject: string) => void | Promise<void>,
  ): Promise<Subscription>;
  /**
   * Add a job to the work queue. With `dedupId`, a second enqueue of the same
   * id within the dedup window is dropped.
   */
  enqueue<T>(subject: string, data: T, opts?: { dedupId?: string }): Promise<void>;
  /**
   * Handle jobs of `subject`. If the handler resolves without calling ack/nak,
   * the job is acked; if it throws, it is nak'ed with backoff, and after
   * `maxAttempts` deliveries dead-lettered to `dlq.<subject>`.
   * All consumers of one subject share one queue (each job goes to one of them).
   */
  consume<T>(subject: string, handler: JobHandler<T>, opts?: ConsumeOptions): Promise<Consumer>;
  /**
   * A key-value store shared by every process on this bus (compare-and-swap writes), for
   * coordination such as leases. NATS: a KV bucket `<prefix>_<bucket>`; memory: this process only.
   * With `maxAgeMs` (NATS: the bucket's TTL, set when the bucket is created), an entry not written
   * for that long is dropped; the memory store keeps entries until deleted.
   */
  keyValue(bucket: string, opts?: KeyValueOptions): Promise<KeyValueStore>;
  /**
   * Ask one responder of `subject` and wait for its answer (request/reply: nothing is stored, a
   * request nobody answers in time is lost). Rejects with `TimeoutError` after `timeoutMs`, with
   * `NoResponderError` when no responder listens, with `RequestError` (its message) when the
   * responder threw.
   */
  request<T, R>(subject: string, data: T, opts: RequestOptions): Promise<R>;
  /**
   * Answer requests on `subject`. With several responders (replicas) each request goes to one of
   * them, chosen by the transport.
   */
  respond<T, R>(subject: string, handler: RequestHandler<T, R>): Promise<Subscription>;
  status(): BusStatus;
  close(): Promise<void>;
}
