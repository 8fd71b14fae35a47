import { createBus } from '@lumen/bus';
import { openDatabase } from '@lumen/db';
import { runService } from '@lumen/runtime';
import { MissingSecretKeyError } from './app.ts';
import { start } from './start.ts';

// The api alone (compose/Kubernetes): real config, database and bus (NATS when NATS_URL is set).
await runService('api', async (config, logger) => {
  if (!config.secretKey) throw new MissingSecretKeyError();
  const database = await openDatabase(config.database);
  const bus = await createBus(config, logger);
  const api = await start({ config, database, bus, logger });
  return {
    async stop() {
      await api.stop();
      await bus.close();
      await database.close();
    },
  };
});
