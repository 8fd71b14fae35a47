/**
 * NATS transport. Events are core NATS subjects `<prefix>.<subject>`. Jobs go
 * through one JetStream work-queue stream per prefix (`<prefix>_JOBS`, subjects
 * `<prefix>_jobs.<subject>`) with one durable pull consumer per job subject,
 * shared by every replica (NATS 2.9 allows one consumer per filter subject on
 * a work queue). Jobs live under `<prefix>_jobs.` rather than `<prefix>.jobs.`
 * so that an event subscription such as `>` never sees job payloads and an
 * event published on `jobs.x` never lands in the work queue.
 *
 * Retries and dead-lettering are ours (the server's `max_deliver` only emits an
 * advisory): `max_deliver` is unlimited, a failed handler is nak'ed with the
 * backoff delay, and once `deliveryCount` reaches `maxAttempts` the job is
 * published as a DeadLetter event on `<prefix>.dlq.<subject>` and terminated.
 */
import { createHash } from 'node:crypto';
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type Consumer as JsConsumer,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { errors, type Msg, type MsgHdrs, type NatsConnection, nanos } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
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
import { assertBucketName, assertKey, type KeyValueOptions, type KeyValueStore } from './key-value.ts';
import { NoResponderError, replyOf, unwrapReply } from './request-reply.ts';
import { assertEventSubject, assertJobSubject, assertSubjectPattern } from './subjects.ts';
import { sleep, TimeoutError, withTimeout } from './timeouts.ts';
import { inRemoteSpan, traceHeaders } from './trace-context.ts';

export interface NatsBusOptions {
  /** `nats://host:port`, a comma-separated list, or an array. */
  servers: string | string[];
  /** Namespace of every subject, stream and consumer of this deployment (`BUS_PREFIX`). */
  prefix: string;
  logger?: BusLogger;
  /** Default 5 000. */
  connectTimeoutMs?: number;
  /** Timeout of every JetStream API call, publish ack and ack confirmation. Default 5 000. */
  requestTimeoutMs?: number;
  /** `duplicate_window` of the jobs stream, used when the stream is created. Default 120 000. */
  dedupWindowMs?: number;
  /** Connection name shown by the server (`nats server report connections`). */
  name?: string;
}

/** How long one pull request waits for jobs before the next one is sent. */
const FETCH_EXPIRES_MS = 5_000;
/** Pause after a failed pull (server gone, consumer deleted) before trying again. */
const FETCH_RETRY_MS = 1_000;

const PREFIX = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Requests travel on `<prefix>_rpc.<subject>`, apart from events (an event subscription to `>`
 * never sees them).
 */
export function requestSubject(prefix: string, subject: string): string {
  return `${prefix}_rpc.${subject}`;
}

export function jobsStreamName(prefix: string): string {
  return `${prefix}_JOBS`;
}

/** The JetStream subject a job subject is stored under. */
export function jobStreamSubject(prefix: string, subject: string): string {
  return `${prefix}_jobs.${subject}`;
}

/**
 * Durable consumer name of a job subject: `<prefix>_video_hls` for `video.hls`.
 * A subject that already holds `_` gets a short hash so that `a.b_c` and
 * `a_b.c` do not share a consumer.
 */
export function jobConsumerName(prefix: string, subject: string): string {
  const readable = `${prefix}_${subject.replaceAll('.', '_')}`;
  if (!subject.includes('_')) return readable;
  const hash = createHash('sha256').update(subject).digest('hex').slice(0, 8);
  return `${readable}_${hash}`;
}

function splitServers(servers: string | string[]): string[] {
  const list = Array.isArray(servers) ? servers : servers.split(',');
  return list.map((s) => s.trim()).filter((s) => s.length > 0);
}

