import type { Bus } from '@lumen/bus';
import type { Config } from '@lumen/core';
import type { Logger } from '@lumen/runtime';

/** The transcoder is DB-free: bus and files only. */
export interface TranscoderDeps {
  config: Config;
  bus: Bus;
  logger: Logger;
}

export interface TranscoderHandle {
  stop(): Promise<void>;
}

/** Start the transcoder: consumes video jobs from the bus and writes HLS and preview clips. */
export async function start(deps: TranscoderDeps): Promise<TranscoderHandle> {
  const logger = deps.logger.child({ component: 'transcoder' });
  logger.info({ videoDir: deps.config.videoDir, bus: deps.bus.status().transport }, 'transcoder started');
  return {
    async stop() {
      logger.info('transcoder stopped');
    },
  };
}
