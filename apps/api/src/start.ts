import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { configureDecodeBudget, configureSharp } from '@lumen/media';
import { type AppDeps, createApp } from './app.ts';
import { startUploadStagingSweep, uploadStagingDir } from './services/upload-staging-sweep.ts';
import { VideoStatusBoard } from './services/video-status-board.ts';

export interface ApiDeps extends AppDeps {
  /** The clock that ages upload leftovers in the staging folder (default Date.now; tests move it). */
  now?: () => number;
}

export interface ApiHandle {
  /** Base URL to reach the server, e.g. `http://127.0.0.1:8088` (a wildcard bind is shown as loopback). */
  url: string;
  port: number;
  server: Server;
  /** Stop accepting connections, let in-flight requests finish (up to a grace period). */
  stop(): Promise<void>;
}

/** In-flight requests get this long after stop() before their connections are cut. */
export const STOP_GRACE_MS = 3_000;

function urlFor(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * Serve the api on `config.bind` (port 0 picks a free port). The caller owns the
 * database and the bus: stop() closes only the HTTP server (and its video.status subscriptions).
 */
export async function start(deps: ApiDeps): Promise<ApiHandle> {
  const logger = deps.logger.child({ component: 'api' });
  // Thumbnails and previews made on demand decode inside the process's decode memory budget (shared
  // with the watcher in the standalone process), without libvips' operation cache.
  configureSharp({ cache: false });
  configureDecodeBudget({ memoryBytes: deps.config.env.DECODE_MEMORY_BUDGET_MB * 1024 * 1024 });
  const videoStatus = new VideoStatusBoard();
  const app = createApp({ ...deps, videoStatus });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  const { host, port: wantedPort } = deps.config.bind;

  // Uploads that died with an earlier process (SIGKILL, crash) left their staged files behind.
  const stagingSweep = await startUploadStagingSweep({
    dir: uploadStagingDir(deps.config.dataDir),
    logger,
    ...(deps.now ? { now: deps.now } : {}),
  });
  await videoStatus.subscribe(deps.bus, logger);
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) =>
        reject(new Error(`api cannot listen on ${host}:${wantedPort}: ${err.message}`));
      server.once('error', onError);
      server.listen(wantedPort, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
  } catch (err) {
    stagingSweep.stop();
    await videoStatus.stop();
    throw err;
  }
  server.on('error', (err) => logger.error({ err }, 'http server error'));

  const port = (server.address() as AddressInfo).port;
  const url = urlFor(host, port);
  logger.info({ url, host, port }, 'api listening');

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    server,
    stop() {
      stopping ??= new Promise<void>((resolve, reject) => {
        stagingSweep.stop();
        void videoStatus.stop();
        const grace = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
        grace.unref();
        server.close((err) => {
          clearTimeout(grace);
          if (err) reject(err);
          else {
            logger.info('api stopped');
            resolve();
          }
        });
        server.closeIdleConnections();
      });
      return stopping;
    },
  };
}