function assertPrefix(prefix: string): void {
  if (!PREFIX.test(prefix))
    throw new Error(`invalid bus prefix "${prefix}": letters, digits, _ and -, at most 32`);
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

export interface NatsBus extends Bus {
  /** Deletes this prefix's jobs stream (and with it every consumer and queued job). */
  deletePrefix(): Promise<void>;
}

export async function createNatsBus(opts: NatsBusOptions): Promise<NatsBus> {
  assertPrefix(opts.prefix);
  const prefix = opts.prefix;
  const logger = opts.logger ?? consoleBusLogger;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 5_000;
  const streamName = jobsStreamName(prefix);

  const nc = await connect({
    servers: splitServers(opts.servers),
    timeout: opts.connectTimeoutMs ?? 5_000,
    name: opts.name ?? `lumen-bus-${prefix}`,
    maxReconnectAttempts: -1,
  });
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  try {
    jsm = await jetstreamManager(nc, { timeout: requestTimeoutMs });
    js = jetstream(nc, { timeout: requestTimeoutMs });
    await ensureJobsStream(jsm, prefix, opts.dedupWindowMs ?? 120_000);
  } catch (err) {
    await nc.close();
    throw err;
  }

  let connected = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        logger.warn({ server: s.server }, 'NATS disconnected');
      } else if (s.type === 'reconnect') {
        connected = true;
        logger.info({ server: s.server }, 'NATS reconnected');
      } else if (s.type === 'error') {
        logger.error({ err: s.error }, 'NATS error');
      }
    }
  })();

  let closing = false;
  const consumers = new Set<NatsJobConsumer>();
  const stores = new Map<string, Promise<KeyValueStore>>();
  const consumerReady = new Map<string, Promise<JsConsumer>>();

  function assertOpen(): void {
    if (closing || nc.isClosed()) throw new Error('bus is closed');
  }

  function publishEvent(subject: string, data: unknown): void {
    nc.publish(`${prefix}.${subject}`, encodeJson(data), withTraceHeaders({}));
  }

  async function ensureConsumer(subject: string, ackWaitMs: number): Promise<JsConsumer> {
    const name = jobConsumerName(prefix, subject);
    const config: Partial<ConsumerConfig> = {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      max_deliver: -1,
      filter_subject: jobStreamSubject(prefix, subject),
    };
    try {
      await jsm.consumers.add(streamName, config);
    } catch (err) {
      // Servers >= 2.10 refuse to "create" over an existing consumer with another config.
      const info = await jsm.consumers.info(streamName, name).catch(() => undefined);
      if (!info) throw err;
      if (info.config.ack_wait !== config.ack_wait) {
        await jsm.consumers.update(streamName, name, { ack_wait: config.ack_wait });
      }
    }
    return js.consumers.get(streamName, name);
  }

  /** One durable per subject; created (or updated) once per bus, on first consume. */
  function consumerFor(subject: string, ackWaitMs: number): Promise<JsConsumer> {
    let ready = consumerReady.get(subject);
    if (!ready) {
      ready = ensureConsumer(subject, ackWaitMs);
      ready.catch(() => consumerReady.delete(subject));
      consumerReady.set(subject, ready);
    }
    return ready;
  }

  function deadLetter(msg: JsMsg, subject: string, data: unknown, attempts: number, error: string): void {
    const letter: DeadLetter = { subject, data, attempts, error };
    logger.warn({ subject, attempts, error }, 'job dead-lettered');
    publishEvent(`dlq.${subject}`, letter);
    msg.term();
  }

  /** Runs the handler for one delivery and settles the message exactly once. */
  async function handle(
    msg: JsMsg,
    subject: string,
    handler: JobHandler<unknown>,
    opts: ResolvedConsumeOptions,
  ): Promise<void> {
    const attempt = msg.info.deliveryCount;
    let data: unknown;
    try {
      data = decodeJson(msg.string());
    } catch (err) {
      deadLetter(msg, subject, msg.string(), attempt, `payload is not JSON: ${errorMessage(err)}`);
      return;
    }
    if (attempt > opts.maxAttempts) {
      // Only reachable when earlier deliveries timed out (a crash or a hung handler).
      const error = `not acknowledged within ${opts.ackWaitMs} ms in ${opts.maxAttempts} deliveries`;
      deadLetter(msg, subject, data, opts.maxAttempts, error);
      return;
    }

    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      return true;
    };
    const job: JobMessage<unknown> = {
      subject,
      data,
      attempt,
      ack: async () => {
        if (settle()) await msg.ackAck({ timeout: requestTimeoutMs });
      },
      nak: async (delayMs) => {
        if (settle()) msg.nak(delayMs && delayMs > 0 ? delayMs : undefined);
      },
      working: async () => {
        if (!settled) msg.working();
      },
    };

    try {
      await inRemoteSpan(
        `job ${subject}`,
        'consumer',
        msg.headers,
        { ...spanAttributes(msg.subject), 'messaging.nats.delivery_count': attempt },
        () => handler(job),
      );
    } catch (err) {
      if (!settle()) {
        logger.warn({ err, subject, attempt }, 'job handler failed after settling its job');
      } else if (attempt >= opts.maxAttempts) {
        deadLetter(msg, subject, data, attempt, errorMessage(err));
      } else {
        logger.warn({ err, subject, attempt }, 'job failed, will retry');
        msg.nak(backoffDelay(opts.backoffMs, attempt) || undefined);
      }
      return;
    }
    // Resolved without ack/nak: done. A failed ack surfaces in the caller's log; the job comes back.
    if (settle()) await msg.ackAck({ timeout: requestTimeoutMs });
  }

  class NatsJobConsumer implements Consumer {
    private stopped = false;
    private readonly abort = new AbortController();
    private readonly running = new Set<Promise<void>>();
    private wakeUp: (() => void) | undefined;
    private batch: ConsumerMessages | undefined;
    private readonly loop: Promise<void>;

    constructor(
      private readonly subject: string,
      private readonly jsConsumer: JsConsumer,
      private readonly handler: JobHandler<unknown>,
      private readonly opts: ResolvedConsumeOptions,
    ) {
      this.loop = this.run();
    }

    /** Pulls only as many jobs as there are free slots, so no replica hoards work. */
    private async run(): Promise<void> {
      while (!this.stopped) {
        const free = this.opts.concurrency - this.running.size;
        if (free <= 0) {
          await new Promise<void>((resolve) => {
            this.wakeUp = resolve;
          });
          continue;
        }
        try {
          this.batch = await this.jsConsumer.fetch({ max_messages: free, expires: FETCH_EXPIRES_MS });
          for await (const msg of this.batch) {
            if (this.stopped) {
              msg.nak(); // pulled while stopping: give it straight back
              continue;
            }
            this.start(msg);
          }
        } catch (err) {
          if (this.stopped || nc.isClosed()) break;
          logger.warn({ err, subject: this.subject }, 'pulling jobs failed, retrying');
          await sleep(FETCH_RETRY_MS, this.abort.signal);
        } finally {
          this.batch = undefined;
        }
      }
    }

    private start(msg: JsMsg): void {
      const run = handle(msg, this.subject, this.handler, this.opts)
        .catch((err: unknown) => logger.error({ err, subject: this.subject }, 'settling a job failed'))
        .finally(() => {
          this.running.delete(run);
          this.wake();
        });
      this.running.add(run);
    }

    private wake(): void {
      const wakeUp = this.wakeUp;
      this.wakeUp = undefined;
      wakeUp?.();
    }

    async stop(): Promise<void> {
      if (this.stopped) return;
      this.stopped = true;
      consumers.delete(this);
      this.abort.abort();
      this.wake();
      await this.batch?.close().catch(() => undefined);
      await withTimeout(this.loop, requestTimeoutMs, 'stopping the pull loop').catch(() => undefined);
      if (this.running.size > 0) {
        await Promise.race([Promise.allSettled([...this.running]), sleep(this.opts.stopGraceMs)]);
      }
    }
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
      const sub = nc.subscribe(`${prefix}.${pattern}`, {
        callback: (err, msg) => {
          if (err) {
            logger.error({ err, pattern }, 'subscription failed');
            return;
          }
          const subject = msg.subject.slice(prefix.length + 1);
          void inRemoteSpan(
            `event ${subject}`,
            'consumer',
            msg.headers,
            spanAttributes(msg.subject),
            async () => handler(decodeJson<T>(msg.string()), subject),
          ).catch((handlerErr: unknown) =>
            logger.error({ err: handlerErr, subject }, 'event handler failed'),
          );
        },
      });
      // The server knows the subscription once flush returns: events published after this are seen.
      await withTimeout(nc.flush(), requestTimeoutMs, 'subscribing');
      return {
        async unsubscribe() {
          if (sub.isClosed()) return;
          sub.unsubscribe();
          // Once flush returns the server knows: nothing more is routed here (a request then gets
          // "no responders" at once instead of waiting for a reply that never comes).
          await withTimeout(nc.flush(), requestTimeoutMs, 'unsubscribing').catch(() => {});
        },
      };
    },

    async enqueue<T>(subject: string, data: T, enqueueOpts?: { dedupId?: string }): Promise<void> {
      assertOpen();
      assertJobSubject(subject);
      const dedup = enqueueOpts?.dedupId !== undefined ? { msgID: enqueueOpts.dedupId } : {};
      await js.publish(
        jobStreamSubject(prefix, subject),
        encodeJson(data),
        withTraceHeaders({ timeout: requestTimeoutMs, ...dedup }),
      );
    },

    async consume<T>(
      subject: string,
      handler: JobHandler<T>,
      consumeOpts?: ConsumeOptions,
    ): Promise<Consumer> {
      assertOpen();
      assertJobSubject(subject);
      const resolved = resolveConsumeOptions(consumeOpts);
      const jsConsumer = await consumerFor(subject, resolved.ackWaitMs);
      const consumer = new NatsJobConsumer(subject, jsConsumer, handler as JobHandler<unknown>, resolved);
      consumers.add(consumer);
      return consumer;
    },

    async keyValue(bucket: string, kvOpts: KeyValueOptions = {}): Promise<KeyValueStore> {
      assertBucketName(bucket);
      let store = stores.get(bucket);
      if (!store) {
        store = openKeyValue(js, `${prefix}_${bucket}`, requestTimeoutMs, kvOpts);
        stores.set(bucket, store);
        store.catch(() => stores.delete(bucket));
      }
      return store;
    },

    async request<T, R>(subject: string, data: T, requestOpts: RequestOptions): Promise<R> {
      assertOpen();
      assertEventSubject(subject);
      let msg: Msg;
      try {
        msg = await nc.request(
          requestSubject(prefix, subject),
          encodeJson(data),
          withTraceHeaders({ timeout: requestOpts.timeoutMs }),
        );
      } catch (err) {
        const cause = err instanceof Error ? err.cause : undefined;
        const noResponders =
          err instanceof errors.NoRespondersError ||
          cause instanceof errors.NoRespondersError ||
          (err instanceof errors.RequestError && err.isNoResponders());
        if (noResponders) throw new NoResponderError(`no responder for ${subject}`);
        if (err instanceof errors.TimeoutError || cause instanceof errors.TimeoutError) {
          throw new TimeoutError(`request ${subject} timed out after ${requestOpts.timeoutMs} ms`);
        }
        throw err;
      }
      return unwrapReply<R>(subject, decodeJson(msg.string()));
    },

    async respond<T, R>(subject: string, handler: RequestHandler<T, R>): Promise<Subscription> {
      assertOpen();
      assertEventSubject(subject);
      // One queue group: each request goes to one responder of the deployment.
      const sub = nc.subscribe(requestSubject(prefix, subject), {
        queue: 'responders',
        callback: (err, msg) => {
          if (err) {
            logger.error({ err, subject }, 'responder subscription failed');
            return;
          }
          const answer = () =>
            inRemoteSpan(`request ${subject}`, 'server', msg.headers, spanAttributes(msg.subject), () =>
              handler(decodeJson<T>(msg.string()), subject),
            );
          void replyOf(answer).then((envelope) => {
            try {
              msg.respond(encodeJson(envelope));
            } catch (respondErr) {
              logger.warn({ err: respondErr, subject }, 'could not send a reply');
            }
          });
        },
      });
      await withTimeout(nc.flush(), requestTimeoutMs, 'subscribing');
      return {
        async unsubscribe() {
          if (sub.isClosed()) return;
          sub.unsubscribe();
          // Once flush returns the server knows: nothing more is routed here (a request then gets
          // "no responders" at once instead of waiting for a reply that never comes).
          await withTimeout(nc.flush(), requestTimeoutMs, 'unsubscribing').catch(() => {});
        },
      };
    },

    status(): BusStatus {
      return { transport: 'nats', connected: connected && !closing && !nc.isClosed() };
    },

    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      await Promise.all([...consumers].map((c) => c.stop()));
      try {
        await withTimeout(nc.drain(), requestTimeoutMs, 'draining the NATS connection');
      } catch (err) {
        logger.warn({ err }, 'drain failed, closing the connection');
        await nc.close();
      }
    },

    async deletePrefix(): Promise<void> {
      await deleteJobsStream(jsm, prefix);
      await deleteKeyValueBuckets(jsm, prefix);
    },
  };
}

