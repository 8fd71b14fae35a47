import { createBus } from '@lumen/bus';
import { runService } from '@lumen/runtime';
import { start } from './start.ts';

await runService('transcoder', async (config, logger) => {
  const bus = await createBus(config, logger);
  const transcoder = await start({ config, bus, logger });
  return {
    async stop() {
      await transcoder.stop();
      await bus.close();
    },
  };
});
