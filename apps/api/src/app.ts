import { OpenAPIHono } from '@hono/zod-openapi';
import { type Bus, currentLeaseHolder } from '@lumen/bus';
import { type Config, WATCHER_LEASE_KEY } from '@lumen/core';
import {
  type Database,
  LibrariesRepository,
  LoginLockoutLiftsRepository,
  MissingFilesRepository,
  PhotosRepository,
  ReadCache,
  UsersRepository,
} from '@lumen/db';
import type { Logger } from '@lumen/runtime';
import type { Registry } from 'prom-client';
import type { App, AppEnv } from './http/app-env.ts';
import { authMiddleware } from './http/auth.middleware.ts';
import { corsMiddleware } from './http/cors.middleware.ts';
import { notFoundHandler, onError, validationHook } from './http/error-handlers.ts';
import { createHttpMetrics, metricsMiddleware } from './http/metrics.middleware.ts';
import { requestContext } from './http/request-context.middleware.ts';
import { securityHeaders } from './http/security-headers.middleware.ts';
import { tracingMiddleware } from './http/tracing.middleware.ts';
import { registerAuthRoutes } from './routes/auth.routes.ts';
import { registerDocsRoutes } from './routes/docs.routes.ts';
import { registerHealthRoutes } from './routes/health.routes.ts';
import { registerImagesRoutes } from './routes/images.routes.ts';
import { registerInsightFeature } from './routes/insight-feature.ts';
import { registerLibrariesRoutes } from './routes/libraries.routes.ts';
import { registerLoginLockoutRoutes } from './routes/login-lockouts.routes.ts';
import { registerMeRoutes } from './routes/me.routes.ts';
import { registerMetricsRoutes } from './routes/metrics.routes.ts';
import { registerPhotoLibraryRoutes } from './routes/photo-library.routes.ts';
import { registerVideoRoutes } from './routes/video.routes.ts';
import { AuthService } from './services/auth.service.ts';
import { HealthService } from './services/health.service.ts';
import { createImageMetrics } from './services/image-metrics.ts';
import { createImagesService } from './services/images.service.ts';
import { LibrariesService } from './services/libraries.service.ts';
import { LOGIN_FAILURES_BUCKET } from './services/login-failure-counter.ts';
import { LOCKOUT_WINDOW_MS, LoginLockout } from './services/login-lockout.service.ts';
import { VideoService } from './services/video.service.ts';
import { VideoStatusBoard } from './services/video-status-board.ts';
import { VideoUrlSigner } from './services/video-url-signer.ts';

export interface AppDeps {
  config: Config;
  database: Database;
  bus: Bus;
  logger: Logger;
  /** Metrics registry to serve at /metrics; a fresh one per app when omitted. */
  registry?: Registry;
  /** What the transcoder reported (start() subscribes it to the bus); without it, the files alone tell. */
  videoStatus?: VideoStatusBoard;
}

export class MissingSecretKeyError extends Error {
  constructor() {
    super('SECRET_KEY is required to run the api (at least 32 characters; e.g. `openssl rand -hex 32`)');
    this.name = 'MissingSecretKeyError';
  }
}

/**
 * The HTTP app: middleware (request id + log, metrics, CORS, auth), routes, and the
 * problem+json error handling. Routes -> services -> repositories.
 */
export function createApp(deps: AppDeps): App {
  const secretKey = deps.config.secretKey;
  if (!secretKey) throw new MissingSecretKeyError();

  const metrics = createHttpMetrics(deps.registry);
  // Reads kept until the database changes (SQLite only): users, libraries, /photos totals.
  const reads = new ReadCache(() => deps.database.changeStamp());
  const users = new UsersRepository(deps.database.db);
  const auth = new AuthService(users, secretKey, reads);
  const health = new HealthService(deps.database, deps.bus);
  const lockout = new LoginLockout(new LoginLockoutLiftsRepository(deps.database.db), {
    maxFailures: deps.config.env.LOGIN_MAX_FAILURES_PER_MINUTE,
    // On NATS the failures are counted in a KV bucket every api replica shares.
    ...(deps.bus.status().transport === 'nats'
      ? {
          shared: {
            openStore: () => deps.bus.keyValue(LOGIN_FAILURES_BUCKET, { maxAgeMs: LOCKOUT_WINDOW_MS }),
            logger: deps.logger.child({ component: 'login-lockout' }),
          },
        }
      : {}),
  });
  const libraries = new LibrariesService(
    new LibrariesRepository(deps.database.db),
    new MissingFilesRepository(deps.database.db),
    reads,
    () => currentLeaseHolder(deps.bus, WATCHER_LEASE_KEY),
  );
  const imageMetrics = createImageMetrics(metrics.registry);
  const images = createImagesService(deps, libraries, imageMetrics);
  const video = new VideoService({
    images,
    libraries,
    librariesRepo: new LibrariesRepository(deps.database.db),
    photos: new PhotosRepository(deps.database.db, deps.database.kind),
    bus: deps.bus,
    board: deps.videoStatus ?? new VideoStatusBoard(),
    signer: new VideoUrlSigner(secretKey),
    dirs: deps.config,
    logger: deps.logger.child({ component: 'video' }),
  });

  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });

  app.use(tracingMiddleware());
  app.use(securityHeaders());
  app.use(requestContext(deps.logger.child({ component: 'api' })));
  app.use(metricsMiddleware(metrics));
  const cors = corsMiddleware(deps.config.corsAllowedOrigins);
  if (cors) app.use(cors);
  app.use(authMiddleware(auth));

  registerHealthRoutes(app, { health });
  registerMetricsRoutes(app, { registry: metrics.registry });
  registerAuthRoutes(app, { auth, lockout });
  registerMeRoutes(app, { auth, lockout });
  registerLoginLockoutRoutes(app, { lockout });
  registerLibrariesRoutes(app, { libraries });
  registerImagesRoutes(app, { images, metrics: imageMetrics });
  registerVideoRoutes(app, { video });
  registerPhotoLibraryRoutes(app, { ...deps, libraries, reads });
  registerInsightFeature(app, { ...deps, libraries, images });
  registerDocsRoutes(app, { busPrefix: deps.config.busPrefix });

  app.notFound(notFoundHandler(() => app.routes));
  app.onError(onError);
  return app;
}
