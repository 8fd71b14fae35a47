import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Config, ConfigError, loadConfig } from '@lumen/core';
import type { Logger } from 'pino';
import { createLogger } from './logger.ts';
import { securePrivateDirs } from './private-files.ts';
import { startTracing } from './tracing.ts';

export interface Stoppable {
  stop(): Promise<void>;
}

/** How long a service gets to stop after SIGTERM before the process exits anyway. */
export const STOP_DEADLINE_MS = 4_500;

/**
 * The shared body of every `main.ts`: load and validate the config (a bad value
 * prints the message naming the variable and exits 1), make a logger, run
 * `boot`, and stop cleanly on SIGTERM/SIGINT within STOP_DEADLINE_MS.
 */
export async function runService(
  name: string,
  boot: (config: Config, logger: Logger) => Promise<Stoppable>,
): Promise<void> {
  let config: Config;
  try {
    // pnpm --filter runs a package script in the package's folder; INIT_CWD is where the user typed it.
    config = loadConfig(process.env, process.env.INIT_CWD ?? process.cwd());
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, name });
  const endpoint = config.env.OTLP_OTLS_ENDPOINT;
  const tracing = endpoint ? startTracing({ endpoint, serviceName: name, logger }) : undefined;
  let handle: Stoppable;
  try {
    await securePrivateDirs(config, logger);
    handle = await boot(config, logger);
  } catch (err) {
    logger.fatal({ err }, `${name} failed to start`);
    process.stderr.write(`${name}: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const heartbeat = startHeartbeat(name);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${name} stopping`);
    const deadline = setTimeout(() => {
      logger.error(`${name} did not stop within ${STOP_DEADLINE_MS} ms; exiting`);
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    clearInterval(heartbeat);
    handle
      .stop()
      .then(() => tracing?.shutdown())
      .then(
        () => {
          logger.info(`${name} stopped`);
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, `${name} stop failed`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * Touch `<tmpdir>/lumen-<name>.alive` every 10 s while the service runs, so a
 * container health check can tell a live watcher or transcoder (no HTTP port)
 * from a hung one: `find /tmp/lumen-watcher.alive -mmin -1 | grep -q .`.
 */
function startHeartbeat(name: string): NodeJS.Timeout {
  const file = path.join(os.tmpdir(), `lumen-${name}.alive`);
  const touch = () => {
    try {
      fs.writeFileSync(file, new Date().toISOString());
    } catch {
      // a read-only tmp only costs the health check
    }
  };
  touch();
  const timer = setInterval(touch, 10_000);
  timer.unref();
  return timer;
}
