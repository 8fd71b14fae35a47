import path from 'node:path';
import { ensureAdminUser, start as startApi } from '@lumen/api';
import { createBus } from '@lumen/bus';
import type { Config } from '@lumen/core';
import { openDatabase, UsersRepository } from '@lumen/db';
import { type FaceInferenceChild, spawnFaceInference } from '@lumen/face-inference';
import { type Logger, loadOrCreateSecretKey, securePrivateDirs } from '@lumen/runtime';
import { start as startTranscoder } from '@lumen/transcoder';
import { start as startWatcher } from '@lumen/watcher';
import { ensureSampleLibrary } from './sample-library.ts';

export interface StandaloneHandle {
  url: string;
  config: Config;
  stop(): Promise<void>;
}

/**
 * The composition root: api + watcher + transcoder in one process, sharing one
 * database and one bus (in-process unless NATS_URL is set).
 */
export async function startStandalone(baseConfig: Config, logger: Logger): Promise<StandaloneHandle> {
  // DATA_DIR and Lumen's folders in it 0700 (runService did it already for `pnpm start`; tests and
  // embedders call this function directly).
  await securePrivateDirs(baseConfig, logger);
  const secretKey = baseConfig.secretKey ?? (await loadOrCreateSecretKey(baseConfig.dataDir));

  let libraries = baseConfig.libraries;
  if (libraries.length === 0) {
    const root = path.join(baseConfig.dataDir, 'sample-library');
    if (await ensureSampleLibrary(root)) logger.info({ root }, 'created the sample library');
    libraries = [{ name: 'sample', root }];
  }
  let config: Config = { ...baseConfig, secretKey, libraries };

  // FACE_INFERENCE=builtin: the built-in face service as a child on loopback; the faces client
  // talks to it over HTTP like to any other inference service (docs/faces-builtin.md).
  let faceInference: FaceInferenceChild | undefined;
  if (config.env.FACE_INFERENCE === 'builtin') {
    if (config.faces.apiBaseUrl) {
      logger.warn(
        { ignored: config.faces.apiBaseUrl },
        'FACE_INFERENCE=builtin overrides APOLLO_FACE_API_BASE_URL',
      );
    }
    faceInference = await spawnFaceInference({ logger });
    config = {
      ...config,
      env: { ...config.env, APOLLO_FACE_API_BASE_URL: faceInference.url },
      faces: { ...config.faces, apiBaseUrl: faceInference.url },
    };
  }

  const database = await openDatabase(config.database);
  const bus = await createBus(config, logger);

  const admin = await ensureAdminUser(new UsersRepository(database.db), {
    password: config.env.ADMIN_PASSWORD,
  });
  if (admin.created && admin.password) {
    process.stdout.write(
      `\nCreated user "admin" with password: ${admin.password}\n(shown once; change it with: pnpm --filter @lumen/api cli user passwd admin)\n\n`,
    );
  } else if (admin.created) {
    logger.info('created user "admin" with ADMIN_PASSWORD');
  }

  const transcoder = await startTranscoder({ config, bus, logger });
  const watcher = await startWatcher({ config, database, bus, logger });
  // One /metrics for the whole process: the api serves the watcher's registry too.
  const api = await startApi({ config, database, bus, logger, registry: watcher.registry });
  process.stdout.write(`Lumen is running at ${api.url}\n`);

  return {
    url: api.url,
    config,
    async stop() {
      await api.stop();
      await watcher.stop();
      await transcoder.stop();
      await faceInference?.stop();
      await bus.close();
      await database.close();
    },
  };
}
