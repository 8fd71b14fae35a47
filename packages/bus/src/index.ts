export type {
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
export type { BusLogger } from './bus-logger.ts';
export { consoleBusLogger } from './bus-logger.ts';
export { CONSUME_DEFAULTS } from './consume-options.ts';
export { type BusConfig, createBus } from './create-bus.ts';
export type { KeyValueEntry, KeyValueOptions, KeyValueStore } from './key-value.ts';
export { currentLeaseHolder, Lease, type LeaseOptions, leaseHolder } from './lease.ts';
export { createMemoryBus, type MemoryBusOptions } from './memory-bus.ts';
export {
  createNatsBus,
  deleteBusPrefix,
  jobConsumerName,
  jobStreamSubject,
  jobsStreamName,
  type NatsBus,
  type NatsBusOptions,
} from './nats-bus.ts';
export { NoResponderError, RequestError } from './request-reply.ts';
export { subjectMatches } from './subjects.ts';
export { TimeoutError } from './timeouts.ts';
export { type TypedBus, typedBus } from './typed-bus.ts';
