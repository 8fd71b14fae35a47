import { createBus } from '@lumen/bus';
import { LibrariesRepository, openDatabase } from '@lumen/db';
import { runService, type ServiceHttp, startServiceHttp } from '@lumen/runtime';
import { start } from './start.ts';

await runService('watcher', async (config, logger) => {
  const database = await openDatabase(config.database);
  const bus = await createBus(config, logger);
  const watcher = await start({ config, database, bus, logger });
  let http: ServiceHttp | undefined;
  if (config.env.METRICS_BIND_URL) {
    const libraries = new LibrariesRepository(database.db);
    http = await startServiceHttp({
      service: 'watcher',
      bind: config.env.METRICS_BIND_URL,
      registry: watcher.registry,
      logger,
      health: async () => {
        const dbOk = await database.ping();
        const busStatus = bus.status();
        const rows = dbOk ? await libraries.list() : [];
        return {
          ok: dbOk && busStatus.connected,
          db: { ok: dbOk, dialect: database.kind },
          bus: busStatus,
          libraries: rows.map((l) => ({ name: l.name, status: l.status })),
        };
      },
    });
  }
  return {
    async stop() {
      await http?.close();
      await watcher.stop();
      await bus.close();
      await database.close();
    },
  };
});
