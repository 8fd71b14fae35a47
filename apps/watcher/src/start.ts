import type { Bus } from '@lumen/bus';
import type { Config } from '@lumen/core';
import type { Database } from '@lumen/db';
import type { Logger } from '@lumen/runtime';

export interface WatcherDeps {
  config: Config;
  database: Database;
  bus: Bus;
  logger: Logger;
}

export interface WatcherHandle {
  stop(): Promise<void>;
}

/** Start the watcher: library probes, scans, ingest and the maintenance pipeline. */
export async function start(deps: WatcherDeps): Promise<WatcherHandle> {
  const logger = deps.logger.child({ component: 'watcher' });
  logger.info(
    { libraries: deps.config.libraries.map((l) => l.name), bus: deps.bus.status().transport },
    'watcher started',
  );
  return {
    async stop() {
      logger.info('watcher stopped');
    },
  };
}
