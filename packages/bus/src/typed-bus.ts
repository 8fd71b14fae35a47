/**
 * The bus with the subject contracts of `@lumen/core` (bus-contracts): subjects
 * are the known ones, payloads are typed and checked with their zod schema on
 * the way out and on the way in.
 */
import {
  deadLetter,
  type EventSubject,
  type JobSubject,
  type PayloadIn,
  type PayloadOf,
  parsePayload,
  safeParsePayload,
} from '@lumen/core';
import type { Bus, ConsumeOptions, Consumer, DeadLetter, JobHandler, Subscription } from './bus.ts';
import { type BusLogger, consoleBusLogger } from './bus-logger.ts';

export interface TypedBus {
  /** The untyped bus underneath (wildcard subscriptions, dead letters, status, close). */
  readonly bus: Bus;
  /** Throws `BusPayloadError` when `data` breaks the subject's contract. */
  publish<S extends EventSubject>(subject: S, data: PayloadIn<S>): Promise<void>;
  /** Events that break the contract are logged and dropped. */
  subscribe<S extends EventSubject>(
    subject: S,
    handler: (data: PayloadOf<S>, subject: S) => void | Promise<void>,
  ): Promise<Subscription>;
  /** Throws `BusPayloadError` when `data` breaks the subject's contract. */
  enqueue<S extends JobSubject>(subject: S, data: PayloadIn<S>, opts?: { dedupId?: string }): Promise<void>;
  /**
   * A job that breaks the contract can never succeed: it is dead-lettered to
   * `dlq.<subject>` at once (no retries) and the handler never sees it.
   */
  consume<S extends JobSubject>(
    subject: S,
    handler: JobHandler<PayloadOf<S>>,
    opts?: ConsumeOptions,
  ): Promise<Consumer>;
}

export function typedBus(bus: Bus, logger: BusLogger = consoleBusLogger): TypedBus {
  return {
    bus,

    async publish(subject, data) {
      await bus.publish(subject, parsePayload(subject, data));
    },

    subscribe<S extends EventSubject>(
      subject: S,
      handler: (data: PayloadOf<S>, subject: S) => void | Promise<void>,
    ) {
      return bus.subscribe<unknown>(subject, (data) => {
        const parsed = safeParsePayload(subject, data);
        if (!parsed.ok) {
          logger.warn({ subject, issues: parsed.error.issues }, 'dropped an event that breaks its contract');
          return;
        }
        return handler(parsed.data, subject);
      });
    },

    async enqueue(subject, data, opts) {
      await bus.enqueue(subject, parsePayload(subject, data), opts);
    },

    consume<S extends JobSubject>(subject: S, handler: JobHandler<PayloadOf<S>>, opts?: ConsumeOptions) {
      return bus.consume<unknown>(
        subject,
        async (job) => {
          const parsed = safeParsePayload(subject, job.data);
          if (parsed.ok) {
            return handler({
              subject: job.subject,
              data: parsed.data,
              attempt: job.attempt,
              ack: () => job.ack(),
              nak: (delayMs) => job.nak(delayMs),
              working: () => job.working(),
            });
          }
          const letter: DeadLetter = {
            subject,
            data: job.data,
            attempts: job.attempt,
            error: parsed.error.message,
          };
          logger.warn(
            { subject, issues: parsed.error.issues },
            'dead-lettered a job that breaks its contract',
          );
          await bus.publish(deadLetter(subject), letter);
          await job.ack();
        },
        opts,
      );
    },
  };
}