async function ensureJobsStream(jsm: JetStreamManager, prefix: string, dedupWindowMs: number): Promise<void> {
  const name = jobsStreamName(prefix);
  try {
    await jsm.streams.info(name);
    return;
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
  }
  try {
    await jsm.streams.add({
      name,
      subjects: [`${prefix}_jobs.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(dedupWindowMs),
    });
  } catch (err) {
    // Another replica may have created it in the meantime.
    await jsm.streams.info(name).catch(() => {
      throw err;
    });
  }
}

async function deleteJobsStream(jsm: JetStreamManager, prefix: string): Promise<void> {
  try {
    await jsm.streams.delete(jobsStreamName(prefix));
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
  }
}

/** `opts` plus the active trace context as headers, when there is one (tracing on). */
function withTraceHeaders<O extends object>(opts: O): O & { headers?: MsgHdrs } {
  const headers = traceHeaders();
  return headers ? { ...opts, headers } : opts;
}

function spanAttributes(natsSubject: string): Record<string, string> {
  return { 'messaging.system': 'nats', 'messaging.destination.name': natsSubject };
}

/** A KV bucket (created when missing, history 1) behind the KeyValueStore contract. */
async function openKeyValue(
  js: JetStreamClient,
  name: string,
  timeoutMs: number,
  opts: KeyValueOptions,
): Promise<KeyValueStore> {
  const kv = await new Kvm(js).create(name, {
    history: 1,
    timeout: timeoutMs,
    ...(opts.maxAgeMs === undefined ? {} : { ttl: opts.maxAgeMs }),
  });
  /** A write refused because the key's revision moved on (or it exists, for create). */
  const isConflict = (err: unknown) =>
    isApiError(err, JetStreamApiCodes.StreamWrongLastSequence) ||
    /wrong last sequence|key exists/i.test(err instanceof Error ? err.message : String(err));
  const guarded = async (write: () => Promise<number>) => {
    try {
      return await write();
    } catch (err) {
      if (isConflict(err)) return undefined;
      throw err;
    }
  };
  return {
    async get(key) {
      assertKey(key);
      const entry = await kv.get(key);
      if (entry?.operation !== 'PUT') return undefined;
      return { value: entry.string(), revision: entry.revision };
    },
    create(key, value) {
      assertKey(key);
      return guarded(() => kv.create(key, value));
    },
    update(key, value, revision) {
      assertKey(key);
      return guarded(() => kv.update(key, value, revision));
    },
    async delete(key, revision) {
      assertKey(key);
      try {
        await kv.delete(key, revision === undefined ? {} : { previousSeq: revision });
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    },
    async keys() {
      const out: string[] = [];
      for await (const key of await kv.keys()) out.push(key);
      return out.sort();
    },
  };
}

/** Deletes the KV buckets of `prefix` (their streams are `KV_<prefix>_<bucket>`). */
async function deleteKeyValueBuckets(jsm: JetStreamManager, prefix: string): Promise<void> {
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`KV_${prefix}_`)) {
      await jsm.streams.delete(name).catch((err: unknown) => {
        if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
      });
    }
  }
}

/**
 * Deletes the jobs stream of `prefix` (its consumers and queued jobs go with it).
 * For tests and benchmarks that use a throw-away prefix on a shared server.
 */
export async function deleteBusPrefix(
  servers: string | string[],
  prefix: string,
  timeoutMs = 5_000,
): Promise<void> {
  assertPrefix(prefix);
  const nc: NatsConnection = await connect({ servers: splitServers(servers), timeout: timeoutMs });
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    await deleteJobsStream(jsm, prefix);
    await deleteKeyValueBuckets(jsm, prefix);
  } finally {
    await withTimeout(nc.drain(), timeoutMs, 'draining the NATS connection').catch(() => nc.close());
  }
}
