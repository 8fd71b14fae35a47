import { createBus } from '@lumen/bus';
import { openDatabase } from '@lumen/db';
import { runService } from '@lumen/runtime';
import { start } from './start.ts';

await runService('watcher', async (config, logger) => {
  const database = await openDatabase(config.database);
  const bus = await createBus(config, logger);
  const watcher = await start({ config, database, bus, logger });
  return {
    async stop() {
      await watcher.stop();
      await bus.close();
      await database.close();
    },
  };
});
