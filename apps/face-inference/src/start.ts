import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Config } from '@lumen/core';
import type { Logger } from '@lumen/runtime';
import { createApp } from './app.ts';
import type { FaceModel } from './face-model.ts';
import { HumanFaceModel } from './human-model.ts';
import { InferenceService } from './inference.service.ts';

export interface FaceInferenceDeps {
  config: Config;
  logger: Logger;
  /** Defaults to the built-in human model. */
  model?: FaceModel;
  /** Test seam: the model starts loading only once this settles (the service answers 503 until then). */
  holdLoading?: Promise<void>;
}

export interface FaceInferenceHandle {
  url: string;
  port: number;
  /** Settles once the model is loaded (or failed to: see GET /healthz). */
  loaded: Promise<void>;
  stop(): Promise<void>;
}

/** At most this many requests wait for the model; more get 503 `busy` at once. */
export const MAX_QUEUE = 64;
const STOP_GRACE_MS = 3_000;
const KEEP_ALIVE_MS = 65_000;

/**
 * Listen first (answering 503 + Retry-After while loading), then load the model.
 * Binds `FACE_INFERENCE_HOST:FACE_INFERENCE_PORT` (port 0 picks a free one).
 */
export async function start(deps: FaceInferenceDeps): Promise<FaceInferenceHandle> {
  const env = deps.config.env;
  const logger = deps.logger.child({ component: 'face-inference' });
  const model = deps.model ?? new HumanFaceModel();
  const service = new InferenceService(
    model,
    {
      maxSide: env.FACE_INFERENCE_MAX_SIDE,
      queueTimeoutMs: env.FACE_INFERENCE_QUEUE_TIMEOUT_SEC * 1000,
      maxQueue: MAX_QUEUE,
    },
    logger,
  );
  const maxBodyBytes = Math.round(env.FACE_INFERENCE_MAX_BODY_MB * 1024 * 1024);
  const app = createApp({ service, logger, maxBodyBytes });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  // Clients (the watcher, FACE_DETECT_CONCURRENCY connections) keep their connections between photos;
  // a short server timeout races their reuse of an idle socket ("other side closed").
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  const host = env.FACE_INFERENCE_HOST;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) =>
      reject(new Error(`face-inference cannot listen on ${host}:${env.FACE_INFERENCE_PORT}: ${err.message}`));
    server.once('error', onError);
    server.listen(env.FACE_INFERENCE_PORT, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'http server error'));
  const port = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
  logger.info({ url, model: model.info.model, maxBodyBytes }, 'face-inference listening; loading the model');
  const loaded = service.load(deps.holdLoading);

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    loaded,
    stop() {
      stopping ??= new Promise<void>((resolve, reject) => {
        const grace = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
        grace.unref();
        server.close((err) => {
          clearTimeout(grace);
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      });
      return stopping;
    },
  };
}
