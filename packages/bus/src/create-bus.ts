import type { Bus } from './bus.ts';
import type { BusLogger } from './bus-logger.ts';
import { createMemoryBus } from './memory-bus.ts';
import { createNatsBus } from './nats-bus.ts';

export interface BusConfig {
  /** Set: NATS JetStream. Unset: the in-process bus (standalone mode). */
  natsUrl?: string | undefined;
  busPrefix: string;
}

/** The bus a service should use, from `Config` (`natsUrl`, `busPrefix`). */
export async function createBus(config: BusConfig, logger?: BusLogger): Promise<Bus> {
  const withLogger = logger ? { logger } : {};
  if (config.natsUrl) {
    return createNatsBus({ servers: config.natsUrl, prefix: config.busPrefix, ...withLogger });
  }
  return createMemoryBus(withLogger);
}
