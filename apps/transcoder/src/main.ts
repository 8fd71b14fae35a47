import { createBus } from '@lumen/bus';
import { runService, type ServiceHttp, startServiceHttp } from '@lumen/runtime';
import { start } from './start.ts';

await runService('transcoder', async (config, logger) => {
  const bus = await createBus(config, logger);
  const transcoder = await start({ config, bus, logger });
  let http: ServiceHttp | undefined;
  if (config.env.METRICS_BIND_URL) {
    http = await startServiceHttp({
      service: 'transcoder',
      bind: config.env.METRICS_BIND_URL,
      registry: transcoder.registry,
      logger,
      health: async () => {
        const busStatus = bus.status();
        return { ok: busStatus.connected, bus: busStatus, running: transcoder.running() };
      },
    });
  }
  return {
    async stop() {
      await http?.close();
      await transcoder.stop();
      await bus.close();
    },
  };
});
