import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type Bus, createMemoryBus } from '@lumen/bus';
import { type Config, parseConfig } from '@lumen/core';
import { type Database, openDatabase, UsersRepository } from '@lumen/db';
import { freshPostgresDatabase } from '@lumen/test-support';
import pino from 'pino';
import type { ProblemBody } from '../src/http/problem.ts';
import { UsersService } from '../src/services/users.service.ts';
import { type ApiHandle, start } from '../src/start.ts';

export const TEST_SECRET = 'test-secret-key-0123456789abcdef-0123456789';

export interface TestApi {
  api: ApiHandle;
  url: string;
  config: Config;
  database: Database;
  bus: Bus;
  dir: string;
  /** Every log line the api wrote, parsed. */
  logs: Record<string, unknown>[];
  createUser(username: string, password: string, isAdmin?: boolean): Promise<number>;
  login(username: string, password: string): Promise<Response>;
  /** Logs in (it must work) and returns the token. */
  tokenFor(username: string, password: string): Promise<string>;
  stop(): Promise<void>;
}

export type TestDialect = 'sqlite' | 'postgres';

/**
 * The database the api tests run on, from `LUMEN_TEST_DATABASE` (unset or `sqlite`: a SQLite file;
 * `postgres`: a fresh PostgreSQL database per api). The root vitest config runs some api test
 * files a second time with it set to `postgres`.
 */
export function testDialectFrom(value: string | undefined): TestDialect {
  if (value === undefined || value === '' || value === 'sqlite') return 'sqlite';
  if (value === 'postgres') return 'postgres';
  throw new Error(`LUMEN_TEST_DATABASE must be "sqlite" or "postgres", not "${value}"`);
}

export const TEST_DIALECT: TestDialect = testDialectFrom(process.env.LUMEN_TEST_DATABASE);

/**
 * The real api on 127.0.0.1:0 over a SQLite file in a temp DATA_DIR (removed by stop(), unless
 * `env.DATA_DIR` names one of the caller's) and the in-process bus, or `opts.bus` (closed by stop()).
 * With `LUMEN_TEST_DATABASE=postgres` (and no `env.DATABASE_URL` of the caller's), the database is
 * instead a fresh PostgreSQL database, dropped by stop().
 */
export async function startTestApi(
  env: Record<string, string> = {},
  opts: { bus?: Bus } = {},
): Promise<TestApi> {
  const ownDir = env.DATA_DIR === undefined;
  const dir = env.DATA_DIR ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-api-test-')));
  const postgres =
    TEST_DIALECT === 'postgres' && env.DATABASE_URL === undefined ? await freshPostgresDatabase() : undefined;
  let config: Config;
  let database: Database;
  try {
    config = parseConfig(
      {
        DATA_DIR: dir,
        BIND_URL: '127.0.0.1:0',
        SECRET_KEY: TEST_SECRET,
        ...(postgres ? { DATABASE_URL: postgres.url } : {}),
        ...env,
      },
      dir,
    );
    database = await openDatabase(config.database);
  } catch (err) {
    await postgres?.drop(); // no database left behind by a test whose api cannot start
    throw err;
  }
  const bus = opts.bus ?? createMemoryBus();
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      callback();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const api = await start({ config, database, bus, logger });
  const users = new UsersService(new UsersRepository(database.db));
  let stopped = false;
  const login = (username: string, password: string) =>
    fetch(`${api.url}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });

  return {
    api,
    url: api.url,
    config,
    database,
    bus,
    dir,
    logs,
    async createUser(username, password, isAdmin = false) {
      return (await users.create({ username, password, isAdmin })).id;
    },
    login,
    async tokenFor(username, password) {
      const res = await login(username, password);
      if (res.status !== 200)
        throw new Error(`login of ${username} failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await api.stop();
      await bus.close();
      await database.close().catch(() => {});
      await postgres?.drop();
      if (ownDir) await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Asserts the common problem+json shape and returns the body. */
export async function problemOf(res: Response): Promise<ProblemBody> {
  const contentType = res.headers.get('content-type') ?? '';
  if (!contentType.startsWith('application/problem+json')) {
    throw new Error(
      `expected application/problem+json, got "${contentType}" (${res.status}): ${await res.text()}`,
    );
  }
  const body = (await res.json()) as ProblemBody;
  if (body.status !== res.status) throw new Error(`body status ${body.status} != HTTP status ${res.status}`);
  return body;
}
